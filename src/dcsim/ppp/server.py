"""The access server on Twisted: one :class:`PppSession` per call, made by an
:class:`AccessServer` factory.

The same factory serves every front end unchanged: a DCNet TCP listener (7654, 7656)
builds one session per accepted connection, and the fake modem builds one per call
after CONNECT (its answerer ``"ppp"``). A session puts the console on the virtual
internet through the NAS once IPCP is up, logs what the client asked for, can write a
pcap of the link, and reports how the call ended (with Sega's cause) to the server's
observers.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Protocol as TypingProtocol

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from dcsim.causes import Cause
from dcsim.pcap import LinkType, PcapWriter
from dcsim.ppp.frame import protocol_name
from dcsim.ppp.link import (
    AuthDone,
    DatagramReceived,
    Discarded,
    EndReason,
    FrameSeen,
    LinkConfig,
    LinkEnded,
    LinkEvent,
    LinkOpened,
    NetworkDown,
    NetworkUp,
    PeerRequested,
    PppLink,
)
from dcsim.ppp.pool import AddressPool
from dcsim.ppp.profile import describe_options

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


@dataclass(frozen=True)
class SessionReport:
    """How one call went, for logs, observers and client profiles."""

    name: str
    peer: str  # where the call came from (TCP address, modem line)
    started: float
    ended: float
    reason: EndReason
    cause: Cause | None  # what the console would show (Sega's list), None if it hung up
    detail: str = ""
    user: str | None = None
    address: IPv4Address | None = None
    requested: dict[str, list[str]] = field(default_factory=dict)  # protocol -> requests
    datagrams_in: int = 0
    datagrams_out: int = 0


class AccessServer(Factory):
    """An ISP's PPP access server attached to a NAS of the virtual internet.

    *pool* is shared by every front end on the same NAS. *capture_dir*, when set, gets
    one ``PPP_WITH_DIR`` pcap per session.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        nas: Attachment,
        config: LinkConfig,
        pool: AddressPool,
        *,
        name: str = "ppp",
        capture_dir: Path | None = None,
        seed: int | str = 0,
    ) -> None:
        self.reactor = reactor
        self.nas = nas
        self.config = replace(config, trace=True) if capture_dir is not None else config
        self.pool = pool
        self.name = name
        self.capture_dir = capture_dir
        self.seed = seed
        self.sessions: set[PppSession] = set()
        self.observers: list[Callable[[SessionReport], None]] = []
        self.reports: list[SessionReport] = []  # the most recent ones, for status pages
        self.keep_reports = 100
        self._numbers = itertools.count(1)

    def buildProtocol(self, addr: IAddress) -> PppSession:
        number = next(self._numbers)
        rng = random.Random(f"{self.seed}:{self.name}:{number}")
        return PppSession(self, f"{self.name}-{number}", _peer_text(addr), rng)

    def _ended(self, session: PppSession, report: SessionReport) -> None:
        self.sessions.discard(session)
        self.reports.append(report)
        del self.reports[: -self.keep_reports]
        for observer in self.observers:
            observer(report)

    def close_all(self) -> None:
        """End every session politely (LCP Terminate-Request), e.g. before shutting down."""
        for session in list(self.sessions):
            session.hang_up()


def _peer_text(addr: object) -> str:
    host, port = getattr(addr, "host", None), getattr(addr, "port", None)
    if host is not None and port is not None:
        return f"{host}:{port}"
    return str(addr)


class PppSession(Protocol):
    """One call: a :class:`PppLink` between a transport and the NAS."""

    def __init__(self, server: AccessServer, name: str, peer: str, rng: random.Random) -> None:
        self.server = server
        self.name = name
        self.peer = peer
        self.rng = rng
        self.clock = server.reactor
        self.link: PppLink | None = None
        self.port: Port | None = None
        self.pcap: PcapWriter | None = None
        self.report: SessionReport | None = None
        self.started = 0.0
        self.user: str | None = None
        self.address: IPv4Address | None = None
        self.requested: dict[str, list[str]] = {}
        self.datagrams_in = 0
        self.datagrams_out = 0
        self._timer: IDelayedCall | None = None

    # -- Twisted's side -------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.started = now = self.clock.seconds()
        if self.server.capture_dir is not None:
            directory = self.server.capture_dir.expanduser()
            directory.mkdir(parents=True, exist_ok=True)
            self.pcap = PcapWriter.open(directory / f"{self.name}.pcap", LinkType.PPP_WITH_DIR)
        self.link = PppLink(self.server.config, now, rng=self.rng, pool=self.server.pool)
        self.server.sessions.add(self)
        log.info("{session}: call from {peer}", session=self.name, peer=self.peer)
        self._pump()

    def dataReceived(self, data: bytes) -> None:
        if self.link is not None:
            self.link.receive_data(data, self.clock.seconds())
            self._pump()

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.link is not None and not self.link.ended:
            self.link.receive_data(b"", self.clock.seconds())
            self._pump()
        self._cancel_timer()

    def hang_up(self) -> None:
        """Terminate the link (LCP Terminate-Request), then close the connection."""
        if self.link is not None and not self.link.ended:
            self.link.close(self.clock.seconds())
            self._pump()

    # -- the core's side ------------------------------------------------------------------

    def _pump(self) -> None:
        link = self.link
        if link is None:
            return
        out = link.data_to_send()
        if out and self.transport is not None and self.report is None:
            self.transport.write(out)
        for event in link.events():
            self._handle(event)
        self._rearm(link.deadline())

    def _rearm(self, deadline: float | None) -> None:
        if deadline is None:
            self._cancel_timer()
            return
        delay = max(0.0, deadline - self.clock.seconds())
        if self._timer is not None and self._timer.active():
            self._timer.reset(delay)
        else:
            self._timer = self.clock.callLater(delay, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        if self.link is not None:
            self.link.handle_timer(self.clock.seconds())
            self._pump()

    def _deliver(self, datagram: bytes) -> None:
        """A datagram from the virtual internet for this console."""
        if self.link is not None and self.link.send_datagram(datagram, self.clock.seconds()):
            self.datagrams_out += 1
            self._pump()

    def _handle(self, event: LinkEvent) -> None:
        if isinstance(event, DatagramReceived):
            self.datagrams_in += 1
            if self.port is not None:
                self.port.send(event.datagram)
        elif isinstance(event, FrameSeen):
            if self.pcap is not None:
                self.pcap.write(self.clock.seconds(), event.frame, event.direction)
        elif isinstance(event, PeerRequested):
            text = describe_options(event.protocol, event.options)
            asked = self.requested.setdefault(protocol_name(event.protocol), [])
            if len(asked) < 20:
                asked.append(text)
            log.info(
                "{session}: client asks {protocol} {options}",
                session=self.name,
                protocol=protocol_name(event.protocol),
                options=text,
            )
        elif isinstance(event, LinkOpened):
            log.debug("{session}: LCP open: {terms}", session=self.name, terms=event.terms)
        elif isinstance(event, AuthDone):
            self.user = event.outcome.user
            log.info(
                "{session}: {protocol} login {user!r}: {result}",
                session=self.name,
                protocol=event.outcome.protocol.name,
                user=event.outcome.user,
                result="accepted" if event.outcome.ok else event.outcome.failure.value,
            )
        elif isinstance(event, NetworkUp):
            self._attach(event)
        elif isinstance(event, NetworkDown):
            self._detach()
        elif isinstance(event, Discarded):
            log.debug("{session}: dropped: {why}", session=self.name, why=event.reason)
        elif isinstance(event, LinkEnded):
            self._finish(event)

    def _attach(self, event: NetworkUp) -> None:
        self.address = event.peer
        self.port = self.server.nas.attach_subscriber(
            event.peer, mtu=event.mtu, deliver=self._deliver, name=self.name
        )
        log.info(
            "{session}: online as {address} (gateway {local}, DNS {dns}, MTU {mtu}{vj})",
            session=self.name,
            address=event.peer,
            local=event.local,
            dns=", ".join(str(a) for a in event.dns) or "none",
            mtu=event.mtu,
            vj=", VJ" if event.vj else "",
        )

    def _detach(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None

    def _finish(self, event: LinkEnded) -> None:
        self._detach()
        self._cancel_timer()
        report = SessionReport(
            name=self.name,
            peer=self.peer,
            started=self.started,
            ended=self.clock.seconds(),
            reason=event.reason,
            cause=event.cause,
            detail=event.detail,
            user=self.user,
            address=self.address,
            requested=self.requested,
            datagrams_in=self.datagrams_in,
            datagrams_out=self.datagrams_out,
        )
        log.info(
            "{session}: ended after {seconds:.1f} s: {reason}{detail}; cause: {cause}",
            session=self.name,
            seconds=report.ended - report.started,
            reason=event.reason.value,
            detail=f" ({event.detail})" if event.detail else "",
            cause=f"{event.cause.value} {event.cause.text}" if event.cause else "none",
        )
        if self.pcap is not None:
            self.pcap.close()
            self.pcap = None
        assert self.link is not None
        leftover = self.link.data_to_send()
        if leftover and self.transport is not None:
            self.transport.write(leftover)
        self.report = report
        if self.transport is not None:
            self.transport.loseConnection()
        self.server._ended(self, report)
