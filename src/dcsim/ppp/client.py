"""The console's side of a call on Twisted: a client :class:`PppLink` on a transport, and
the console as a host of the virtual internet once IPCP is up.

The host is a :class:`dcsim.net.host.VirtualHost` with no interfaces of its own; the
session gives it a ``ppp0`` interface at the negotiated address with a default route
over the link, so ordinary Twisted clients (``connectTCP``, ``listenUDP``, twisted.names)
run on it unchanged, exactly as services run on the far side. The virtual Dreamcast and
the tests use it.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Interface

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python.failure import Failure

from dcsim.net.host import VirtualHost
from dcsim.net.node import Interface
from dcsim.ppp.link import (
    AuthDone,
    DatagramReceived,
    LinkConfig,
    LinkEnded,
    LinkEvent,
    NetworkDown,
    NetworkUp,
    PppLink,
)

INTERFACE = "ppp0"


class PppClientSession(Protocol):
    """Dial-up from the console's side. ``up`` fires with :class:`NetworkUp` when the
    console is online, ``ended`` with :class:`LinkEnded` when the call is over; ``events``
    keeps every event for inspection."""

    def __init__(self, host: VirtualHost, config: LinkConfig, rng: random.Random) -> None:
        self.host = host
        self.clock = host  # a VirtualHost is the simulation's IReactorTime
        self.config = config
        self.rng = rng
        self.link: PppLink | None = None
        self.interface: Interface | None = None
        self.up: Deferred[NetworkUp] = Deferred()
        self.ended: Deferred[LinkEnded] = Deferred()
        self.events: list[LinkEvent] = []
        self.auth: AuthDone | None = None
        self._timer: IDelayedCall | None = None

    def connectionMade(self) -> None:
        self.link = PppLink(self.config, self.clock.seconds(), rng=self.rng)
        self._pump()

    def dataReceived(self, data: bytes) -> None:
        if self.link is not None:
            self.link.receive_data(data, self.clock.seconds())
            self._pump()

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.link is not None and not self.link.ended:
            self.link.receive_data(b"", self.clock.seconds())
            self._pump()

    def hang_up(self) -> None:
        """End the call politely: LCP Terminate-Request, then the connection closes."""
        if self.link is not None and not self.link.ended:
            self.link.close(self.clock.seconds())
            self._pump()

    def _pump(self) -> None:
        link = self.link
        assert link is not None
        out = link.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)
        for event in link.events():
            self._handle(event)
        deadline = link.deadline()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if deadline is not None:
            delay = max(0.0, deadline - self.clock.seconds())
            self._timer = self.clock.callLater(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.link is not None:
            self.link.handle_timer(self.clock.seconds())
            self._pump()

    def _send(self, datagram: bytes) -> None:
        if self.link is not None and self.link.send_datagram(datagram, self.clock.seconds()):
            self._pump()

    def _handle(self, event: LinkEvent) -> None:
        if isinstance(event, DatagramReceived):
            if self.interface is not None:
                self.interface.receive(event.datagram)
            return
        self.events.append(event)
        if isinstance(event, AuthDone):
            self.auth = event
        elif isinstance(event, NetworkUp):
            iface = self.host.add_interface(INTERFACE, IPv4Interface(f"{event.local}/32"))
            iface.attach_callable(self._send, event.mtu)
            self.host.add_route("0.0.0.0/0", iface)
            self.interface = iface
            if not self.up.called:
                self.up.callback(event)
        elif isinstance(event, NetworkDown):
            if self.interface is not None:
                self.host.remove_interface(self.interface)
                self.interface = None
        elif isinstance(event, LinkEnded):
            if self.transport is not None:
                self.transport.loseConnection()
            if not self.up.called:
                self.up.errback(Failure(ConnectionError(event.reason.value)))
            if not self.ended.called:
                self.ended.callback(event)


class PppClientFactory(ClientFactory):
    """Dial one call (``connectTCP`` to a DCNet port, or a modem's data mode).

    ``up`` and ``ended`` are the session's, available before the connection exists; a
    failed connection fails ``up``.
    """

    def __init__(self, host: VirtualHost, config: LinkConfig, *, seed: int | str = 0) -> None:
        self.host = host
        self.config = config
        self.seed = seed
        self.session: PppClientSession | None = None
        self.up: Deferred[NetworkUp] = Deferred()
        self.ended: Deferred[LinkEnded] = Deferred()

    def buildProtocol(self, addr: object) -> PppClientSession:
        self.session = PppClientSession(self.host, self.config, random.Random(f"{self.seed}"))
        self.session.up.chainDeferred(self.up)
        self.session.ended.chainDeferred(self.ended)
        return self.session

    def clientConnectionFailed(self, connector: object, reason: Failure) -> None:
        if not self.up.called:
            self.up.errback(reason)
