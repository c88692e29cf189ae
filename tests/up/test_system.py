"""``dcsim up``'s system in one process: a console dials the DCNet PPP port over a real
TCP socket, resolves, passes the licence check, logs in to PSO and stands in a lobby,
while the status registry follows it from LCP to the lobby; stopping dcsim hangs it up
with an LCP Terminate-Request."""

from __future__ import annotations

import dataclasses
import random
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.selectreactor import SelectReactor
from twisted.names import client

from dcsim.address import Listen
from dcsim.auth.service import AuthSettings
from dcsim.dcnet.settings import DcnetSettings
from dcsim.dns.settings import DnsSettings
from dcsim.net.network import Network
from dcsim.ppp.auth import Login
from dcsim.ppp.client import PppClientFactory
from dcsim.ppp.link import EndReason, NetworkUp, client_config
from dcsim.pso.client import PROFILES, Client
from dcsim.pso.client_twisted import PsoClientConnector
from dcsim.pso.settings import PsoSettings
from dcsim.settings import Settings
from dcsim.status import State
from dcsim.status.settings import StatusSettings
from dcsim.tls.certs import CertificateSettings
from dcsim.tls.profiles import NTSSL_CONSOLE
from dcsim.tls.protocol import TlsClientFactory
from dcsim.up.system import Dcsim

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK_ANY_PORT = "tcp:127.0.0.1:0"
REQUEST = (
    b"POST /cgi-bin/auth.cgi HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 9\r\n\r\nid=HL0001"
)


def on_free_ports(tmp_path: Path) -> Settings:
    """Every real listener on a free loopback port; the data directory in *tmp_path*."""
    at = Listen.from_text
    return Settings(
        data_dir=tmp_path / "data",
        dns=DnsSettings(
            zones=ROOT / "configs" / "zones", listen=[at("udp:127.0.0.1:0"), at(LOOPBACK_ANY_PORT)]
        ),
        auth=AuthSettings(
            listen=[at(LOOPBACK_ANY_PORT)],
            certificates=CertificateSettings(key_bits=1024, ca_key_bits=512),
        ),
        pso=PsoSettings(listen=[at(LOOPBACK_ANY_PORT)], ship_listen=at(LOOPBACK_ANY_PORT)),
        dcnet=DcnetSettings(
            ppp=[at(LOOPBACK_ANY_PORT)],
            ppp_7656=[],
            ethernet=[at(LOOPBACK_ANY_PORT)],
            probe=[at("udp:127.0.0.1:0")],
            modem=[at(LOOPBACK_ANY_PORT)],
        ),
        status=StatusSettings(listen=at(LOOPBACK_ANY_PORT)),
    )


class Licence(Protocol):
    def __init__(self, done: Deferred) -> None:
        self.done = done
        self.received = b""

    def connectionMade(self) -> None:
        self.transport.write(REQUEST)

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: object = None) -> None:
        self.done.callback(self.received)


def test_a_console_on_dcnet_reaches_the_lobby_and_is_hung_up_on_stop(tmp_path: Path) -> None:
    reactor = SelectReactor()
    system = Dcsim(on_free_ports(tmp_path), reactor, rng=random.Random(1))
    endpoints = {e.what: e.where for e in system.start()}
    ppp_port = Listen.from_text(endpoints["DCNet PPP (modem mode)"]).port
    assert endpoints["status page"].startswith("http://127.0.0.1:")

    console = Network(reactor, seed=9).add_host("console")
    factory = PppClientFactory(console, client_config(Login("flycast1", "password")))
    reactor.connectTCP("127.0.0.1", ppp_port, factory)
    seen: dict[str, object] = {}
    states: list[State] = []
    system.registry.subscribe(
        lambda e: states.append(e.session.state) if hasattr(e, "session") else None
    )

    def fail(failure: object) -> None:
        seen["error"] = failure
        reactor.stop()

    def online(up: NetworkUp) -> Deferred:
        seen["address"] = str(up.local)
        resolver = client.Resolver(servers=[(str(up.dns[0]), 53)], reactor=console)
        d = resolver.lookupAddress("auth01.dricas.ne.jp")
        d.addCallback(lambda answer: licence(answer[0][0].payload.dottedQuad()))
        d.addCallback(lambda body: seen.__setitem__("licence", body))
        d.addCallback(lambda _: resolver.lookupAddress("pso01.dricas.ne.jp"))
        d.addCallback(lambda answer: login(answer[0][0].payload.dottedQuad()))
        d.addCallback(lambda joined: seen.__setitem__("lobby", joined.lobby))
        d.addCallback(lambda _: seen.__setitem__("live", system.registry.live()))
        d.addCallback(lambda _: system.stop())
        d.addCallback(lambda _: factory.ended)
        d.addCallback(lambda ended: seen.__setitem__("ended", ended))
        d.addCallback(lambda _: reactor.stop())
        return d

    def licence(address: str) -> Deferred:
        done: Deferred = Deferred()
        wrapped = ClientFactory.forProtocol(lambda: Licence(done))
        tls = TlsClientFactory(wrapped, NTSSL_CONSOLE, console, random.Random(2))
        console.connectTCP(address, 443, tls)
        return done

    def login(address: str) -> Deferred:
        connector = PsoClientConnector(Client(PROFILES["jp-v2"]), console, timeout=60)
        return connector.connect(address, 9200)

    factory.up.addCallback(online).addErrback(fail)
    reactor.callLater(60, lambda: (seen.setdefault("error", "timeout"), reactor.stop()))
    reactor.run(installSignalHandlers=False)

    assert "error" not in seen, seen.get("error")
    assert seen["licence"].startswith(b"HTTP/1.0 200 OK")
    assert seen["lobby"] == 1
    (live,) = seen["live"]
    assert live.state is State.LOBBY and live.address == seen["address"]
    assert live.licence is not None and live.licence.accepted
    assert live.login is not None and live.login.guild_card is not None
    assert [q.name for q in live.dns] == ["auth01.dricas.ne.jp", "pso01.dricas.ne.jp"]
    assert [s for s in dict.fromkeys(states)][:5] == [
        State.LCP,
        State.AUTH,
        State.IPCP,
        State.ONLINE,
        State.DNS,
    ]
    # Stopping dcsim ends the link from the server side: the console hears Terminate.
    assert seen["ended"].reason is EndReason.PEER_TERMINATED


class ModemConsole(Protocol):
    """A console on the fake modem over TCP: dials, and keeps everything it hears."""

    def __init__(self, carrier: Deferred) -> None:
        self.carrier = carrier
        self.received = b""

    def connectionMade(self) -> None:
        self.transport.write(b"ATDT555\r")

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if b"CONNECT" in self.received and not self.carrier.called:
            self.carrier.callback(None)


def test_stopping_hangs_up_a_modem_call_with_no_carrier(tmp_path: Path) -> None:
    """A call in data mode when dcsim stops: the access server ends it, and the console
    hears NO CARRIER before the fake modems close."""
    for name in ("jp", "eu"):
        shutil.copy(ROOT / "modem" / f"{name}.toml", tmp_path)
    fast = tmp_path / "fast.toml"  # the far end answers at once
    fast.write_text('extends = "eu"\nname = "fast"\nanswer_delay = 0.1\ntraining = 0.1\n')
    settings = on_free_ports(tmp_path)
    settings = dataclasses.replace(
        settings, modem=dataclasses.replace(settings.modem, line=str(fast))
    )
    reactor = SelectReactor()
    system = Dcsim(settings, reactor, rng=random.Random(1))
    endpoints = {e.what: e.where for e in system.start()}
    modem_port = Listen.from_text(endpoints["fake modem, answered by PPP"]).port
    carrier: Deferred = Deferred()
    console = ModemConsole(carrier)
    reactor.connectTCP("127.0.0.1", modem_port, ClientFactory.forProtocol(lambda: console))
    seen: dict[str, object] = {}

    def stopped(_: object) -> None:
        seen["heard"] = console.received
        reactor.stop()

    carrier.addCallback(lambda _: system.stop()).addCallback(stopped)
    carrier.addErrback(lambda f: (seen.setdefault("error", f), reactor.stop()))

    def timeout() -> None:
        seen.setdefault("error", f"timed out, heard {console.received!r}")
        reactor.stop()

    reactor.callLater(30, timeout)
    reactor.run(installSignalHandlers=False)

    assert "error" not in seen, seen.get("error")
    assert seen["heard"].endswith(b"NO CARRIER\r\n"), seen["heard"]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_until(reactor: SelectReactor, done: Callable[[], bool], limit: float = 10.0) -> None:
    """Turn *reactor* until *done()* or *limit* seconds have passed."""
    deadline = time.monotonic() + limit
    while not done() and time.monotonic() < deadline:
        reactor.iterate(0.02)


def stop(system: Dcsim, reactor: SelectReactor) -> None:
    stopped: list[object] = []
    system.stop().addBoth(stopped.append)
    run_until(reactor, lambda: bool(stopped), 30)
    assert stopped, "dcsim did not stop"


def with_dns(tmp_path: Path, **changes: object) -> Settings:
    settings = on_free_ports(tmp_path)
    return dataclasses.replace(settings, dns=dataclasses.replace(settings.dns, **changes))


def test_dns_transport_udp_listens_on_udp_only_as_dcsim_dns_does(tmp_path: Path) -> None:
    tcp = free_tcp_port()
    at = Listen.from_text
    settings = with_dns(
        tmp_path, transport="udp", listen=[at("udp:127.0.0.1:0"), at(f"tcp:127.0.0.1:{tcp}")]
    )
    reactor = SelectReactor()
    system = Dcsim(settings, reactor, rng=random.Random(1))
    try:
        endpoints = {e.what for e in system.start()}
        assert "DNS over UDP" in endpoints
        assert "DNS over TCP" not in endpoints
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", tcp), timeout=5).close()
    finally:
        stop(system, reactor)


def test_dns_over_tcp_keeps_the_dns_tcp_limits(tmp_path: Path) -> None:
    """[dns] tcp_max_per_client = 1: a second connection from 127.0.0.1 is dropped while
    the first stays open."""
    reactor = SelectReactor()
    system = Dcsim(with_dns(tmp_path, tcp_max_per_client=1), reactor, rng=random.Random(1))
    try:
        endpoints = {e.what: e.where for e in system.start()}
        port = Listen.from_text(endpoints["DNS over TCP"]).port
        first = socket.create_connection(("127.0.0.1", port), timeout=5)
        second = socket.create_connection(("127.0.0.1", port), timeout=5)
        with first, second:
            first.setblocking(False)
            second.setblocking(False)

            def closed(s: socket.socket) -> bool:
                try:
                    return s.recv(1) == b""
                except BlockingIOError:
                    return False
                except ConnectionResetError:
                    return True

            run_until(reactor, lambda: closed(second))
            assert closed(second)
            assert not closed(first)
    finally:
        stop(system, reactor)
