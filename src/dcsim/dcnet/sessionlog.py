"""The DCNet session log: one record per session of the DCNet front ends, as JSON lines.

Over DCNet the TCP connection *is* the phone call, so the fake modem's call log never sees
these sessions. This log keeps what a judge of the client needs (``dcsim check``): when a
session started, came online and ended, who ended it and how (the console's LCP
Terminate-Request or DHCP RELEASE, a bare close of the connection, which is what Flycast
does on a reset, dcsim's own Terminate, its idle timeout...), how long the console had
been silent, what it asked for, and what crossed the link. The format is documented in
docs/ppp.md and versioned by ``v``; add fields, never change the meaning of one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from ipaddress import IPv4Address
from typing import Any

from dcsim.config import from_mapping
from dcsim.dcnet.bba import BbaEnd
from dcsim.ppp.link import EndReason
from dcsim.ppp.session import Carrier, SessionReport
from dcsim.records import RecordLog

RECORD = "dcnet-session"  # the value of "record": how a reader tells this log's records
RECORD_VERSION = 1


class Link(Enum):
    PPP = "ppp"  # TCP 7654/7656, or a modem call the access server answered
    ETHERNET = "ethernet"  # TCP 7655, the broadband adapter


class EndedBy(Enum):
    CONSOLE = "console"
    DCSIM = "dcsim"


class End(Enum):
    """How a session ended: stable codes for the log (the reasons' texts may change)."""

    LCP_TERMINATE = "lcp_terminate"  # the console's LCP Terminate-Request
    DHCP_RELEASE = "dhcp_release"  # the broadband adapter released its lease
    CLOSED = "closed"  # the connection closed with neither (Flycast on a reset)
    SERVER_TERMINATE = "server_terminate"  # dcsim's Terminate-Request (stop, shutdown)
    SERVER_CLOSE = "server_close"  # dcsim closed an Ethernet session (stop, shutdown)
    IDLE_TIMEOUT = "idle_timeout"  # [ppp] idle_timeout: no IP traffic
    ECHO_TIMEOUT = "echo_timeout"  # the console stopped answering LCP Echo-Requests
    AUTH_FAILED = "auth_failed"
    AUTH_TIMEOUT = "auth_timeout"
    AUTH_REFUSED = "auth_refused"  # the console refused to authenticate
    NO_ANSWER = "no_answer"  # negotiation got no answer
    NEGOTIATION_FAILED = "negotiation_failed"
    LOOPED_BACK = "looped_back"
    NO_ADDRESS = "no_address"  # the pool was empty
    NOT_DCNET = "not_dcnet"  # TCP 7655: the stream is not DCNet's records
    NO_PROLOG = "no_prolog"  # TCP 7655: no prolog in time


_CONSOLE, _DCSIM = EndedBy.CONSOLE, EndedBy.DCSIM
ENDS: dict[Enum, tuple[End, EndedBy]] = {
    EndReason.PEER_TERMINATED: (End.LCP_TERMINATE, _CONSOLE),
    EndReason.HUNG_UP: (End.CLOSED, _CONSOLE),
    EndReason.CLOSED: (End.SERVER_TERMINATE, _DCSIM),
    EndReason.IDLE: (End.IDLE_TIMEOUT, _DCSIM),
    EndReason.ECHO_TIMEOUT: (End.ECHO_TIMEOUT, _DCSIM),
    EndReason.AUTHENTICATION_FAILED: (End.AUTH_FAILED, _DCSIM),
    EndReason.AUTHENTICATION_TIMEOUT: (End.AUTH_TIMEOUT, _DCSIM),
    EndReason.PEER_REFUSED_AUTH: (End.AUTH_REFUSED, _DCSIM),
    EndReason.NO_ANSWER: (End.NO_ANSWER, _DCSIM),
    EndReason.NEGOTIATION_FAILED: (End.NEGOTIATION_FAILED, _DCSIM),
    EndReason.LOOPED_BACK: (End.LOOPED_BACK, _DCSIM),
    EndReason.NO_ADDRESS: (End.NO_ADDRESS, _DCSIM),
    BbaEnd.RELEASED: (End.DHCP_RELEASE, _CONSOLE),
    BbaEnd.HUNG_UP: (End.CLOSED, _CONSOLE),
    BbaEnd.CLOSED: (End.SERVER_CLOSE, _DCSIM),
    BbaEnd.NOT_DCNET: (End.NOT_DCNET, _DCSIM),
    BbaEnd.NO_PROLOG: (End.NO_PROLOG, _DCSIM),
    BbaEnd.NO_ADDRESS: (End.NO_ADDRESS, _DCSIM),
}


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session, as docs/ppp.md ("The DCNet session log") describes each field."""

    session: str  # the session's name, e.g. dcnet-ppp-3 (numbered per dcsim process)
    front_end: str  # dcnet-ppp (7654), dcnet-7656, dcnet-bba (7655)
    link: Link
    carrier: Carrier
    peer: str  # host:port of the connection, or "modem NAME"
    peer_host: str  # the host alone: sessions from one console share it
    t_start: float
    t_online: float | None  # when the console got its address; None if it never did
    t_end: float
    duration: float
    end: End
    ended_by: EndedBy
    reason: str  # the end in words
    detail: str
    cause: int | None  # dcsim.causes.Cause the console would show, None if it ended it
    cause_text: str | None
    user: str | None  # the PPP login
    address: IPv4Address | None
    mac: str | None  # the broadband adapter's hardware address
    requested: dict[str, list[str]] = field(default_factory=dict)  # options the console asked
    bytes_from_console: int = 0
    bytes_to_console: int = 0
    datagrams_from_console: int = 0
    datagrams_to_console: int = 0
    t_last_datagram: float | None = None  # the console's last IP datagram
    idle_at_end: float | None = None  # seconds since it (or since t_online) at the end
    longest_idle: float = 0.0  # the longest such silence while online

    @classmethod
    def from_report(cls, report: SessionReport) -> SessionRecord:
        end, ended_by = ENDS[report.reason]
        since = report.last_datagram_in if report.last_datagram_in is not None else report.online
        cause = report.cause
        return cls(
            session=report.name,
            front_end=report.front_end,
            link=Link.ETHERNET if isinstance(report.reason, BbaEnd) else Link.PPP,
            carrier=report.carrier,
            peer=report.peer,
            peer_host=report.peer_host,
            t_start=report.started,
            t_online=report.online,
            t_end=report.ended,
            duration=report.ended - report.started,
            end=end,
            ended_by=ended_by,
            reason=str(report.reason.value),
            detail=report.detail,
            cause=cause.value if cause is not None else None,
            cause_text=cause.text if cause is not None else None,
            user=report.user,
            address=report.address,
            mac=report.mac,
            requested={k: list(v) for k, v in report.requested.items()},
            bytes_from_console=report.bytes_in,
            bytes_to_console=report.bytes_out,
            datagrams_from_console=report.datagrams_in,
            datagrams_to_console=report.datagrams_out,
            t_last_datagram=report.last_datagram_in,
            idle_at_end=report.ended - since if since is not None else None,
            longest_idle=report.longest_silence,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("link", "carrier", "end", "ended_by"):
            data[key] = data[key].value
        data["address"] = str(self.address) if self.address is not None else None
        return {"v": RECORD_VERSION, "record": RECORD, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionRecord:
        """A record read back; a wrong field raises :class:`dcsim.config.ConfigError`
        naming it. Fields a later version adds are ignored."""
        return from_mapping(data, cls, "DCNet session record", ignore_unknown=True)


class SessionLog(RecordLog[SessionRecord]):
    """Records of every session, in the order they ended; optionally appended to a file."""

    def __call__(self, report: SessionReport) -> None:
        """An observer for :attr:`dcsim.ppp.session.SubscriberServer.observers`."""
        self.append(SessionRecord.from_report(report))
