"""Everything ``dcsim up`` runs, composed on one reactor.

:class:`Dcsim` builds the revival world of ``docs/architecture.md``: the virtual internet
of the ``[net]`` topology on the reactor's clock, dcsim's services on its hosts (the
``[dns]`` zones at the DNS addresses consoles are given, the licence check and the PSO
login server with dcsim's ship on the nodes ``[up]`` names), and the front ends that put
consoles on it (DCNet PPP and Ethernet, the fake modems, all attached to the ``[ppp]``
NAS). The same service objects also listen on real sockets, so ``dig``, ``openssl
s_client`` or an external PSO client reach exactly what a console reaches. A
:class:`~dcsim.status.SessionRegistry` follows every session for the status page.

``dcsim up`` and the twistd plugin both run it: :meth:`Dcsim.start` opens everything or
nothing, and :meth:`Dcsim.stop` ends every session politely (LCP Terminate-Request, then
NO CARRIER on modem calls) before the sockets and databases close.
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
from dcsim.dcnet.internet import find_nas, serve_dns
from dcsim.dcnet.sessionlog import SessionLog
from dcsim.dns.command import load as load_zones
from dcsim.dns.server import DnsController, DnsServer
from dcsim.modem.answerers import builtin_answerers
from dcsim.modem.command import Opened, build_setup
from dcsim.modem.command import close as close_modem
from dcsim.modem.command import start as start_modems
from dcsim.net.host import VirtualHost
from dcsim.net.topology import from_settings
from dcsim.pso.server import PsoService
from dcsim.settings import Settings
from dcsim.status.web import listen_status
from dcsim.up.monitor import Monitor

log = Logger()

HTTPS_PORT = 443
# How long stopping waits for modem calls to end once their PPP sessions have: the
# console hears NO CARRIER S10 (1.4 s by default) after the far end hangs up.
MODEM_GRACE = 5.0
NO_CARRIER_LINGER = 0.5


@dataclass(frozen=True)
class Endpoint:
    """One place dcsim can be reached: what it is, where, and the setting that moves it."""

    what: str
    where: str  # transport:host:port, a URL, or a pty or serial device
    setting: str


class Dcsim:
    """The revival world and its front ends on *reactor* (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        reactor: Any,
        *,
        call_log: IO[str] | None = None,
        session_log: SessionLog | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.reactor = reactor
        # The one place randomness is seeded from the operating system: keys and ciphers.
        self.rng = rng or random.Random(secrets.randbits(128))
        data_dir = settings.data_path
        data_dir.mkdir(parents=True, exist_ok=True)

        self.registry = settings.status.make_registry(reactor.seconds, on_error=_status_error)
        self.monitor = Monitor(self.registry, reactor)
        self.network = from_settings(settings.net, reactor, reactor)
        self.nas = find_nas(self.network, settings.ppp.nas)

        self.dns = DnsController(load_zones(settings.dns))
        self.dns.watch = self.monitor.dns_answered
        accounts = (
            open_accounts(settings.accounts, data_dir)
            if settings.auth.policy is Policy.ACCOUNTS
            else None
        )
        self.licence = licence_factory(
            settings.auth, data_dir, reactor, accounts, self.rng, watch=self.monitor.licence_checked
        )
        self.pso = PsoService(settings.pso, data_dir, reactor=reactor, rng=self.rng)
        self.monitor.watch_pso(self.pso)
        self.dcnet = DcnetFrontEnds(
            reactor,
            self.nas,
            settings.ppp,
            settings.dcnet,
            registry=self.registry,
            session_log=session_log,
        )
        self.monitor.continue_modem_calls(self.dcnet.servers)
        self.modem_settings = dataclasses.replace(
            settings.modem, listen=settings.dcnet.modem, answerer="ppp"
        )
        answerers = {**builtin_answerers(), "ppp": self.dcnet.ppp}
        self.modem = build_setup(self.modem_settings, reactor, answerers, call_log)
        self.monitor.watch_modems(self.modem)

        self.endpoints: list[Endpoint] = []
        self._ports: list[Any] = []
        self._dns_servers: list[DnsServer] = []
        self._modems: list[Opened] = []
        self._status_page: Any = None

    # --- starting ----------------------------------------------------------------------

    def start(self) -> list[Endpoint]:
        """Open everything, or close what was opened and raise :class:`~dcsim.cli.Failed`
        naming the address and the setting that moves it."""
        try:
            self._start_virtual()
            self._start_real()
        except BaseException:
            self._close()
            raise
        return self.endpoints

    def _start_virtual(self) -> None:
        s = self.settings
        self._dns_servers += serve_dns(
            self.network, s.ppp.dns, self.dns, tcp=s.dns.transport != "udp"
        )
        self._host(s.up.licence_node, "up.licence_node").listenTCP(HTTPS_PORT, self.licence)
        self._login_host = self._host(s.up.login_node, "up.login_node")
        for port in s.up.login_ports:
            self._login_host.listenTCP(port, self.pso.login)

    def _start_real(self) -> None:
        s = self.settings
        # As `dcsim dns` serves: the [dns] TCP limits, and TCP only if transport allows.
        server = s.dns.serve(self.reactor, listen=[], controller=self.dns)
        self._dns_servers.append(server)
        for listen in s.dns.allowed(s.dns.listen):
            self._open(f"DNS over {listen.transport.upper()}", listen, "dns.listen", server.listen)
        for listen in s.auth.listen:
            port = self._open(
                "licence server (HTTPS, SSL 3.0)",
                listen,
                "auth.listen",
                lambda a: self.reactor.listenTCP(a.port, self.licence, interface=a.host),
            )
            self._ports.append(port)
        self._start_pso()
        try:
            for item in self.dcnet.listen():
                self.endpoints.append(Endpoint(f"DCNet {item.what}", str(item.address), "dcnet"))
        except CannotListenError as e:
            raise _port_in_use(e, "a DCNet front end", "the [dcnet] section") from None
        self._modems = start_modems(self.modem, self.modem_settings, self.reactor)
        for item in self._modems:
            setting = "dcnet.modem" if item.what == "fake modem" else "--pty / --serial"
            self.endpoints.append(Endpoint(f"{item.what}, answered by PPP", item.where, setting))
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
            what, setting = "the PSO login server or ship", "pso.listen / pso.ship_listen"
            raise _port_in_use(e, what, setting) from None
        ship, *logins = self.pso.ports
        self.endpoints.append(
            Endpoint(
                "PSO ship", str(_bound(self.settings.pso.ship_listen, ship)), "pso.ship_listen"
            )
        )
        for listen, port in zip(self.settings.pso.listen, logins, strict=True):
            self.endpoints.append(Endpoint("PSO login", str(_bound(listen, port)), "pso.listen"))
        # dcsim's ship on the virtual internet: at the login host (clients are sent to the
        # address they reached the login server at), on the port the login server tells.
        self._login_host.listenTCP(self.pso.ship_port, self.pso.ship_factory)

    def _open(
        self, what: str, listen: Listen, setting: str, opener: Callable[[Listen], Any]
    ) -> Any:
        """Open one listening port and list it; a port in use becomes :class:`Failed`."""
        try:
            port = opener(listen)
        except CannotListenError as e:
            raise _port_in_use(e, what, setting) from None
        self.endpoints.append(Endpoint(what, str(_bound(listen, port)), setting))
        return port

    def _host(self, name: str, setting: str) -> VirtualHost:
        node = self.network.nodes.get(name)
        if not isinstance(node, VirtualHost):
            raise Failed(f"{setting}: the [net] topology has no host named {name!r}")
        return node

    # --- stopping ----------------------------------------------------------------------

    def stop(self) -> Deferred[Any]:
        """End every session politely, then close every socket and database: PPP links
        get an LCP Terminate-Request, then each modem call they answered hangs up and
        its console hears NO CARRIER (after S10) before the modems close."""
        stopping = self.dcnet.stop()
        stopping.addBoth(lambda _: self._modem_calls_ended())
        return stopping.addBoth(lambda _: self._close())

    def _modem_calls_ended(self) -> Deferred[None]:
        """Fires once no modem call is connected any more (or after MODEM_GRACE), and
        NO_CARRIER_LINGER later if there was one: a pty loses what its reader has not
        read yet when it closes."""
        done: Deferred[None] = Deferred()
        deadline = self.reactor.seconds() + MODEM_GRACE
        linger = NO_CARRIER_LINGER if self.monitor.calls_connected else 0.0

        def check() -> None:
            if not self.monitor.calls_connected or self.reactor.seconds() >= deadline:
                self.reactor.callLater(linger, done.callback, None)
            else:
                self.reactor.callLater(0.1, check)

        check()
        return done

    def _close(self) -> Deferred[Any]:
        for item in self._modems:
            close_modem(item)
        self._modems = []
        stops = [maybeDeferred(server.stop) for server in self._dns_servers]
        self._dns_servers = []
        if self._status_page is not None:
            self._status_page.events.close()
            self._status_page = None
        stops += [maybeDeferred(port.stopListening) for port in self._ports]
        self._ports = []
        if self.pso.ports:
            stops.append(maybeDeferred(self.pso.stop))
        self.network.close()
        return DeferredList(stops, consumeErrors=True)


def _bound(listen: Listen, port: Any) -> Listen:
    return dataclasses.replace(listen, port=port.getHost().port)


def _port_in_use(e: CannotListenError, what: str, setting: str) -> Failed:
    return Failed(
        f"cannot listen on {e.interface or '0.0.0.0'}:{e.port} for {what} ({e.socketError}); "
        f"choose another address with {setting} in a settings file (dcsim --config FILE up)"
    )


def _status_error(e: Exception) -> None:
    log.error("the status page's registry dropped a subscriber: {error!r}", error=e)
