"""The path behaviours of failure2006.md §2.5 and M3: PMTUD, its black hole, MSS clamping;
and unchanged Twisted applications (twisted.web) across the virtual internet."""

from __future__ import annotations

import random

import pytest
from twisted.internet import protocol, task
from twisted.web import resource, server
from twisted.web.client import Agent, readBody

from dcsim.net.clock import run
from dcsim.net.network import Network

PAYLOAD = random.Random(3).randbytes(100_000)


class Sink(protocol.Protocol):
    def __init__(self):
        self.data = bytearray()
        self.made = False

    def connectionMade(self):
        self.made = True

    def dataReceived(self, data):
        self.data += data


class Flight(protocol.Protocol):
    """A server whose first answer is large (an SSL certificate flight, a PSO lobby)."""

    def connectionMade(self):
        self.transport.write(PAYLOAD)


def server_path(*, frag_needed: bool, clamp: int | None = None):
    """console -(1500)- access -(1454)- sega-edge -(1500)- server"""
    clock = task.Clock()
    net = Network(clock)
    console = net.add_host("console")
    access = net.add_router("access")
    edge = net.add_router("sega-edge")
    srv = net.add_host("server")
    net.link(console, access, "192.168.0.2/24", "192.168.0.1/24", latency=0.01)
    net.link(access, edge, "198.51.100.2/30", "198.51.100.1/30", latency=0.02, mtu=1454)
    net.link(edge, srv, "192.0.2.1/24", "192.0.2.10/24", latency=0.01)
    net.build_routes()
    edge.interfaces["to-access"].frag_needed = frag_needed
    if clamp is not None:
        access.interfaces["to-sega-edge"].mss_clamp = clamp
    factory = protocol.Factory.forProtocol(Flight)
    srv.listenTCP(443, factory)
    client = Sink()
    console.connectTCP("192.0.2.10", 443, protocol.ClientFactory.forProtocol(lambda: client))
    return clock, net, client, srv, edge


def test_a_black_hole_stalls_the_transfer_after_the_handshake():
    clock, _, client, srv, edge = server_path(frag_needed=False)
    run(clock, 600)
    assert client.made  # the handshake's small segments pass
    assert len(client.data) == 0  # every full-size segment vanishes
    assert edge.drops["black hole: DF datagram too big, no ICMP"] > 5
    [conn] = srv.tcp_connections()
    assert conn.core.retransmits > 5 and conn.core.mss == 1460


def test_fragmentation_needed_lets_pmtud_recover():
    clock, _, client, srv, edge = server_path(frag_needed=True)
    run(clock, 10, until=lambda: len(client.data) == len(PAYLOAD))
    assert bytes(client.data) == PAYLOAD
    assert edge.drops["fragmentation needed"] >= 1
    [conn] = srv.tcp_connections()
    assert conn.core.mss == 1414  # 1454 - 40, learnt from the ICMP next-hop MTU


def test_mss_clamping_at_the_router_avoids_the_black_hole():
    clock, _, client, srv, edge = server_path(frag_needed=False, clamp=1414)
    run(clock, 10, until=lambda: len(client.data) == len(PAYLOAD))
    assert bytes(client.data) == PAYLOAD
    assert edge.drops["black hole: DF datagram too big, no ICMP"] == 0
    assert srv.tcp_connections()[0].core.peer_mss == 1414


def test_a_host_that_ignores_fragmentation_needed_stalls_too():
    from dcsim.net.tcp import TcpConfig

    clock, net, _client, srv, _edge = server_path(frag_needed=True)
    srv.tcp_config = TcpConfig(honour_frag_needed=False)
    # The listener was created with the old config; connect again with the new one.
    client2 = Sink()
    net.node("console").connectTCP(
        "192.0.2.10", 443, protocol.ClientFactory.forProtocol(lambda: client2)
    )
    run(clock, 120)
    assert client2.made and len(client2.data) == 0


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        return b"hello from " + request.getHost().host.encode() + b" " * 5000


# readBody warns about twisted.web's own TransportProxyProducer, whatever the transport.
@pytest.mark.filterwarnings("ignore:Using readBody with a transport")
@pytest.mark.parametrize("mtu", [1500, 576])
def test_twisted_web_served_and_fetched_across_the_virtual_internet(mtu):
    clock = task.Clock()
    net = Network(clock)
    a = net.add_host("a")
    r = net.add_router("r")
    b = net.add_host("web")
    net.link(a, r, "10.0.0.2/24", "10.0.0.1/24", latency=0.03)
    net.link(r, b, "192.0.2.1/24", "192.0.2.80/24", latency=0.03, mtu=mtu)
    net.build_routes()
    a.hosts_table["www.dricas.ne.jp"] = b.address
    b.listenTCP(80, server.Site(Hello(), reactor=b))
    bodies = []
    agent = Agent(a)
    d = agent.request(b"GET", b"http://www.dricas.ne.jp/")
    d.addCallback(lambda response: (bodies.append(response.code), readBody(response)))
    d.addCallback(lambda pair: pair[1].addCallback(bodies.append))
    run(clock, 10, until=lambda: len(bodies) == 2)
    assert bodies[0] == 200
    assert bodies[1].startswith(b"hello from 192.0.2.80") and len(bodies[1]) == 5021


def test_a_stack_with_a_small_mss_of_its_own_never_meets_the_black_hole():
    """A dial-up stack that advertises MSS 536 (MTU 576) gets segments that fit any path,
    so a server-side black hole never shows (failure2006.md §5, M3, dial-up)."""
    from dcsim.net.tcp import TcpConfig

    clock, net, _client, srv, _edge = server_path(frag_needed=False)
    console = net.node("console")
    console.tcp_config = TcpConfig(mss=536)
    small = Sink()
    console.connectTCP("192.0.2.10", 443, protocol.ClientFactory.forProtocol(lambda: small))
    run(clock, 60, until=lambda: len(small.data) == len(PAYLOAD))
    assert bytes(small.data) == PAYLOAD
    conn = next(c for c in srv.tcp_connections() if c.core.peer_mss == 536)
    assert conn.core.mss == 536
    mine = next(c for c in console.tcp_connections() if c.core.local_mss == 536)
    assert mine.core.mss == 536  # and it sends no more than that itself
