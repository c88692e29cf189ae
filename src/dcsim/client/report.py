"""What the virtual Dreamcast did: every step with its (virtual) time, and how it ended.

A failure is reported as one of Sega's eight causes (what the title shows) plus the
detail (which step, which packet or answer). Each step keeps typed *evidence*, the
observations the scenario runner derives its outcome codes from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from dcsim.causes import Cause


class StepKind(Enum):
    DIAL = "dial"
    PPP = "ppp"
    ETHERNET = "ethernet"
    PATCH = "patch"  # a download before the game (remedy 7)
    DNS = "dns"
    LICENCE = "licence"
    LOGIN = "login"
    LOBBY = "lobby"
    HANG_UP = "hang-up"


@dataclass(frozen=True, slots=True)
class DnsEvidence:
    name: str
    servers: tuple[str, ...]  # what the console asked, in order
    purpose: str = ""  # what the address was for: licence, login, patch
    failure: str | None = None  # StubFailure value: nxdomain, refused, timeout...
    answered_by: str | None = None
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TcpEvidence:
    address: str
    port: int
    connected: bool
    error: str | None = None  # refused, timed out, unreachable, reset, stalled
    bytes_received: int = 0
    mss: int | None = None  # the segment size the console advertised


@dataclass(frozen=True, slots=True)
class TlsEvidence:
    handshake: bool
    suite: str | None = None
    alert: str | None = None  # the alert sent or received, when the handshake failed
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HttpEvidence:
    status: int | None
    body: str = ""


@dataclass(frozen=True, slots=True)
class PsoEvidence:
    phase: str  # the client core's phase when the step ended
    failure_step: str | None = None  # LoginFailed.step
    reason: str | None = None
    misaligned: tuple[int, ...] = ()  # segments decrypted in whole words that were not
    redirected: bool = False  # reached the ship
    players: tuple[str, ...] = ()  # the names the lobby showed, as the console read them
    ship: str | None = None  # the ship's address the login server sent the console to


@dataclass(frozen=True, slots=True)
class LinkEvidence:
    address: str | None = None
    dns: tuple[str, ...] = ()  # the DNS servers the console ends up using
    dns_source: str = ""  # ipcp, flash, dhcp
    mtu: int | None = None
    attempts: int = 0  # dial attempts
    connect: str | None = None  # the modem's CONNECT text


Evidence = DnsEvidence | TcpEvidence | TlsEvidence | HttpEvidence | PsoEvidence | LinkEvidence


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    target: str  # the name looked up, host:port, the number dialled...
    started: float
    ended: float
    ok: bool
    detail: str = ""
    evidence: tuple[Evidence, ...] = ()

    def find(self, kind: type[Any]) -> Any:
        """This step's evidence of *kind*, or None."""
        return next((e for e in self.evidence if isinstance(e, kind)), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.kind.value,
            "target": self.target,
            "started": round(self.started, 6),
            "ended": round(self.ended, 6),
            "ok": self.ok,
            "detail": self.detail,
            "evidence": [{"kind": type(e).__name__, **asdict(e)} for e in self.evidence],
        }


@dataclass(frozen=True)
class SessionReport:
    console: str  # a label: the disc and the link
    steps: tuple[Step, ...]
    reached_lobby: bool
    cause: Cause | None  # what the console shows; None when it ended as the user wished
    detail: str = ""
    started: float = 0.0
    ended: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.cause is None

    @property
    def failed_step(self) -> Step | None:
        return next((s for s in self.steps if not s.ok), None)

    def steps_of(self, kind: StepKind) -> list[Step]:
        return [s for s in self.steps if s.kind is kind]

    def to_json(self) -> dict[str, Any]:
        failed = self.failed_step
        return {
            "console": self.console,
            "ok": self.ok,
            "reached_lobby": self.reached_lobby,
            "failed_step": failed.kind.value if failed else None,
            "cause": int(self.cause) if self.cause else None,
            "cause_text": self.cause.text if self.cause else None,
            "detail": self.detail,
            "started": round(self.started, 6),
            "ended": round(self.ended, 6),
            "steps": [s.to_json() for s in self.steps],
        }

    def render(self) -> str:
        lines = [f"{self.console}:"]
        for s in self.steps:
            mark = "ok  " if s.ok else "FAIL"
            detail = f"  {s.detail}" if s.detail else ""
            lines.append(
                f"  {s.started:9.3f} .. {s.ended:9.3f}  {mark}  {s.kind.value:8} {s.target}{detail}"
            )
        if self.cause is None:
            lines.append("  in the lobby and back: no failure" if self.reached_lobby else "  done")
        else:
            lines.append(f"  cause {int(self.cause)}: {self.cause.text}; {self.detail}")
        return "\n".join(lines)
