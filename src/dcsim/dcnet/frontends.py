"""Every DCNet front end around one access server, constructible from code.

``dcsim dcnet`` runs these on real sockets; ``dcsim up`` can build the same object on
its own virtual internet. All of them share the NAS and its address pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from dcsim.address import Listen
from dcsim.dcnet.bba import BbaConfig, subnet_for
from dcsim.dcnet.ethernet_server import EthernetServer
from dcsim.dcnet.probe import ProbeProtocol
from dcsim.dcnet.settings import DcnetSettings
from dcsim.net.router import Nas
from dcsim.ppp.pool import AddressPool
from dcsim.ppp.server import AccessServer
from dcsim.ppp.session import SessionReport, SubscriberServer
from dcsim.ppp.settings import PppSettings
from dcsim.status.registry import SessionRegistry

log = Logger()

# How long shutdown waits for PPP sessions to finish their Terminate exchange.
SHUTDOWN_GRACE = 7.0


@dataclass(frozen=True)
class Listening:
    """One open socket: what it serves and its address (with the real port if 0 was asked)."""

    what: str
    address: Listen
    port: IListeningPort


class DcnetFrontEnds:
    def __init__(
        self,
        reactor: Any,
        nas: Nas,
        ppp: PppSettings,
        dcnet: DcnetSettings,
        *,
        pool: AddressPool | None = None,
        capture_dir: Path | None = None,
        seed: int | str = 0,
        registry: SessionRegistry | None = None,
        session_log: Callable[[SessionReport], None] | None = None,
    ) -> None:
        """*session_log* (a :class:`dcsim.dcnet.sessionlog.SessionLog`) is told about every
        session of every front end when it ends."""
        self.reactor = reactor
        self.settings = dcnet
        self.nas = nas
        self.pool = pool or AddressPool(nas.pool, exclude=[nas.address])
        captures = capture_dir or ppp.capture_dir
        self.ppp = AccessServer(
            reactor,
            nas,
            ppp.link_config(nas.address),
            self.pool,
            name="dcnet-ppp",
            capture_dir=captures,
            seed=seed,
            registry=registry,
        )
        # dcnet-ap's options.psmash: +pap -chap, lcp-echo-interval 0 (flycast.md §8)
        self.ppp_7656 = AccessServer(
            reactor,
            nas,
            ppp.link_config(nas.address, echo=False, auth=["pap"] if ppp.auth else []),
            self.pool,
            name="dcnet-7656",
            capture_dir=captures,
            seed=seed,
            registry=registry,
        )
        bba = BbaConfig(
            router=nas.address,
            network=subnet_for(nas.pool, nas.address),
            dns=tuple(ppp.dns),
        )
        self.ethernet = EthernetServer(
            reactor,
            nas,
            bba,
            self.pool,
            name="dcnet-bba",
            capture_dir=captures,
            seed=seed,
            registry=registry,
        )
        self.probe = ProbeProtocol(dcnet.access_points)
        self.listening: list[Listening] = []
        if session_log is not None:
            for server in self.servers:
                server.observers.append(session_log)

    @property
    def servers(self) -> tuple[SubscriberServer, ...]:
        return (self.ppp, self.ppp_7656, self.ethernet)

    def listen(self) -> list[Listening]:
        """Open every socket the settings name; CannotListenError propagates."""
        plan: list[tuple[str, Listen, Any]] = []
        plan += [("PPP (modem mode)", a, self.ppp) for a in self.settings.ppp]
        plan += [("PPP for 7656 titles", a, self.ppp_7656) for a in self.settings.ppp_7656]
        plan += [("Ethernet (broadband adapter)", a, self.ethernet) for a in self.settings.ethernet]
        plan += [("access-point probe", a, self.probe) for a in self.settings.probe]
        try:
            for what, address, target in plan:
                if address.transport == "udp":
                    port = self.reactor.listenUDP(address.port, target, interface=address.host)
                else:
                    port = self.reactor.listenTCP(address.port, target, interface=address.host)
                real = Listen(address.transport, address.host, port.getHost().port)
                self.listening.append(Listening(what, real, port))
        except Exception:
            for item in self.listening:  # all or nothing
                item.port.stopListening()
            self.listening = []
            raise
        return self.listening

    def stop(self) -> Deferred[Any]:
        """Stop listening and end every session politely; fires when done (or after the
        grace period)."""
        stops = [maybeDeferred(item.port.stopListening) for item in self.listening]
        self.listening = []
        for server in self.servers:
            server.close_all()
        done: Deferred[Any] = Deferred()

        def check() -> None:
            if (
                not any(server.sessions for server in self.servers)
                or self.reactor.seconds() >= deadline
            ):
                done.callback(None)
            else:
                self.reactor.callLater(0.1, check)

        deadline = self.reactor.seconds() + SHUTDOWN_GRACE
        check()
        return DeferredList([*stops, done], consumeErrors=True)
