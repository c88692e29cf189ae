"""Hosts, links, routers and UDP on the virtual internet, in virtual time."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import error, protocol, task
from twisted.internet.interfaces import IReactorTCP, IReactorTime, IReactorUDP
from twisted.names import client, dns, server
from twisted.names.authority import BindAuthority

from dcsim.net.clock import run
from dcsim.net.network import Network
from dcsim.net.wire import IcmpRepr, IcmpType, Ipv4Repr
from dcsim.net.wire import ipv4 as ipv4_codec


class Echo(protocol.DatagramProtocol):
    def datagramReceived(self, data, addr):
        self.transport.write(data, addr)


class Collect(protocol.DatagramProtocol):
    def __init__(self):
        self.got = []
        self.refused = 0

    def datagramReceived(self, data, addr):
        self.got.append((data, addr))

    def connectionRefused(self):
        self.refused += 1


def three_nodes(mtu=1500, latency=0.05, **kw):
    clock = task.Clock()
    net = Network(clock)
    a = net.add_host("a")
    r = net.add_router("r")
    b = net.add_host("b")
    net.link(a, r, "10.0.0.2/24", "10.0.0.1/24", latency=latency)
    net.link(r, b, "10.0.1.1/24", "10.0.1.2/24", latency=latency, mtu=mtu, **kw)
    net.build_routes()
    return clock, net, a, r, b


def test_a_virtual_host_is_a_reactor_for_time_tcp_and_udp():
    clock, _, a, _, _ = three_nodes()
    assert IReactorTime.providedBy(a) and IReactorTCP.providedBy(a) and IReactorUDP.providedBy(a)
    fired = []
    call = a.callLater(5, fired.append, "x")
    assert a.getDelayedCalls() == clock.getDelayedCalls() and call in a.getDelayedCalls()
    clock.advance(5)
    assert fired == ["x"] and a.seconds() == 5


def test_routes_are_built_along_shortest_paths():
    _, _, a, r, b = three_nodes()
    assert [str(route) for route in a.routes] == [
        "10.0.0.0/24 dev to-r metric 0",
        "10.0.1.0/24 via 10.0.0.1 dev to-r metric 101",
    ]
    assert r.routes.lookup(IPv4Address("10.0.1.2")).interface.name == "to-b"
    assert b.routes.lookup(IPv4Address("10.0.0.2")).via == IPv4Address("10.0.1.1")


def test_udp_echo_across_a_router_with_fragmentation_and_latency():
    clock, _, a, r, b = three_nodes(mtu=576)
    b.listenUDP(7, Echo())
    mine = Collect()
    port = a.listenUDP(0, mine)
    assert port.getHost().port == 32768
    port.write(b"x" * 3000, ("10.0.1.2", 7))
    run(clock, 0.19)
    assert mine.got == []  # two round trips of 50 ms each way have not passed
    run(clock, 0.02)
    assert mine.got == [(b"x" * 3000, ("10.0.1.2", 7))]
    # a sends 1500+1500+68-byte fragments; the router cuts each 1500 into 3 for MTU 576.
    assert r.interfaces["to-b"]._channel.stats.sent == 7


def test_udp_to_a_closed_port_is_refused_by_icmp():
    clock, _, a, _, b = three_nodes()
    mine = Collect()
    port = a.listenUDP(0, mine)
    port.connect("10.0.1.2", 9)
    port.write(b"hello")
    run(clock, 1)
    assert mine.refused == 1
    assert b.drops["udp port closed"] == 1


def test_udp_write_refuses_hostnames_and_oversize():
    _, _, a, _, _ = three_nodes()
    port = a.listenUDP(0, Collect())
    with pytest.raises(error.InvalidAddressError):
        port.write(b"x", ("example.com", 53))
    with pytest.raises(error.MessageLengthError):
        port.write(b"x" * 70000, ("10.0.1.2", 53))
    with pytest.raises(error.CannotListenError):
        a.listenUDP(port.getHost().port, Collect())


def test_ttl_expiry_is_answered_with_time_exceeded():
    clock, _, a, r, _b = three_nodes()
    replies = []
    a.error_handlers[17] = lambda icmp, inner, payload: replies.append((icmp.type, inner.dst))
    a.send(17, IPv4Address("10.0.1.2"), b"\0" * 8, ttl=1)
    run(clock, 1)
    assert replies == [(IcmpType.TIME_EXCEEDED, IPv4Address("10.0.1.2"))]
    assert r.drops["ttl exceeded"] == 1


def test_ping_gets_an_echo_reply():
    clock, _, a, _, _b = three_nodes()
    replies = []
    a.error_handlers[-1] = lambda icmp, header, _: replies.append((icmp.type, icmp.seq, header.src))
    a.send(1, IPv4Address("10.0.1.2"), IcmpRepr.echo_request(7, 1, b"ping").emit())
    run(clock, 1)
    assert replies == [(IcmpType.ECHO_REPLY, 1, IPv4Address("10.0.1.2"))]


def test_forwarded_datagrams_keep_a_valid_checksum_and_lose_one_ttl():
    clock, _net, a, _r, b = three_nodes()
    seen = []
    b.handlers[253] = lambda dg, iface: seen.append(dg.header)
    a.send(253, IPv4Address("10.0.1.2"), b"experiment")
    run(clock, 1)
    assert [h.ttl for h in seen] == [63]


def test_link_loss_queue_and_bandwidth():
    clock, _net, a, r, b = three_nodes(bandwidth=33600, queue_limit=3, latency=0.0)
    b.handlers[253] = lambda dg, iface: arrivals.append(clock.seconds())
    arrivals: list[float] = []
    for _ in range(5):  # 5 x 420 bytes at 33.6 kbit/s: 100 ms each on the slow link
        a.send(253, IPv4Address("10.0.1.2"), bytes(400))
    run(clock, 2)
    channel = r.interfaces["to-b"]._channel
    # One goes onto the wire at once, three wait, the fifth is tail-dropped.
    assert channel.stats.tail_dropped == 1
    assert arrivals == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_twisted_names_dns_server_runs_unchanged_on_a_virtual_host(tmp_path):
    """An unchanged twisted.names server and client, each given a virtual host as reactor."""
    clock, _, a, _, b = three_nodes()
    zone = tmp_path / "zone"
    zone.write_text(
        "$ORIGIN dricas.ne.jp.\n$TTL 60\n"
        "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\n"
        "ns IN A 192.0.2.53\npso01 IN A 192.0.2.20\n"
    )
    factory = server.DNSServerFactory(authorities=[BindAuthority(str(zone))])
    b.listenUDP(53, dns.DNSDatagramProtocol(factory))
    resolver = client.Resolver(servers=[("10.0.1.2", 53)], reactor=a)
    answers = []
    resolver.lookupAddress("pso01.dricas.ne.jp").addCallback(answers.append)
    run(clock, 2)
    [(answer, _, _)] = answers
    assert answer[0].payload.dottedQuad() == "192.0.2.20"


def test_corrupt_datagrams_are_counted_not_raised():
    clock, _, a, r, _b = three_nodes()
    good = Ipv4Repr(IPv4Address("10.0.0.2"), IPv4Address("10.0.1.2"), 17).emit(b"\0" * 8)
    bad = bytearray(good)
    bad[8] ^= 0xFF
    a.interfaces["to-r"].transmit(bytes(bad))
    a.interfaces["to-r"].transmit(good[:10])
    run(clock, 1)
    assert r.drops["undecodable"] == 2
    ipv4_codec.parse(good)  # sanity: the good one is good


@given(st.lists(st.binary(max_size=200), max_size=20), st.integers(0, 255))
def test_arbitrary_bytes_into_the_stack_never_raise(datagrams, proto):
    """Garbage and half-valid datagrams: dropped and counted, nothing escapes."""
    clock, _, _a, r, b = three_nodes()
    b.listenUDP(53, Echo())
    b.listenTCP(80, protocol.Factory.forProtocol(protocol.Protocol))
    src, dst = IPv4Address("10.0.0.2"), IPv4Address("10.0.1.2")
    for data in datagrams:
        r.interfaces["to-a"].receive(data)
        header = Ipv4Repr(src, dst, proto, ident=len(data), mf=bool(len(data) % 2))
        r.interfaces["to-a"].receive(header.emit(data))
    run(clock, 120)
    assert b.reassembler.held <= b.reassembler.max_bytes


def test_a_wildcard_and_a_specific_address_cannot_share_a_port():
    _, _, a, _, _ = three_nodes()
    a.listenUDP(53, Collect(), interface="10.0.0.2")
    with pytest.raises(error.CannotListenError):
        a.listenUDP(53, Collect())
    a.listenTCP(80, protocol.Factory())
    with pytest.raises(error.CannotListenError):
        a.listenTCP(80, protocol.Factory(), interface="10.0.0.2")
    with pytest.raises(error.CannotListenError):
        a.listenTCP(81, protocol.Factory(), interface="192.0.2.1")  # not a's address
