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
from twisted.internet.protocol import ClientFactory
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
from dcsim.ppp.session import CoreProtocol

INTERFACE = "ppp0"


class PppClientSession(CoreProtocol):
    """Dial-up from the console's side. ``up`` fires with :class:`NetworkUp` when the
    console is online, ``ended`` with :class:`LinkEnded` when the call is over; ``events``
    keeps every event but datagrams, for inspection."""

    def __init__(self, host: VirtualHost, config: LinkConfig, rng: random.Random) -> None:
        self.host = host
        self.clock = host  # a VirtualHost is the simulation's IReactorTime
        self.config = config
        self.rng = rng
        self.interface: Interface | None = None
        self.up: Deferred[NetworkUp] = Deferred()
        self.ended: Deferred[LinkEnded] = Deferred()
        self.events: list[LinkEvent] = []
        self.auth: AuthDone | None = None

    def make_core(self, now: float) -> PppLink:
        return PppLink(self.config, now, rng=self.rng)

    def handle(self, event: LinkEvent) -> None:
        if isinstance(event, DatagramReceived):
            if self.interface is not None:
                self.interface.receive(event.datagram)
            return
        self.events.append(event)
        if isinstance(event, AuthDone):
            self.auth = event
        elif isinstance(event, NetworkUp):
            iface = self.host.add_interface(INTERFACE, IPv4Interface(f"{event.local}/32"))
            iface.attach_callable(self.send_datagram, event.mtu)
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

    noisy = False

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
