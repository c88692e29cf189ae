"""The Twisted edge shared by the subscriber front ends: a sans-IO core on a transport,
attached to the NAS of the virtual internet while the console is online.

The PPP access server (:mod:`dcsim.ppp.server`) and DCNet's Ethernet front end
(:mod:`dcsim.dcnet.ethernet_server`) are subclasses that only turn their core's events
into calls of :meth:`SubscriberSession.attach`, :meth:`~SubscriberSession.detach`,
:meth:`~SubscriberSession.to_network` and :meth:`~SubscriberSession.finish`.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from typing import Protocol as TypingProtocol

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from dcsim.address import peer_host, peer_text
from dcsim.causes import Cause
from dcsim.edge import DeadlineTimer
from dcsim.pcap import LinkType, PcapWriter
from dcsim.ppp.link import DatagramReceived, Discarded, FrameSeen, LinkEnded
from dcsim.ppp.pool import AddressPool
from dcsim.status.registry import SessionHandle, SessionKind, SessionRegistry, State

log = Logger()


class Port(TypingProtocol):
    """What a NAS's ``attach_subscriber`` returns (``dcsim.net.router.SubscriberPort``)."""

    def send(self, datagram: bytes) -> None: ...
    def close(self) -> None: ...


class Attachment(TypingProtocol):
    """Where subscribers attach: ``dcsim.net.router.Nas``."""

    def attach_subscriber(
        self, address: IPv4Address, *, mtu: int, deliver: Callable[[bytes], None], name: str
    ) -> Port: ...


class Core(TypingProtocol):
    """A subscriber link's sans-IO core (``PppLink``, ``BbaSession``)."""

    @property
    def ended(self) -> bool: ...
    def receive_data(self, data: bytes, now: float) -> None: ...
    def handle_timer(self, now: float) -> None: ...
    def events(self) -> Iterator[Any]: ...
    def data_to_send(self) -> bytes: ...
    def deadline(self) -> float | None: ...
    def send_datagram(self, datagram: bytes, now: float) -> bool: ...
    def close(self, now: float) -> None: ...


class Carrier(Enum):
    """What carried a session: a DCNet TCP connection (the connection is the call) or a
    fake modem's call (docs/modem.md; the call log tells how it was dialled)."""

    TCP = "tcp"
    MODEM = "modem"


@dataclass(frozen=True)
class SessionReport:
    """How one call went, for logs, observers and client profiles."""

    name: str
    peer: str  # where the call came from (TCP address, modem line)
    started: float
    ended: float
    reason: Enum  # EndReason (PPP) or BbaEnd (Ethernet)
    cause: Cause | None  # what the console would show (Sega's list), None if it hung up
    detail: str = ""
    user: str | None = None
    address: IPv4Address | None = None
    requested: dict[str, list[str]] = field(default_factory=dict)  # what the client asked
    datagrams_in: int = 0  # from the console
    datagrams_out: int = 0  # to the console
    front_end: str = ""  # the server's name (dcnet-ppp, dcnet-7656, dcnet-bba, ppp...)
    carrier: Carrier = Carrier.TCP
    peer_host: str = ""  # the far end without its port: who connects again
    online: float | None = None  # when the console got its address (IPCP, DHCP)
    last_datagram_in: float | None = None  # the console's last datagram
    longest_silence: float = 0.0  # the longest time online without a datagram from it
    bytes_in: int = 0  # octets from the console on the connection
    bytes_out: int = 0
    mac: str | None = None  # the broadband adapter's hardware address


if TYPE_CHECKING:
    from _typeshed import DataclassInstance

C = TypeVar("C", bound="DataclassInstance")  # a core's settings, with a ``trace`` field


class SubscriberServer(Factory, Generic[C]):
    """One session per connection or call, its core made with *config*; every session
    attaches to *nas* with an address from *pool* (shared by every front end on the same
    NAS)."""

    linktype: LinkType = LinkType.RAW
    noisy = False  # sessions log their own start and end
    kind: SessionKind = SessionKind.DCNET_PPP  # how the status registry files its sessions
    name = "subscriber"  # unless the front end is given another (sessions are name-1...)
    keep_reports = 100

    def __init__(
        self,
        reactor: IReactorTime,
        nas: Attachment,
        config: C,
        pool: AddressPool,
        *,
        name: str | None = None,
        capture_dir: Path | None = None,
        seed: int | str = 0,
        registry: SessionRegistry | None = None,
    ) -> None:
        self.reactor = reactor
        self.nas = nas
        # a capture is written from the frames the core reports (FrameSeen)
        self.config: C = replace(config, trace=True) if capture_dir is not None else config
        self.pool = pool
        if name is not None:
            self.name = name
        self.capture_dir = capture_dir
        self.seed = seed
        self.registry = registry
        # Where a session's registry entry may already exist (dcsim up: the modem call a
        # PPP session answers): returns that handle, or None to open a new one.
        self.status_for: Callable[[SubscriberSession], SessionHandle | None] | None = None
        self.sessions: set[SubscriberSession] = set()
        self.observers: list[Callable[[SessionReport], None]] = []
        self.reports: list[SessionReport] = []  # the most recent ones
        self._numbers = itertools.count(1)

    def make_core(self, now: float, rng: random.Random) -> Core:
        raise NotImplementedError

    def make_session(self, name: str, addr: object, rng: random.Random) -> SubscriberSession:
        raise NotImplementedError

    def buildProtocol(self, addr: IAddress) -> SubscriberSession:
        number = next(self._numbers)
        rng = random.Random(f"{self.seed}:{self.name}:{number}")
        return self.make_session(f"{self.name}-{number}", addr, rng)

    def ended(self, session: SubscriberSession, report: SessionReport) -> None:
        self.sessions.discard(session)
        self.reports.append(report)
        del self.reports[: -self.keep_reports]
        for observer in self.observers:
            observer(report)

    def close_all(self) -> None:
        """End every session politely (PPP: LCP Terminate-Request), e.g. at shutdown."""
        for session in list(self.sessions):
            session.hang_up()


def carrier_of(addr: object) -> Carrier:
    return Carrier.MODEM if getattr(addr, "number", None) is not None else Carrier.TCP


class CoreProtocol(Protocol):
    """The adapter between a PPP or Ethernet core and Twisted: bytes in and out, events
    to :meth:`handle`, one timer kept at the core's deadline."""

    clock: IReactorTime
    core: Core | None = None
    _timer: DeadlineTimer | None = None

    def make_core(self, now: float) -> Core:
        raise NotImplementedError

    def handle(self, event: Any) -> None:
        raise NotImplementedError

    def can_write(self) -> bool:
        return self.transport is not None

    def write(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]

    def connectionMade(self) -> None:
        self._timer = DeadlineTimer(self.clock, self._on_timer)
        self.core = self.make_core(self.clock.seconds())
        self.pump()

    def dataReceived(self, data: bytes) -> None:
        if self.core is not None:
            self.core.receive_data(data, self.clock.seconds())
            self.pump()

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.core is not None and not self.core.ended:
            self.core.receive_data(b"", self.clock.seconds())
            self.pump()
        self.cancel_timer()

    def hang_up(self) -> None:
        """End the link from this side (PPP sends LCP Terminate-Request first)."""
        if self.core is not None and not self.core.ended:
            self.core.close(self.clock.seconds())
            self.pump()

    def send_datagram(self, datagram: bytes) -> bool:
        """An IPv4 datagram for the far end of the link."""
        if self.core is not None and self.core.send_datagram(datagram, self.clock.seconds()):
            self.pump()
            return True
        return False

    def pump(self) -> None:
        core = self.core
        if core is None:
            return
        out = core.data_to_send()
        if out and self.can_write():
            self.write(out)
        for event in core.events():
            self.handle(event)
        if self._timer is not None:
            self._timer.at(core.deadline())

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _on_timer(self, _deadline: float) -> None:
        if self.core is not None:
            self.core.handle_timer(self.clock.seconds())
            self.pump()


class SubscriberSession(CoreProtocol):
    """A core between a transport and the NAS. Subclasses handle their own events in
    :meth:`handle_event`; the shared ones (datagrams, frames, drops, the end) are here."""

    def __init__(
        self, server: SubscriberServer, name: str, addr: object, rng: random.Random
    ) -> None:
        self.server = server
        self.name = name
        self.peer = peer_text(addr)
        self.peer_host = peer_host(addr)
        self.carrier = carrier_of(addr)
        self.rng = rng
        self.clock = server.reactor
        self.port: Port | None = None
        self.pcap: PcapWriter | None = None
        self.report: SessionReport | None = None
        self.started = 0.0
        self.address: IPv4Address | None = None
        self.user: str | None = None
        self.requested: dict[str, list[str]] = {}
        self.datagrams_in = 0
        self.datagrams_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.online: float | None = None
        self.last_datagram_in: float | None = None
        self.longest_silence = 0.0
        self.mac: str | None = None
        self.status: SessionHandle | None = None  # in the status registry, if there is one

    def make_core(self, now: float) -> Core:
        return self.server.make_core(now, self.rng)

    def can_write(self) -> bool:
        return self.transport is not None and self.report is None

    def write(self, data: bytes) -> None:
        super().write(data)
        self.bytes_out += len(data)
        if self.status is not None:
            self.status.add_bytes(sent=len(data))

    def dataReceived(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self.status is not None:
            self.status.add_bytes(received=len(data))
        super().dataReceived(data)

    def connectionMade(self) -> None:
        self.started = self.clock.seconds()
        path = None
        if self.server.capture_dir is not None:
            directory = self.server.capture_dir.expanduser()
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{self.name}.pcap"
            self.pcap = PcapWriter.open(path, self.server.linktype)
        if self.server.registry is not None:
            continued = self.server.status_for(self) if self.server.status_for else None
            if continued is not None:  # e.g. the modem call this session answers
                self.status = continued
                if path is not None:
                    continued.set_pcap(path)
            else:
                self.status = self.server.registry.open_session(
                    self.server.kind, self.peer, pcap=path
                )
        self.server.sessions.add(self)
        log.info("{session}: connection from {peer}", session=self.name, peer=self.peer)
        super().connectionMade()

    def set_state(self, state: State) -> None:
        if self.status is not None:
            self.status.set_state(state)

    def handle(self, event: Any) -> None:
        if isinstance(event, DatagramReceived):
            self.datagrams_in += 1
            now = self.clock.seconds()
            self._silence(now)
            self.last_datagram_in = now
            if self.port is not None:
                self.port.send(event.datagram)
        elif isinstance(event, FrameSeen):
            if self.pcap is not None:
                if self.server.linktype is LinkType.PPP_WITH_DIR:
                    self.pcap.write(self.clock.seconds(), event.frame, event.direction)
                else:
                    self.pcap.write(self.clock.seconds(), event.frame)
        elif isinstance(event, Discarded):
            log.debug("{session}: dropped: {why}", session=self.name, why=event.reason)
        elif isinstance(event, LinkEnded):
            self.finish(event.reason, event.cause, event.detail)
        else:
            self.handle_event(event)

    def handle_event(self, event: Any) -> None:
        raise NotImplementedError

    def _deliver(self, datagram: bytes) -> None:
        """A datagram from the virtual internet for this console."""
        if self.send_datagram(datagram):
            self.datagrams_out += 1

    def _silence(self, now: float) -> None:
        """The console's silence online, ended at *now* by a datagram or by the end."""
        since = self.last_datagram_in if self.last_datagram_in is not None else self.online
        if since is not None:
            self.longest_silence = max(self.longest_silence, now - since)

    def attach(self, address: IPv4Address, mtu: int) -> None:
        self.detach()
        if self.online is None:
            self.online = self.clock.seconds()
        self.address = address
        if self.status is not None:
            self.status.online(str(address))
        self.port = self.server.nas.attach_subscriber(
            address, mtu=mtu, deliver=self._deliver, name=self.name
        )

    def detach(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None

    def note_request(self, protocol: str, text: str) -> None:
        asked = self.requested.setdefault(protocol, [])
        if len(asked) < 20:
            asked.append(text)

    def finish(self, reason: Enum, cause: Cause | None, detail: str = "") -> None:
        """The core is done: detach, report, write what is left and close."""
        self.detach()
        self.cancel_timer()
        now = self.clock.seconds()
        self._silence(now)
        assert self.core is not None
        leftover = self.core.data_to_send()
        if leftover and self.transport is not None:
            self.transport.write(leftover)
            self.bytes_out += len(leftover)
        report = SessionReport(
            name=self.name,
            peer=self.peer,
            started=self.started,
            ended=now,
            reason=reason,
            cause=cause,
            detail=detail,
            user=self.user,
            address=self.address,
            requested=self.requested,
            datagrams_in=self.datagrams_in,
            datagrams_out=self.datagrams_out,
            front_end=self.server.name,
            carrier=self.carrier,
            peer_host=self.peer_host,
            online=self.online,
            last_datagram_in=self.last_datagram_in,
            longest_silence=self.longest_silence,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            mac=self.mac,
        )
        log.info(
            "{session}: ended after {seconds:.1f} s: {reason}{detail}; cause: {cause}",
            session=self.name,
            seconds=report.ended - report.started,
            reason=reason.value,
            detail=f" ({detail})" if detail else "",
            cause=f"{cause.value} {cause.text}" if cause else "none",
        )
        if self.pcap is not None:
            self.pcap.close()
            self.pcap = None
        if self.status is not None:
            self.status.end(cause, reason.value + (f" ({detail})" if detail else ""))
        self.report = report
        if self.transport is not None:
            self.transport.loseConnection()
        self.server.ended(self, report)
