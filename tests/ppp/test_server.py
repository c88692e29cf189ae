"""The access server on Twisted: a console dials in (in virtual time, and over a real TCP
socket), gets PPP, resolves a name over UDP and over TCP through the virtual internet."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.names import client, dns
from twisted.test import iosim

from dcsim.causes import Cause
from dcsim.dcnet.internet import Internet, build_internet
from dcsim.dns.authority import Authority, Policy
from dcsim.dns.zone import Zones
from dcsim.net.clock import run
from dcsim.ppp.auth import Login
from dcsim.ppp.client import PppClientFactory, PppClientSession
from dcsim.ppp.link import EndReason, NetworkUp, client_config
from dcsim.ppp.pool import AddressPool
from dcsim.ppp.server import AccessServer
from dcsim.ppp.session import SessionReport
from dcsim.ppp.settings import PppSettings
from dcsim.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
LOGIN_SERVER = IPv4Address("192.0.2.20")


def authority() -> Authority:
    return Authority(Zones.load(ROOT / "configs" / "zones"), Policy())


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"echo:" + data)


def isp(clock: object, ppp: PppSettings | None = None) -> tuple[Internet, AccessServer]:
    """The revival topology with DNS served, an echo service on the login server's node
    and the access server on its NAS."""
    settings = Settings(ppp=ppp or PppSettings())
    internet = build_internet(clock, settings, authority())
    internet.network.node("pso-login").listenTCP(9100, Factory.forProtocol(Echo))  # type: ignore[attr-defined]
    nas = internet.nas
    pool = AddressPool(nas.pool, exclude=[nas.address])
    server = AccessServer(clock, nas, settings.ppp.link_config(nas.address), pool)  # type: ignore[arg-type]
    return internet, server


def console(internet: Internet, login: Login | None = None) -> PppClientFactory:
    host = internet.network.add_host("console")
    return PppClientFactory(host, client_config(login or Login("flycast1", "password")))


def result_of(deferred: Deferred, clock: task.Clock, seconds: float = 60.0) -> object:
    box: list[object] = []
    deferred.addBoth(box.append)
    run(clock, seconds, until=lambda: bool(box))
    assert box, "no result in time"
    return box[0]


def connect_virtually(
    clock: task.Clock, server: AccessServer, factory: PppClientFactory
) -> tuple[PppClientSession, iosim.IOPump]:
    server_proto = server.buildProtocol(None)
    client_proto = factory.buildProtocol(None)
    pump = iosim.connect(
        server_proto,
        iosim.makeFakeServer(server_proto),
        client_proto,
        iosim.makeFakeClient(client_proto),
        greet=False,
        clock=clock,
    )
    pump.flush()
    return client_proto, pump


def pumping(clock: task.Clock, pump: iosim.IOPump) -> Callable[[], None]:
    loop = task.LoopingCall(pump.pump)
    loop.clock = clock
    loop.start(0.001)
    return loop.stop


def test_dial_in_resolve_and_connect_in_virtual_time() -> None:
    clock = task.Clock()
    internet, server = isp(clock)
    reports: list[SessionReport] = []
    server.observers.append(reports.append)
    factory = console(internet)
    session, pump = connect_virtually(clock, server, factory)
    stop = pumping(clock, pump)
    up = result_of(factory.up, clock)
    assert isinstance(up, NetworkUp)
    assert up.dns == (IPv4Address("192.0.2.53"),)
    host = factory.host
    resolver = client.Resolver(servers=[(str(up.dns[0]), 53)], reactor=host)
    answer = result_of(resolver.lookupAddress("pso01.dricas.ne.jp"), clock)
    (record,) = answer[0]
    assert record.payload.dottedQuad() == str(LOGIN_SERVER)
    over_tcp = result_of(resolver.queryTCP([dns.Query("auth01.dricas.ne.jp", dns.A)]), clock)
    assert not hasattr(over_tcp, "getTraceback"), over_tcp.getTraceback()
    assert over_tcp.answers[0].payload.dottedQuad() == "192.0.2.10"

    received: list[bytes] = []

    class Talk(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(b"hello")

        def dataReceived(self, data: bytes) -> None:
            received.append(data)

    from twisted.internet.protocol import ClientFactory

    talk = ClientFactory.forProtocol(Talk)
    host.connectTCP(str(LOGIN_SERVER), 9100, talk)
    run(clock, 30, until=lambda: bool(received))
    assert received == [b"echo:hello"]

    session.hang_up()
    ended = result_of(factory.ended, clock)
    assert ended.reason is EndReason.CLOSED  # type: ignore[union-attr]
    run(clock, 10, until=lambda: bool(reports))
    stop()
    (report,) = reports
    assert report.reason is EndReason.PEER_TERMINATED and report.cause is None
    assert report.user == "flycast1"
    assert report.address == up.local
    assert report.datagrams_in >= 4 and report.datagrams_out >= 4
    assert "ACCM=0x00000000" in report.requested["LCP"][0]
    assert report.requested["IPCP"][0] == "IP-ADDRESS=0.0.0.0 PRIMARY-DNS=0.0.0.0"
    assert not internet.nas.subscribers  # detached
    assert server.pool.in_use == 0


def test_refused_login_is_reported_as_authentication_failure() -> None:
    clock = task.Clock()
    settings = PppSettings(accept_any_login=False, logins={"dream": "cast"})
    internet, server = isp(clock, settings)
    reports: list[SessionReport] = []
    server.observers.append(reports.append)
    factory = console(internet, Login("dream", "dog"))
    session, pump = connect_virtually(clock, server, factory)
    stop = pumping(clock, pump)
    failure = result_of(factory.up, clock)
    assert "authentication failed" in str(failure)
    run(clock, 30, until=lambda: bool(reports))
    stop()
    (report,) = reports
    assert report.cause is Cause.AUTHENTICATION_FAILURE
    assert report.reason is EndReason.AUTHENTICATION_FAILED
    assert session.auth is not None and not session.auth.outcome.ok


def test_capture_per_session(tmp_path: Path) -> None:
    clock = task.Clock()
    internet = build_internet(clock, Settings(), None)
    nas = internet.nas
    pool = AddressPool(nas.pool, exclude=[nas.address])
    server = AccessServer(
        clock, nas, PppSettings().link_config(nas.address), pool, capture_dir=tmp_path / "caps"
    )
    factory = console(internet)
    session, pump = connect_virtually(clock, server, factory)
    stop = pumping(clock, pump)
    result_of(factory.up, clock)
    session.hang_up()
    result_of(factory.ended, clock)
    run(clock, 10)
    stop()
    (capture,) = (tmp_path / "caps").iterdir()
    assert capture.name == "ppp-1.pcap"
    assert capture.stat().st_size > 200


@pytest.mark.slow
def test_over_a_real_tcp_socket() -> None:
    """The 7654 listener on a real socket of a private reactor; the console connects to it
    with connectTCP, resolves over UDP and TCP, and hangs up."""
    from twisted.internet.selectreactor import SelectReactor

    reactor = SelectReactor()
    internet, server = isp(reactor)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    factory = console(internet)
    reactor.connectTCP("127.0.0.1", port.getHost().port, factory)
    results: dict[str, object] = {}

    def fail(failure: object) -> None:
        results["error"] = failure
        reactor.stop()

    def online(up: NetworkUp) -> Deferred:
        results["up"] = up
        resolver = client.Resolver(servers=[(str(up.dns[0]), 53)], reactor=factory.host)
        d = resolver.lookupAddress("pso01.dricas.ne.jp")
        d.addCallback(lambda answer: results.__setitem__("udp", answer[0][0].payload.dottedQuad()))
        d.addCallback(lambda _: resolver.queryTCP([dns.Query("auth01.dricas.ne.jp", dns.A)]))
        d.addCallback(lambda m: results.__setitem__("tcp", m.answers[0].payload.dottedQuad()))
        d.addCallback(lambda _: factory.session.hang_up())  # type: ignore[union-attr]
        d.addCallback(lambda _: factory.ended)
        d.addCallback(lambda ended: results.__setitem__("ended", ended))
        d.addCallback(lambda _: reactor.stop())
        return d

    factory.up.addCallback(online).addErrback(fail)
    reactor.callLater(30, lambda: (results.setdefault("error", "timeout"), reactor.stop()))
    reactor.run(installSignalHandlers=False)
    assert "error" not in results, results.get("error")
    assert results["udp"] == str(LOGIN_SERVER)
    assert results["tcp"] == "192.0.2.10"


def test_sessions_are_filed_in_the_status_registry() -> None:
    from dcsim.status.registry import SessionKind, SessionRegistry, State

    clock = task.Clock()
    internet = build_internet(clock, Settings(), None)
    nas = internet.nas
    registry = SessionRegistry(clock.seconds)
    states: list[State] = []
    registry.subscribe(lambda e: states.append(e.session.state) if hasattr(e, "session") else None)
    server = AccessServer(
        clock,
        nas,
        PppSettings().link_config(nas.address),
        AddressPool(nas.pool, exclude=[nas.address]),
        registry=registry,
    )
    factory = console(internet, Login("flycast1", "password"))
    session, pump = connect_virtually(clock, server, factory)
    stop = pumping(clock, pump)
    result_of(factory.up, clock)
    (live,) = registry.live()
    assert live.kind is SessionKind.DCNET_PPP and live.state is State.ONLINE
    assert live.address == "198.51.100.129" and live.received > 0 and live.sent > 0
    session.hang_up()
    run(clock, 10)
    stop()
    assert [s for s in dict.fromkeys(states)] == [
        State.LCP,
        State.AUTH,
        State.IPCP,
        State.ONLINE,
        State.ENDED,
    ]
    (ended,) = registry.snapshot().history
    assert ended.cause is None and "the peer ended the link" in ended.reason
