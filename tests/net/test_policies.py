"""NAT, DNS interception and filters on routers, in virtual time."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Network

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import error, protocol, task

from dcsim.net.clock import run
from dcsim.net.nat import DnsIntercept, Nat, rewrite
from dcsim.net.network import Network
from dcsim.net.node import Datagram
from dcsim.net.policy import Action, Filter
from dcsim.net.wire import IcmpRepr, Ipv4Repr, TcpRepr, UdpRepr
from dcsim.net.wire import ipv4 as ipv4_codec

OUTSIDE = IPv4Address("198.51.100.130")


class Who(protocol.DatagramProtocol):
    """Answers every datagram with the address it came from."""

    def __init__(self, tag=b""):
        self.tag = tag

    def datagramReceived(self, data, addr):
        self.transport.write(self.tag + f"{addr[0]}:{addr[1]}".encode(), addr)


class Collect(protocol.DatagramProtocol):
    def __init__(self):
        self.got = []

    def datagramReceived(self, data, addr):
        self.got.append((data, addr))


class Peer(protocol.Protocol):
    def __init__(self):
        self.data = b""
        self.peer = None

    def connectionMade(self):
        self.peer = self.transport.getPeer()
        self.transport.write(b"hi " + self.peer.host.encode())

    def dataReceived(self, data):
        self.data += data


def home(**middle):
    """console -- home router (NAT) -- isp -- edge -- server; *middle* is isp--edge."""
    clock = task.Clock()
    net = Network(clock)
    console = net.add_host("console")
    home_router = net.add_router("home")
    isp = net.add_router("isp")
    edge = net.add_router("edge")
    server = net.add_host("server")
    net.link(console, home_router, "192.168.0.2/24", "192.168.0.1/24", latency=0.005)
    net.link(home_router, isp, f"{OUTSIDE}/25", "198.51.100.129/25", latency=0.01)
    net.link(isp, edge, "203.0.113.249/30", "203.0.113.250/30", latency=0.01, **middle)
    net.link(edge, server, "192.0.2.1/24", "192.0.2.20/24", latency=0.01)
    net.build_routes()
    nat = Nat(clock, inside=[IPv4Network("192.168.0.0/16")])
    home_router.interfaces["to-isp"].policies.append(nat)
    # The ISP knows nothing of 192.168.0.0/16: only the NAT makes replies come back.
    for node in (isp, edge, server):
        node.routes.remove(IPv4Network("192.168.0.0/24"))
    return clock, net, console, home_router, isp, server, nat


def test_nat_translates_udp_both_ways():
    clock, _, console, _, _, server, nat = home()
    server.listenUDP(53, Who())
    mine = Collect()
    port = console.listenUDP(5000, mine)
    port.write(b"?", ("192.0.2.20", 53))
    run(clock, 1)
    assert mine.got == [(f"{OUTSIDE}:5000".encode(), ("192.0.2.20", 53))]
    assert nat.mappings() == [("udp", "192.168.0.2", 5000, 5000)]


def test_nat_translates_tcp_and_unsolicited_connections_are_reset():
    clock, _, console, _, _, server, _nat = home()
    servers = []
    server.listenTCP(
        80, protocol.Factory.forProtocol(lambda: servers.append(Peer()) or servers[-1])
    )
    client = Peer()
    console.connectTCP("192.0.2.20", 80, protocol.ClientFactory.forProtocol(lambda: client))
    run(clock, 2)
    assert servers[0].peer.host == str(OUTSIDE)
    assert client.data == b"hi " + str(OUTSIDE).encode() and servers[0].data == b"hi 192.0.2.20"
    failed = []

    class F(protocol.ClientFactory):
        def buildProtocol(self, addr):
            return Peer()

        def clientConnectionFailed(self, connector, reason):
            failed.append(reason)

    server.connectTCP(str(OUTSIDE), 7000, F())
    run(clock, 2)
    assert failed[0].check(error.ConnectionRefusedError)


def test_port_forwarding_opens_an_inside_service():
    clock, _, console, _, _, server, nat = home()
    nat.forward(6, 9100, IPv4Address("192.168.0.2"), 9100)
    inside = []
    console.listenTCP(
        9100, protocol.Factory.forProtocol(lambda: inside.append(Peer()) or inside[-1])
    )
    client = Peer()
    server.connectTCP(str(OUTSIDE), 9100, protocol.ClientFactory.forProtocol(lambda: client))
    run(clock, 2)
    assert inside[0].peer.host == "192.0.2.20" and client.data == b"hi 192.0.2.20"


def test_icmp_echo_and_frag_needed_cross_the_nat():
    clock, _net, console, _home_router, isp, server, _nat = home(mtu=576)
    replies = []
    console.error_handlers[-1] = lambda icmp, header, _: replies.append((icmp.ident, header.src))
    console.send(1, IPv4Address("192.0.2.20"), IcmpRepr.echo_request(77, 1).emit())
    run(clock, 1)
    assert replies == [(77, IPv4Address("192.0.2.20"))]
    # A large upload with DF: the ISP router's ICMP reaches the console through the NAT.
    sink = []
    server.listenTCP(80, protocol.Factory.forProtocol(lambda: sink.append(Peer()) or sink[-1]))
    payload = random.Random(5).randbytes(20_000)

    class Upload(protocol.Protocol):
        def connectionMade(self):
            self.transport.write(payload)

    console.connectTCP("192.0.2.20", 80, protocol.ClientFactory.forProtocol(Upload))
    run(clock, 10)
    assert sink[0].data == payload
    assert console.path_mtu(IPv4Address("192.0.2.20")) == 576
    assert isp.drops["fragmentation needed"] >= 1


def test_address_dependent_filtering_drops_strangers():
    clock, net, console, _, isp, server, nat = home()
    nat.filtering = "address-dependent"
    stranger = net.add_host("stranger")
    net.link(isp, stranger, "203.0.113.1/25", "203.0.113.66/25")
    stranger.add_route("0.0.0.0/0", stranger.interfaces["to-isp"], "203.0.113.1")
    server.listenUDP(53, Who())
    mine = Collect()
    console.listenUDP(5000, mine).write(b"?", ("192.0.2.20", 53))
    run(clock, 1)
    stranger.listenUDP(0, Collect()).write(b"let me in", (str(OUTSIDE), 5000))
    run(clock, 1)
    assert len(mine.got) == 1 and net.node("home").drops["nat: filtered"] == 1


def test_dns_interception_answers_for_the_server_the_client_chose():
    clock = task.Clock()
    net = Network(clock)
    nas = net.add_nas("nas", "198.51.100.1", "198.51.100.128/25")
    resolver = net.add_host("isp-resolver")
    sega = net.add_host("sega-dns")
    net.link(nas, resolver, "198.51.100.2/26", "198.51.100.53/26")
    net.link(nas, sega, "192.0.2.1/24", "192.0.2.53/24")
    net.build_routes()
    resolver.listenUDP(53, Who(b"isp resolver saw "))
    sega.listenUDP(53, Who(b"sega saw "))
    intercept = DnsIntercept(clock, IPv4Address("198.51.100.53"))
    nas.subscriber_policies.append(intercept)
    got = []
    port = nas.attach_subscriber(
        IPv4Address("198.51.100.130"), mtu=1500, deliver=got.append, name="dc"
    )
    src, dst = IPv4Address("198.51.100.130"), IPv4Address("192.0.2.53")
    query = UdpRepr(1024, 53, b"pso01.dricas.ne.jp A").emit(src, dst)
    port.send(Ipv4Repr(src, dst, 17).emit(query))
    run(clock, 1)
    header, payload = ipv4_codec.parse(got[0])
    answer = UdpRepr.parse(payload, header.src, header.dst)  # checksum verified
    assert header.src == dst and answer.src_port == 53  # looks like Sega's server...
    assert answer.payload == b"isp resolver saw 198.51.100.130:1024"  # ...but is not
    assert intercept.intercepted == 1


def test_filters_drop_or_reject():
    clock = task.Clock()
    net = Network(clock)
    a = net.add_host("a")
    r = net.add_router("r")
    b = net.add_host("b")
    net.link(a, r, "10.0.0.2/24", "10.0.0.1/24")
    net.link(r, b, "10.0.1.1/24", "10.0.1.2/24")
    net.build_routes()
    r.interfaces["to-a"].policies.append(Filter(proto="icmp", name="no ping"))
    r.interfaces["to-a"].policies.append(
        Filter(proto="udp", dst_ports=(53,), action=Action.REJECT, name="no dns")
    )
    b.listenUDP(53, Who())
    b.listenUDP(54, Who())
    replies = []
    a.error_handlers[-1] = lambda icmp, header, _: replies.append(icmp.type)
    a.send(1, IPv4Address("10.0.1.2"), IcmpRepr.echo_request(1, 1).emit())
    mine = Collect()
    refused = []
    port = a.listenUDP(0, mine)
    port.connect("10.0.1.2", 53)
    port.protocol.connectionRefused = lambda: refused.append(1)
    port.write(b"?")
    other = Collect()
    a.listenUDP(0, other).write(b"?", ("10.0.1.2", 54))
    run(clock, 1)
    assert replies == [] and r.drops["no ping: drop"] == 1
    assert refused == [1] and r.drops["no dns: reject"] == 1
    assert len(other.got) == 1


@given(
    st.sampled_from([6, 17]),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.binary(max_size=300),
    st.integers(0, 2**32 - 1),
)
def test_rewrite_keeps_transport_checksums_valid(proto, sport, new_port, payload, new_ip):
    src, dst = IPv4Address("192.168.0.2"), IPv4Address("192.0.2.20")
    if proto == 17:
        body = UdpRepr(sport, 53, payload).emit(src, dst)
    else:
        body = TcpRepr(sport, 80, 1, 2, 0x18, 1000, payload).emit(src, dst)
    out = rewrite(
        Datagram(Ipv4Repr(src, dst, proto), body), src=IPv4Address(new_ip), sport=new_port
    )
    header, data = ipv4_codec.parse(out.emit())
    parsed = (UdpRepr if proto == 17 else TcpRepr).parse(data, header.src, header.dst)
    assert parsed.src_port == new_port and parsed.payload == payload
