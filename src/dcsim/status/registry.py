"""The session registry: who is connected, how far each session got, and what went wrong.

Every front end (the fake modem, DCNet PPP and Ethernet, the virtual Dreamcast) opens a
session here and reports its progress through the :class:`SessionHandle` it gets back;
the services (DNS, licence check, login server) report what they did for it. The
registry keeps the live sessions, a bounded history of ended ones, the recent DNS queries
and the recent failures with their cause from Sega's list (:class:`dcsim.causes.Cause`),
and tells subscribers about every change with a small frozen event, so the status page
can stream them.

Pure Python: no reactor, no I/O. Time comes from the *clock* callable given to the
registry (``reactor.seconds`` on the real service, ``task.Clock().seconds`` in tests).
Memory is bounded by the limits given to the constructor.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dcsim.causes import Cause

Clock = Callable[[], float]

DEFAULT_HISTORY = 100
DEFAULT_RECENT_DNS = 50
DEFAULT_RECENT_FAILURES = 50
DEFAULT_SESSION_DNS = 20


class SessionKind(Enum):
    """How the console reached dcsim."""

    MODEM_CALL = "modem"  # AT commands and a phone call to the fake modem
    DCNET_PPP = "dcnet-ppp"  # Flycast DCNet: raw PPP over TCP (7654/7656)
    DCNET_ETHERNET = "dcnet-ethernet"  # Flycast DCNet: broadband adapter frames (7655)
    VIRTUAL_DREAMCAST = "virtual"  # dcsim's own client (tests, scenarios, `dcsim dial`)

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    SessionKind.MODEM_CALL: "modem call",
    SessionKind.DCNET_PPP: "DCNet PPP",
    SessionKind.DCNET_ETHERNET: "DCNet Ethernet",
    SessionKind.VIRTUAL_DREAMCAST: "virtual Dreamcast",
}


class State(Enum):
    """How far a session got, in the order a console goes online."""

    DIALLING = "dialling"  # detail: the number being dialled, with any prefixes
    TRAINING = "training"  # the modems negotiate the carrier
    LCP = "lcp"  # PPP link control
    AUTH = "auth"  # PPP PAP/CHAP
    IPCP = "ipcp"  # PPP address negotiation
    ONLINE = "online"  # detail: the console's address
    DNS = "dns"  # resolving the service names
    LICENCE = "licence"  # the SSL licence check (auth.cgi)
    LOGIN = "login"  # the PSO login server
    LOBBY = "lobby"  # detail: the lobby
    ENDED = "ended"  # only through SessionHandle.end

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    State.DIALLING: "dialling",
    State.TRAINING: "training",
    State.LCP: "PPP LCP",
    State.AUTH: "PPP auth",
    State.IPCP: "PPP IPCP",
    State.ONLINE: "online",
    State.DNS: "DNS",
    State.LICENCE: "licence check",
    State.LOGIN: "login",
    State.LOBBY: "lobby",
    State.ENDED: "ended",
}

_FIRST_STATE = {
    SessionKind.MODEM_CALL: State.DIALLING,
    SessionKind.DCNET_PPP: State.LCP,
    SessionKind.DCNET_ETHERNET: State.ONLINE,
    SessionKind.VIRTUAL_DREAMCAST: State.DIALLING,
}


@dataclass(frozen=True, slots=True)
class DnsQuery:
    """One DNS question and what dcsim answered."""

    time: float
    client: str  # the asking address
    name: str
    qtype: str  # "A", "TXT"...
    answers: tuple[str, ...]  # the answer records' data, in order
    rcode: str  # "NOERROR", "NXDOMAIN", "REFUSED"...
    session_id: int | None  # the live session holding the client's address, if any


@dataclass(frozen=True, slots=True)
class LicenceResult:
    accepted: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Login:
    guild_card: int | None
    name: str


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure with Sega's cause: a session that ended with one, or a lone event."""

    time: float
    cause: Cause
    reason: str  # dcsim's detailed reason
    peer: str
    session_id: int | None
    kind: SessionKind | None
    state: State | None  # the state the session failed in


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as it stood at one moment (what events and snapshots carry)."""

    id: int
    kind: SessionKind
    peer: str
    started: float
    state: State
    detail: str  # shown beside the state: number dialled, address, lobby...
    state_since: float
    number: str | None
    address: str | None
    dns: tuple[DnsQuery, ...]  # this session's most recent queries, oldest first
    licence: LicenceResult | None
    login: Login | None
    lobby: str | None
    received: int  # bytes from the console
    sent: int  # bytes to the console
    pcap: Path | None
    ended: float | None
    cause: Cause | None  # None: ended normally (hang-up, logout) or still live
    reason: str


@dataclass(frozen=True, slots=True)
class Counts:
    live: int
    total: int  # sessions opened since the registry started
    failures: int  # failures recorded since the registry started
    dns: int  # DNS queries recorded since the registry started


@dataclass(frozen=True, slots=True)
class Limits:
    """How much the registry remembers (the page shows lists this long)."""

    history: int
    recent_dns: int
    recent_failures: int
    session_dns: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    now: float
    counts: Counts
    limits: Limits
    live: tuple[SessionInfo, ...]  # by id
    history: tuple[SessionInfo, ...]  # ended sessions, most recent last
    dns: tuple[DnsQuery, ...]  # most recent last
    failures: tuple[Failure, ...]  # most recent last


@dataclass(frozen=True, slots=True)
class SessionOpened:
    session: SessionInfo


@dataclass(frozen=True, slots=True)
class SessionChanged:
    session: SessionInfo


@dataclass(frozen=True, slots=True)
class SessionEnded:
    session: SessionInfo


@dataclass(frozen=True, slots=True)
class DnsQueried:
    query: DnsQuery


@dataclass(frozen=True, slots=True)
class FailureRecorded:
    failure: Failure


Event = SessionOpened | SessionChanged | SessionEnded | DnsQueried | FailureRecorded
Subscriber = Callable[[Event], None]


@dataclass(slots=True)
class _Session:
    """The registry's mutable record behind a handle."""

    id: int
    kind: SessionKind
    peer: str
    started: float
    state: State
    detail: str
    state_since: float
    dns: deque[DnsQuery]
    number: str | None = None
    address: str | None = None
    licence: LicenceResult | None = None
    login: Login | None = None
    lobby: str | None = None
    received: int = 0
    sent: int = 0
    pcap: Path | None = None
    ended: float | None = None
    cause: Cause | None = None
    reason: str = ""

    def freeze(self) -> SessionInfo:
        return SessionInfo(
            id=self.id,
            kind=self.kind,
            peer=self.peer,
            started=self.started,
            state=self.state,
            detail=self.detail,
            state_since=self.state_since,
            number=self.number,
            address=self.address,
            dns=tuple(self.dns),
            licence=self.licence,
            login=self.login,
            lobby=self.lobby,
            received=self.received,
            sent=self.sent,
            pcap=self.pcap,
            ended=self.ended,
            cause=self.cause,
            reason=self.reason,
        )


class SessionHandle:
    """What a front end holds for its session; every call updates the registry.

    Calls after :meth:`end` are ignored, so layers that learn of the end at different
    moments (PPP's Terminate, then the socket closing) need not coordinate: the first
    end, with its cause, is the one recorded.
    """

    __slots__ = ("_record", "_registry")

    def __init__(self, registry: SessionRegistry, record: _Session) -> None:
        self._registry = registry
        self._record = record

    @property
    def id(self) -> int:
        return self._record.id

    @property
    def info(self) -> SessionInfo:
        return self._record.freeze()

    @property
    def state(self) -> State:
        """The session's state now (what :attr:`info` would say, without building it)."""
        return self._record.state

    @property
    def ended(self) -> bool:
        return self._record.ended is not None

    def set_state(self, state: State, detail: str = "") -> None:
        """Move to *state*; *detail* is shown beside it. To end, call :meth:`end`."""
        if state is State.ENDED:
            raise ValueError("end a session with SessionHandle.end(cause, reason)")
        self._update(state=state, detail=detail)

    def dialling(self, number: str) -> None:
        """Dialling *number* as the console dialled it (prefixes, pauses and all)."""
        self._update(state=State.DIALLING, detail=number, number=number)

    def online(self, address: str) -> None:
        """The console has *address* (from IPCP or DHCP)."""
        self._update(state=State.ONLINE, detail=address, address=address)

    def in_lobby(self, lobby: str) -> None:
        self._update(state=State.LOBBY, detail=lobby, lobby=lobby)

    def licence(self, accepted: bool, detail: str = "") -> None:
        """The licence check's verdict (the state is left as it is)."""
        self._update(licence=LicenceResult(accepted, detail))

    def logged_in(self, guild_card: int | None, name: str = "") -> None:
        """The login server accepted the console (the state is left as it is)."""
        self._update(login=Login(guild_card, name))

    def set_pcap(self, path: Path) -> None:
        """The capture of this session, offered for download on the status page."""
        self._update(pcap=Path(path))

    def add_bytes(self, received: int = 0, sent: int = 0) -> None:
        """Count bytes from the console (*received*) and to it (*sent*)."""
        if received < 0 or sent < 0:
            raise ValueError(f"byte counts cannot be negative: {received}, {sent}")
        record = self._record
        if record.ended is not None or not (received or sent):
            return
        record.received += received
        record.sent += sent
        self._registry._changed(record)

    def dns_query(
        self, name: str, qtype: str, answers: Iterable[str] = (), rcode: str = "NOERROR"
    ) -> None:
        """A query this session's console made (recorded even before it has an address)."""
        if self._record.ended is None:
            client = self._record.address or self._record.peer
            self._registry._record_dns(client, name, qtype, tuple(answers), rcode, self._record)

    def end(self, cause: Cause | None = None, reason: str = "") -> None:
        """End the session: *cause* is Sega's cause for a failure, None for a normal end."""
        if self._record.ended is None:
            self._registry._end(self._record, cause, reason)

    def _update(self, **values: object) -> None:
        record = self._record
        if record.ended is not None:
            return
        if "state" in values and values["state"] is not record.state:
            record.state_since = self._registry.clock()
        for name, value in values.items():
            setattr(record, name, value)
        self._registry._changed(record)


class SessionRegistry:
    """Live sessions, a bounded history, recent DNS queries and recent failures.

    *on_error* is called with any exception a subscriber raises; that subscriber is then
    dropped and the others still hear the event, so a broken observer cannot break a
    session. Without *on_error* the exception is raised again after every other
    subscriber has been told.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        history: int = DEFAULT_HISTORY,
        recent_dns: int = DEFAULT_RECENT_DNS,
        recent_failures: int = DEFAULT_RECENT_FAILURES,
        session_dns: int = DEFAULT_SESSION_DNS,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.limits = Limits(history, recent_dns, recent_failures, session_dns)
        for name in Limits.__slots__:
            if getattr(self.limits, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self.limits, name)}")
        self.clock = clock
        self._on_error = on_error
        self._ids = itertools.count(1)
        self._live: dict[int, _Session] = {}
        self._history: deque[SessionInfo] = deque(maxlen=history)
        self._dns: deque[DnsQuery] = deque(maxlen=recent_dns)
        self._failures: deque[Failure] = deque(maxlen=recent_failures)
        self._session_dns = session_dns
        self._subscribers: list[Subscriber] = []
        self._total = 0
        self._failure_count = 0
        self._dns_count = 0

    # -- what front ends and services call ---------------------------------------------

    def open_session(
        self,
        kind: SessionKind,
        peer: str,
        state: State | None = None,
        detail: str = "",
        *,
        pcap: Path | None = None,
    ) -> SessionHandle:
        """A console arrived from *peer* (``host:port``, a tty...).

        *state* defaults to where a session of this kind starts: dialling for a modem
        call or the virtual Dreamcast, LCP for DCNet PPP, online for DCNet Ethernet.
        """
        first = _FIRST_STATE[kind] if state is None else state
        if first is State.ENDED:
            raise ValueError("a session cannot open in the ended state")
        now = self.clock()
        record = _Session(
            id=next(self._ids),
            kind=kind,
            peer=peer,
            started=now,
            state=first,
            detail=detail,
            state_since=now,
            dns=deque(maxlen=self._session_dns),
            number=detail if first is State.DIALLING and detail else None,
            pcap=Path(pcap) if pcap is not None else None,
        )
        self._live[record.id] = record
        self._total += 1
        if self._subscribers:
            self._emit(SessionOpened(record.freeze()))
        return SessionHandle(self, record)

    def dns_query(
        self,
        client: str,
        name: str,
        qtype: str,
        answers: Iterable[str] = (),
        rcode: str = "NOERROR",
    ) -> None:
        """A query from *client* (an address); credited to the live session holding it."""
        self._record_dns(client, name, qtype, tuple(answers), rcode, self._holding(client))

    def failure(self, cause: Cause, reason: str, peer: str = "") -> None:
        """A failure outside any session (a licence check from a browser, say)."""
        self._record_failure(Failure(self.clock(), cause, reason, peer, None, None, None))

    def find(self, address: str) -> SessionHandle | None:
        """The live session whose console has *address*, for services that see only it."""
        record = self._holding(address)
        return SessionHandle(self, record) if record is not None else None

    # -- what the status page reads ------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call *subscriber* with every event from now on; returns the unsubscribe call."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def session(self, session_id: int) -> SessionInfo | None:
        """A live session, or one still in the history."""
        record = self._live.get(session_id)
        if record is not None:
            return record.freeze()
        return next((s for s in self._history if s.id == session_id), None)

    def pcap_path(self, session_id: int) -> Path | None:
        """The capture registered for a live or remembered session, if any."""
        info = self.session(session_id)
        return info.pcap if info is not None else None

    def live(self) -> tuple[SessionInfo, ...]:
        return tuple(record.freeze() for record in self._live.values())

    def counts(self) -> Counts:
        return Counts(len(self._live), self._total, self._failure_count, self._dns_count)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            now=self.clock(),
            counts=self.counts(),
            limits=self.limits,
            live=self.live(),
            history=tuple(self._history),
            dns=tuple(self._dns),
            failures=tuple(self._failures),
        )

    # -- internals -----------------------------------------------------------------------

    def _holding(self, address: str) -> _Session | None:
        return next((r for r in self._live.values() if r.address == address), None)

    def _changed(self, record: _Session) -> None:
        if self._subscribers:
            self._emit(SessionChanged(record.freeze()))

    def _record_dns(
        self,
        client: str,
        name: str,
        qtype: str,
        answers: tuple[str, ...],
        rcode: str,
        record: _Session | None,
    ) -> None:
        query = DnsQuery(
            self.clock(), client, name, qtype, answers, rcode, record.id if record else None
        )
        self._dns.append(query)
        self._dns_count += 1
        if record is not None:
            record.dns.append(query)
        if self._subscribers:
            self._emit(DnsQueried(query))
            if record is not None:
                self._emit(SessionChanged(record.freeze()))

    def _end(self, record: _Session, cause: Cause | None, reason: str) -> None:
        now = self.clock()
        failed_in = record.state
        record.ended = now
        record.state = State.ENDED
        record.state_since = now
        record.detail = reason
        record.cause = cause
        record.reason = reason
        del self._live[record.id]
        info = record.freeze()
        self._history.append(info)
        if self._subscribers:
            self._emit(SessionEnded(info))
        if cause is not None:
            self._record_failure(
                Failure(now, cause, reason, record.peer, record.id, record.kind, failed_in)
            )

    def _record_failure(self, failure: Failure) -> None:
        self._failures.append(failure)
        self._failure_count += 1
        if self._subscribers:
            self._emit(FailureRecorded(failure))

    def _emit(self, event: Event) -> None:
        errors: list[Exception] = []
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception as e:  # a broken observer must not break the session
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)
                errors.append(e)
        for error in errors:
            if self._on_error is None:
                raise error
            self._on_error(error)
