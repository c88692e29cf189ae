"""Everything ``dcsim up`` runs, composed on one reactor.

:class:`Dcsim` builds the revival world of ``docs/architecture.md``: the virtual internet
of the ``[net]`` topology on the reactor's clock, dcsim's services on its hosts (the
``[dns]`` zones, the licence check, the PSO login server and ship), and the front ends
that put consoles on it (DCNet PPP and Ethernet, the fake modem). The same service
objects also listen on real sockets, so ``dig``, ``openssl s_client`` or an external PSO
client reach exactly what a console reaches. A :class:`~dcsim.status.SessionRegistry`
follows every session for the status page.

``dcsim up`` and the twistd plugin both run it; :meth:`Dcsim.start` opens everything or
nothing, and :meth:`Dcsim.stop` ends every session politely (LCP Terminate-Request, then
NO CARRIER on modem calls) before the sockets close.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from dcsim.address import Listen
from dcsim.auth.accounts import open_accounts
from dcsim.auth.policy import Policy
from dcsim.auth.service import licence_factory
from dcsim.cli import Failed
from dcsim.dcnet.frontends import DcnetFrontEnds
from dcsim.dns.command import load as load_zones
from dcsim.dns.server import DnsServer
from dcsim.modem.answerers import builtin_answerers
from dcsim.modem.command import build_setup
from dcsim.modem.command import close as close_modem
from dcsim.modem.command import start as start_modems
from dcsim.net.host import VirtualHost
from dcsim.net.network import Network
from dcsim.net.router import Nas
from dcsim.net.topology import from_settings
from dcsim.pso.server import PsoService
from dcsim.settings import Settings
from dcsim.status.web import listen_status
from dcsim.up.monitor import Monitor, ObservedDns

log = Logger()

DNS_PORT = 53
HTTPS_PORT = 443


@dataclass(frozen=True)
class Endpoint:
    """One real socket dcsim listens on: what it is, where, and the setting that moves it."""

    what: str
    address: str  # transport:host:port, or a pty or serial device
    setting: str


class Dcsim:
    """The revival world and its front ends on *reactor* (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        reactor: Any,
        *,
        pty: bool = False,
        serial: str = "",
        call_log: IO[str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.reactor = reactor
        self.pty = pty or settings.modem.pty
        self.serial = serial or settings.modem.serial
        # The one place randomness is seeded from the operating system: keys and ciphers.
        self.rng = rng or random.Random(secrets.randbits(128))
        data_dir = settings.data_path
        data_dir.mkdir(parents=True, exist_ok=True)

        self.registry = settings.status.make_registry(reactor.seconds, on_error=_status_error)
        self.monitor = Monitor(self.registry)
        self.network: Network = from_settings(settings.net, reactor, reactor)
        self.nas = _the_nas(self.network)

        self.dns = ObservedDns(load_zones(settings.dns), self.monitor)
        accounts = (
            open_accounts(settings.accounts, data_dir)
            if settings.auth.policy is Policy.ACCOUNTS
            else None
        )
        self.licence = licence_factory(settings.auth, data_dir, reactor, accounts, self.rng)
        self.pso = PsoService(settings.pso, data_dir, reactor=reactor, rng=self.rng)
        self.dcnet = DcnetFrontEnds(reactor, self.nas, settings.ppp, settings.dcnet)
        answerers = {**builtin_answerers(), "ppp": self.dcnet.ppp}
        modem = dataclasses.replace(settings.modem, answerer=settings.up.modem_answerer)
        self.modem_settings = modem
        self.modem = build_setup(modem, reactor, answerers, call_log)
        self.monitor.watch_modems(self.modem)
        self.monitor.watch_access_servers(self.dcnet.servers)
        self.monitor.watch_pso(self.pso)

        self.endpoints: list[Endpoint] = []
        self._ports: list[Any] = []
        self._dns_servers: list[DnsServer] = []
        self._status_page: Any = None
        self._modems: list[Any] = []

    # --- starting ----------------------------------------------------------------------

    def start(self) -> list[Endpoint]:
        """Open every service; on any failure close what was opened and raise
        :class:`~dcsim.cli.Failed` naming the address and the setting that moves it."""
        try:
            self._start_virtual()
            self._start_real()
        except Exception:
            self._close_ports()
            raise
        return self.endpoints

    def _start_virtual(self) -> None:
        up = self.settings.up
        dns_host = self._host(up.dns_node, "up.dns_node")
        server = DnsServer(dns_host, self.dns)
        server.listen(Listen("udp", "0.0.0.0", DNS_PORT))
        server.listen(Listen("tcp", "0.0.0.0", DNS_PORT))
        self._dns_servers.append(server)
        self._host(up.licence_node, "up.licence_node").listenTCP(HTTPS_PORT, self.licence)
        login_host = self._host(up.login_node, "up.login_node")
        for listen in self.settings.pso.listen:
            login_host.listenTCP(listen.port, self.pso.login)
        self._login_host = login_host

    def _start_real(self) -> None:
        s = self.settings
        server = DnsServer(self.reactor, self.dns)
        self._dns_servers.append(server)
        for listen in s.dns.listen:
            self._open(f"DNS ({listen.transport.upper()})", listen, "dns.listen", server.listen)
        for listen in s.auth.listen:
            self._open(
                "licence server (HTTPS, SSL 3.0)",
                listen,
                "auth.listen",
                lambda a: self.reactor.listenTCP(a.port, self.licence, interface=a.host),
            )
        self._start_pso()
        try:
            for item in self.dcnet.listen():
                self.endpoints.append(Endpoint(f"DCNet {item.what}", str(item.address), "dcnet"))
        except CannotListenError as e:
            raise _port_in_use(e, "a DCNet front end", "the [dcnet] section") from None
        self._start_modem()
        port, self._status_page = listen_status(self.registry, self.reactor, s.status.listen)
        self._ports.append(port)
        bound = _bound(s.status.listen, port)
        self.endpoints.append(
            Endpoint("status page", f"http://{bound.host}:{bound.port}/", "status.listen")
        )

    def _start_pso(self) -> None:
        try:
            self.pso.start()
        except CannotListenError as e:
            raise _port_in_use(e, "the PSO login server or ship", "pso.listen / pso.ship_listen")
        ports = self.pso.ports
        ship = self.settings.pso.ship_listen
        self._ports.extend(ports)
        self.endpoints.append(Endpoint("PSO ship", str(_bound(ship, ports[0])), "pso.ship_listen"))
        for listen, port in zip(self.settings.pso.listen, ports[1:], strict=True):
            self.endpoints.append(Endpoint("PSO login", str(_bound(listen, port)), "pso.listen"))
        # dcsim's ship on the virtual internet, at the login host's address (clients are
        # sent to the address they reached the login server at), on the same port.
        self._login_host.listenTCP(self.pso.ship_port, self.pso.ship_factory)

    def _start_modem(self) -> None:
        modem = dataclasses.replace(self.modem_settings, pty=self.pty, serial=self.serial)
        self._modems = start_modems(self.modem, modem, self.reactor)
        for item in self._modems:
            setting = "modem.listen" if item.what == "fake modem" else "--pty / --serial"
            self.endpoints.append(Endpoint(item.what, item.where, setting))

    def _open(self, what: str, listen: Listen, setting: str, opener: Callable[[Listen], Any]) -> None:
        try:
            port = opener(listen)
        except CannotListenError as e:
            raise _port_in_use(e, what, setting) from None
        self._ports.append(port)
        self.endpoints.append(Endpoint(what, str(_bound(listen, port)), setting))

    def _host(self, name: str, setting: str) -> VirtualHost:
        node = self.network.nodes.get(name)
        if not isinstance(node, VirtualHost):
            raise Failed(f"{setting}: the topology has no host named {name!r}")
        return node

    # --- stopping ----------------------------------------------------------------------

    def stop(self) -> Deferred[Any]:
        """End every session politely, then close every socket and database."""
        d = self.dcnet.stop()

        def close(_: object) -> object:
            for item in self._modems:
                close_modem(item)
            for server in self._dns_servers:
                server.stop()
            if self._status_page is not None:
                self._status_page.events.close()
            stops = [maybeDeferred(self.pso.stop)]
            self._close_ports()
            self.network.close()
            return DeferredList(stops, consumeErrors=True)

        return d.addBoth(close)

    def _close_ports(self) -> None:
        ports, self._ports = self._ports, []
        for port in ports:
            port.stopListening()


def _the_nas(network: Network) -> Nas:
    for node in network.nodes.values():
        if isinstance(node, Nas):
            return node
    raise Failed("the [net] topology has no NAS (a node with kind = \"nas\") for consoles")


def _bound(listen: Listen, port: Any) -> Listen:
    return dataclasses.replace(listen, port=port.getHost().port)


def _port_in_use(e: CannotListenError, what: str, setting: str) -> Failed:
    where = f"{e.interface or '0.0.0.0'}:{e.port}"
    return Failed(
        f"cannot listen on {where} for {what}: {e.socketError}; "
        f"choose another address with {setting} in a settings file (dcsim --config FILE up)"
    )


def _status_error(e: Exception) -> None:
    log.failure("the status page's registry dropped a subscriber", None)
