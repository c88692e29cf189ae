"""The gateway to real sockets, with a real reactor and real sockets on 127.0.0.1."""

from __future__ import annotations

import time

import pytest
from twisted.internet import protocol
from twisted.internet.selectreactor import SelectReactor
from twisted.logger import formatEvent

from dcsim.address import Listen
from dcsim.net.gateway import Gateway
from dcsim.net.network import Network

pytestmark = pytest.mark.interop


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(b"real:" + data)


class UdpEcho(protocol.DatagramProtocol):
    def datagramReceived(self, data, addr):
        self.transport.write(b"real:" + data, addr)


class Client(protocol.Protocol):
    def __init__(self):
        self.data = b""
        self.lost = None

    def connectionMade(self):
        self.transport.write(b"hello")

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.lost = reason


class ClientFactory(protocol.ClientFactory):
    def __init__(self):
        self.client = Client()
        self.failed = None

    def buildProtocol(self, addr):
        return self.client

    def clientConnectionFailed(self, connector, reason):
        self.failed = reason


def spin(reactor, until, limit=10.0):
    """Run the real reactor until *until()* or *limit* wall seconds (bounded)."""
    deadline = time.monotonic() + limit
    while not until() and time.monotonic() < deadline:
        reactor.iterate(0.01)
    return until()


@pytest.fixture
def world():
    reactor = SelectReactor()
    real_tcp = reactor.listenTCP(0, protocol.Factory.forProtocol(Echo), interface="127.0.0.1")
    real_udp = reactor.listenUDP(0, UdpEcho(), interface="127.0.0.1")
    net = Network(reactor)
    console = net.add_host("console")
    router = net.add_router("router")
    gw = net.add_host("gateway")
    net.link(console, router, "192.168.0.2/24", "192.168.0.1/24")
    net.link(router, gw, "100.64.0.2/30", "100.64.0.1/30")
    net.set_default(gw)
    net.build_routes()
    yield reactor, console, gw, real_tcp.getHost().port, real_udp.getHost().port
    real_tcp.stopListening()
    real_udp.stopListening()
    for call in reactor.getDelayedCalls():
        call.cancel()
    reactor.disconnectAll()


def test_an_allowed_real_tcp_destination_works_end_to_end(world):
    reactor, console, gw, tcp_port, _ = world
    gateway = Gateway(gw, reactor, [Listen("tcp", "127.0.0.1", tcp_port)])
    factory = ClientFactory()
    console.connectTCP("100.64.0.1", tcp_port, factory)
    assert spin(reactor, lambda: factory.client.data == b"real:hello")
    factory.client.transport.loseConnection()
    assert spin(reactor, lambda: factory.client.lost is not None)
    assert gateway.refused == []


def test_a_destination_not_allowed_is_refused_and_logged(world, log_events):
    reactor, console, gw, tcp_port, _ = world
    gateway = Gateway(gw, reactor, [Listen("tcp", "127.0.0.1", tcp_port + 1)])
    factory = ClientFactory()
    console.connectTCP("100.64.0.1", tcp_port, factory)
    assert spin(reactor, lambda: factory.failed is not None)
    assert "refused" in factory.failed.getErrorMessage().lower()
    # Elsewhere on the internet, also refused: nothing leaves by default.
    other = ClientFactory()
    console.connectTCP("203.0.113.9", 80, other)
    assert spin(reactor, lambda: other.failed is not None)
    assert gateway.refused == [("tcp", "127.0.0.1", tcp_port), ("tcp", "203.0.113.9", 80)]
    refusals = [formatEvent(e) for e in log_events if "refused" in e.get("log_format", "")]
    assert refusals == [
        f"gateway: refused tcp from 192.168.0.2:32768 to 127.0.0.1:{tcp_port} (not allowed)",
        "gateway: refused tcp from 192.168.0.2:32769 to 203.0.113.9:80 (not allowed)",
    ]


def test_a_real_refusal_reaches_the_virtual_client_as_rst(world):
    reactor, console, gw, _tcp_port, _ = world
    closed = reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")
    port = closed.getHost().port
    closed.stopListening()
    spin(reactor, lambda: False, limit=0.05)
    Gateway(gw, reactor, [Listen("tcp", "127.0.0.1", port)])
    factory = ClientFactory()
    console.connectTCP("100.64.0.1", port, factory)
    assert spin(reactor, lambda: factory.failed is not None)
    assert factory.failed.getErrorMessage().lower().startswith("connection was refused")


def test_udp_relay_and_refusal(world):
    reactor, console, gw, _, udp_port = world
    gateway = Gateway(gw, reactor, [Listen("udp", "127.0.0.1", udp_port)])
    got = []

    class Mine(protocol.DatagramProtocol):
        def datagramReceived(self, data, addr):
            got.append((data, addr))

        def connectionRefused(self):
            got.append("refused")

    port = console.listenUDP(0, Mine())
    port.write(b"ping", ("100.64.0.1", udp_port))
    assert spin(reactor, lambda: got == [(b"real:ping", ("100.64.0.1", udp_port))])
    other = console.listenUDP(0, Mine())
    other.connect("100.64.0.1", udp_port + 1)
    other.write(b"ping")
    assert spin(reactor, lambda: "refused" in got)
    assert gateway.refused == [("udp", "127.0.0.1", udp_port + 1)]
