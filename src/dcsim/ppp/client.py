"""The console's side of a call on Twisted: a client :class:`PppLink` on a transport, and
the console as a host of the virtual internet once IPCP is up (:class:`HostLinkSession`
does the same for the broadband adapter, :mod:`dcsim.dcnet.ethernet_client`).

The host is a :class:`dcsim.net.host.VirtualHost` with no interfaces of its own; the
session gives it a ``ppp0`` interface at the negotiated address with a default route
over the link, so ordinary Twisted clients (``connectTCP``, ``listenUDP``, twisted.names)
run on it unchanged, exactly as services run on the far side. The virtual Dreamcast and
the tests use it.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

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


class HostLinkSession(CoreProtocol):
    """The console's side of a link (PPP, or the broadband adapter's Ethernet): a
    sans-IO core on a connection, driving one interface of *host* while it is up.
    ``up`` fires with the core's up event, ``ended`` with :class:`LinkEnded` when the
    link is over; ``events`` keeps every event but datagrams, for inspection."""

    interface_name = INTERFACE
    # True: ``ended`` waits for the connection to close, so that what the core sent last
    # (the broadband adapter's DHCP RELEASE) has left; PPP's last word is acknowledged.
    ended_on_close = False

    def __init__(self, host: VirtualHost, rng: random.Random) -> None:
        self.host = host
        self.clock = host  # a VirtualHost is the simulation's IReactorTime
        self.rng = rng
        self.interface: Interface | None = None
        self.up: Deferred[Any] = Deferred()
        self.ended: Deferred[LinkEnded] = Deferred()
        self.events: list[Any] = []
        self._end: LinkEnded | None = None
        self._closed = False

    def handle(self, event: Any) -> None:
        if isinstance(event, DatagramReceived):
            if self.interface is not None:
                self.interface.receive(event.datagram)
            return
        self.events.append(event)
        if isinstance(event, LinkEnded):
            self.go_offline()
            if not self.up.called:
                self.up.errback(Failure(ConnectionError(event.reason.value)))
            self._end = event
            if self.transport is not None:
                self.transport.loseConnection()
            if not self.ended_on_close or self.transport is None or self._closed:
                self._report_end()
        else:
            self.handle_event(event)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._closed = True
        super().connectionLost(reason)
        self._report_end()

    def _report_end(self) -> None:
        if self._end is not None and not self.ended.called:
            self.ended.callback(self._end)

    def handle_event(self, event: Any) -> None:
        raise NotImplementedError

    def go_online(
        self, address: IPv4Interface, mtu: int, router: IPv4Address | None, event: Any
    ) -> None:
        """The core has an address: the host's interface, and a default route over it."""
        iface = self.host.add_interface(self.interface_name, address)
        iface.attach_callable(self.send_datagram, mtu)
        self.host.add_route("0.0.0.0/0", iface, router)
        self.interface = iface
        if not self.up.called:
            self.up.callback(event)

    def go_offline(self) -> None:
        if self.interface is not None:
            self.host.remove_interface(self.interface)
            self.interface = None


class PppClientSession(HostLinkSession):
    """Dial-up from the console's side: ``up`` fires with :class:`NetworkUp`."""

    def __init__(self, host: VirtualHost, config: LinkConfig, rng: random.Random) -> None:
        super().__init__(host, rng)
        self.config = config
        self.auth: AuthDone | None = None

    def make_core(self, now: float) -> PppLink:
        return PppLink(self.config, now, rng=self.rng)

    def handle_event(self, event: LinkEvent) -> None:
        if isinstance(event, AuthDone):
            self.auth = event
        elif isinstance(event, NetworkUp):
            self.go_online(IPv4Interface(f"{event.local}/32"), event.mtu, None, event)
        elif isinstance(event, NetworkDown):
            self.go_offline()


class HostLinkFactory(ClientFactory):
    """Connect one console's link (``connectTCP`` to a DCNet port, or a modem's data mode).

    ``up`` and ``ended`` are the session's, available before the connection exists; a
    failed connection fails ``up``.
    """

    noisy = False

    def __init__(self, host: VirtualHost, config: Any, *, seed: int | str = 0) -> None:
        self.host = host
        self.config = config
        self.seed = seed
        self.session: HostLinkSession | None = None
        self.up: Deferred[Any] = Deferred()
        self.ended: Deferred[LinkEnded] = Deferred()

    def make_session(self, rng: random.Random) -> HostLinkSession:
        raise NotImplementedError

    def buildProtocol(self, addr: object) -> HostLinkSession:
        self.session = self.make_session(random.Random(f"{self.seed}"))
        self.session.up.chainDeferred(self.up)
        self.session.ended.chainDeferred(self.ended)
        return self.session

    def clientConnectionFailed(self, connector: object, reason: Failure) -> None:
        if not self.up.called:
            self.up.errback(reason)


class PppClientFactory(HostLinkFactory):
    """Dial one PPP call; ``up`` fires with :class:`NetworkUp`."""

    def make_session(self, rng: random.Random) -> PppClientSession:
        return PppClientSession(self.host, self.config, rng)
