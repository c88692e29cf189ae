"""Outcome codes (failure2006.md §6.2), derived from what a run observed.

Nothing here knows which path or configuration a cell is: the code comes from the
console's report (which step failed, with what evidence) and from facts only the world
can see (where the servers really are, what the routers dropped, why the login server
closed a session). The mapping, in words:

- ``OK``: the console reached the lobby and left without a failure;
- ``D-NX@x``, ``D-REF@x``, ``D-TO@x``, ``D-FAIL@x``: the lookup for the licence host
  (``@auth``), the login host (``@login``) or a patch page (``@patch``) got NXDOMAIN (or
  no address), REFUSED, no answer, SERVFAIL;
- ``D-STALE@x``: DNS gave an address where the service is not, and TCP failed there;
- ``S-ALG``: TCP connected, the SSL handshake ended with an alert;
- ``BH@ssl``, ``BH@lobby``: TCP connected, then no progress while a router on the path
  dropped full-size DF datagrams without a word (the PMTUD black hole);
- ``P-4B``: the PSO client decrypted a segment that was not whole cipher words, and its
  commands turned to garbage;
- ``P-V1``: a disc that sends its 90 unpadded (JP v1) lost the login server, which closed
  the session on a command it could no longer decrypt;
- ``N/A``: the download a remedy needs first could not be made;
- ``C<n>``: anything else, by Sega's cause n (the link failing, the licence refused...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dcsim.client.report import (
    DnsEvidence,
    HttpEvidence,
    PsoEvidence,
    SessionReport,
    Step,
    StepKind,
    TcpEvidence,
    TlsEvidence,
)

_DNS_CODES = {
    "nxdomain": "D-NX",
    "nodata": "D-NX",
    "refused": "D-REF",
    "timeout": "D-TO",
    "servfail": "D-FAIL",
    "error": "D-ERR",
}
_AT = {"licence": "@auth", "login": "@login", "patch": "@patch"}


@dataclass(frozen=True)
class Facts:
    """What the world saw during the cell."""

    licence_addresses: frozenset[str]
    login_addresses: frozenset[str]
    black_hole_drops: int
    server_closes: tuple[str, ...] = ()  # login/ship sessions the server closed itself
    unpadded_check: bool = False  # the disc sends its 90 unpadded (JP v1)
    lobby_names: frozenset[str] = frozenset()  # who the ship had in the console's lobby


@dataclass(frozen=True)
class Outcome:
    code: str
    mechanism: str  # M1..M4 of failure2006.md §5, or the layer for other failures
    why: str
    step: Step | None = field(default=None, compare=False)


def classify(report: SessionReport, facts: Facts) -> Outcome:
    step = report.failed_step
    if report.ok and report.reached_lobby:
        garbled = _garbled(report, facts)
        if garbled is not None:
            return garbled
        return Outcome("OK", "", "reached the lobby")
    if step is None:
        return Outcome(f"C{int(report.cause)}" if report.cause else "OK", "", report.detail)
    kind = step.kind
    if kind is StepKind.PATCH:
        return Outcome("N/A", "remedy", f"the remedy's download failed: {step.detail}", step)
    if kind is StepKind.DNS:
        return _dns(step)
    if kind is StepKind.LICENCE:
        return _licence(step, report, facts)
    if kind in (StepKind.LOGIN, StepKind.LOBBY):
        return _pso(step, report, facts)
    cause = f"C{int(report.cause)}" if report.cause else "C?"
    return Outcome(cause, kind.value, step.detail, step)


def _garbled(report: SessionReport, facts: Facts) -> Outcome | None:
    """In the lobby, but showing players the ship does not have: corrupted data the
    console did not notice (the players' "character corruption")."""
    for step in report.steps_of(StepKind.LOBBY):
        pso: PsoEvidence = step.find(PsoEvidence)
        if pso is None or not pso.misaligned:
            continue
        wrong = [name for name in pso.players if name not in facts.lobby_names]
        sizes = ", ".join(str(n) for n in sorted(set(pso.misaligned)))
        shown = ", ".join(repr(n) for n in wrong[:3]) or "none yet"
        return Outcome(
            "P-4B",
            "M4",
            f"segments of {sizes} bytes (not whole 4-byte cipher words) were decrypted in "
            f"whole words; {len(wrong)} of {len(pso.players)} names in the lobby came out "
            f"garbled ({shown})",
            step,
        )
    return None


def _dns(step: Step) -> Outcome:
    evidence: DnsEvidence = step.find(DnsEvidence)
    at = _AT.get(evidence.purpose, "")
    if evidence.failure is None:
        return Outcome("D-NONE", "M1", "the console had no DNS server", step)
    code = _DNS_CODES.get(evidence.failure, "D-ERR") + at
    asked = ", ".join(evidence.servers)
    why = f"{evidence.name}: {evidence.failure}" + (
        f" from {evidence.answered_by}" if evidence.answered_by else f" (asked {asked})"
    )
    return Outcome(code, "M1" if code.startswith(("D-NX", "D-REF")) else "M2", why, step)


def _tcp_failed(step: Step, tcp: TcpEvidence, known: frozenset[str], at: str) -> Outcome:
    if tcp.address not in known:
        return Outcome(
            f"D-STALE{at}",
            "M1",
            f"DNS gave {tcp.address}, where nothing serves: TCP {tcp.error}",
            step,
        )
    return Outcome("C4", "server", f"TCP to {tcp.address}:{tcp.port} {tcp.error}", step)


def _licence(step: Step, report: SessionReport, facts: Facts) -> Outcome:
    tcp: TcpEvidence = step.find(TcpEvidence)
    tls: TlsEvidence = step.find(TlsEvidence)
    http: HttpEvidence = step.find(HttpEvidence)
    if not tcp.connected:
        return _tcp_failed(step, tcp, facts.licence_addresses, "@auth")
    if not tls.handshake:
        if tls.alert is not None:
            return Outcome("S-ALG", "SSL", f"handshake ended: {tls.alert} {tls.detail}", step)
        if facts.black_hole_drops:
            return Outcome(
                "BH@ssl",
                "M3",
                f"TCP up, then the handshake stalled; {facts.black_hole_drops} full-size "
                "datagrams dropped without ICMP on the server side",
                step,
            )
        return Outcome("T-STALL@ssl", "SSL", f"the handshake stalled: {tcp.error}", step)
    cause = f"C{int(report.cause)}" if report.cause else "C?"
    return Outcome(cause, "licence", f"HTTP {http.status}: {http.body.strip()[:60]}", step)


def _pso(step: Step, report: SessionReport, facts: Facts) -> Outcome:
    pso: PsoEvidence = step.find(PsoEvidence)
    at = "@lobby"
    if pso is not None and pso.misaligned:
        sizes = ", ".join(str(n) for n in sorted(set(pso.misaligned)))
        return Outcome(
            "P-4B",
            "M4",
            f"segments of {sizes} bytes (not whole 4-byte cipher words) decrypted in whole "
            f"words; then {pso.failure_step}: {pso.reason}",
            step,
        )
    if step.kind is StepKind.LOGIN and pso is not None and pso.failure_step == "connect":
        address = step.target.rsplit(":", 1)[0]
        error = pso.reason or ""
        tcp = TcpEvidence(address, int(step.target.rsplit(":", 1)[1]), False, error)
        return _tcp_failed(step, tcp, facts.login_addresses, "@login")
    if facts.unpadded_check and facts.server_closes and pso is not None and not pso.redirected:
        return Outcome(
            "P-V1",
            "M4",
            "the disc sent its 90 unpadded (0x26 bytes); the login server then closed the "
            f"session: {facts.server_closes[0]}",
            step,
        )
    if facts.black_hole_drops:
        return Outcome(
            "BH" + at,
            "M3",
            f"the login stalled; {facts.black_hole_drops} full-size datagrams dropped "
            "without ICMP on the server side",
            step,
        )
    cause = f"C{int(report.cause)}" if report.cause else "C?"
    return Outcome(cause, "login", step.detail, step)
