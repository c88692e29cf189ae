"""The access router's subscriber attachment: what the PPP and Ethernet front ends use."""

from __future__ import annotations

import io
from ipaddress import IPv4Address

import pytest
from twisted.internet import protocol, task

from dcsim.net.clock import run
from dcsim.net.network import Network
from dcsim.net.wire import IcmpRepr, IcmpType, Ipv4Repr, TcpRepr, UdpRepr, UnreachableCode, ipv4
from dcsim.net.wire.tcp import SYN
from dcsim.pcap import LinkType, PcapWriter

CONSOLE = IPv4Address("198.51.100.130")
RESOLVER = IPv4Address("198.51.100.53")
NAS = IPv4Address("198.51.100.1")


class Echo(protocol.DatagramProtocol):
    def datagramReceived(self, data, addr):
        self.transport.write(b"echo:" + data, addr)


def isp():
    clock = task.Clock()
    net = Network(clock)
    nas = net.add_nas("nas", NAS, "198.51.100.128/25")
    resolver = net.add_host("resolver")
    net.link(nas, resolver, "198.51.100.2/26", "198.51.100.53/26", latency=0.01)
    net.build_routes()
    resolver.listenUDP(53, Echo())
    return clock, net, nas, resolver


def udp(src, dst, sport, dport, payload, ident=1):
    return Ipv4Repr(src, dst, 17, ident=ident).emit(UdpRepr(sport, dport, payload).emit(src, dst))


def test_a_subscriber_sends_and_receives_raw_datagrams():
    clock, _, nas, _ = isp()
    received = []
    port = nas.attach_subscriber(CONSOLE, mtu=1500, deliver=received.append, name="dc1")
    port.send(udp(CONSOLE, RESOLVER, 1024, 53, b"query"))
    assert received == []  # deliver is never called from inside send
    run(clock, 1)
    [reply] = received
    header, payload = ipv4.parse(reply)
    assert (header.src, header.dst, header.ttl) == (RESOLVER, CONSOLE, 63)
    assert UdpRepr.parse(payload, header.src, header.dst).payload == b"echo:query"


def test_the_subscriber_mtu_applies_to_datagrams_towards_it():
    clock, _, nas, resolver = isp()
    received = []
    nas.attach_subscriber(CONSOLE, mtu=576, deliver=received.append, name="dc1")
    resolver.listenUDP(0, protocol.DatagramProtocol()).write(bytes(1400), (str(CONSOLE), 9))
    run(clock, 1)
    assert len(received) == 3 and all(len(d) <= 576 for d in received)


def test_the_nas_answers_ping_and_reports_unknown_subscribers():
    clock, _, nas, resolver = isp()
    received = []
    port = nas.attach_subscriber(CONSOLE, mtu=1500, deliver=received.append, name="dc1")
    port.send(Ipv4Repr(CONSOLE, NAS, 1).emit(IcmpRepr.echo_request(1, 1, b"hi").emit()))
    run(clock, 1)
    header, payload = ipv4.parse(received.pop())
    assert header.src == NAS and IcmpRepr.parse(payload).type == IcmpType.ECHO_REPLY
    port.close()
    errors = []
    resolver.error_handlers[17] = lambda icmp, inner, _: errors.append((icmp.code, inner.dst))
    resolver.listenUDP(0, protocol.DatagramProtocol()).write(b"x", (str(CONSOLE), 9))
    run(clock, 1)
    assert errors == [(UnreachableCode.HOST, CONSOLE)]
    assert received == []
    with pytest.raises(RuntimeError, match="closed"):
        port.send(udp(CONSOLE, RESOLVER, 1, 53, b"late"))


def test_attach_checks_its_arguments():
    _, _, nas, _ = isp()
    nas.attach_subscriber(CONSOLE, mtu=1500, deliver=print, name="dc1")
    with pytest.raises(ValueError, match="already attached"):
        nas.attach_subscriber(CONSOLE, mtu=1500, deliver=print, name="dc2")
    with pytest.raises(ValueError, match="outside"):
        nas.attach_subscriber(IPv4Address("10.0.0.1"), mtu=1500, deliver=print, name="x")
    with pytest.raises(ValueError, match="mtu"):
        nas.attach_subscriber(IPv4Address("198.51.100.131"), mtu=20, deliver=print, name="x")


def test_garbage_from_a_subscriber_is_dropped_and_counted():
    clock, _, nas, _ = isp()
    port = nas.attach_subscriber(CONSOLE, mtu=1500, deliver=print, name="dc1")
    port.send(b"\x45\x00garbage")
    run(clock, 1)
    assert nas.drops["undecodable"] == 1


def test_the_pcap_tap_records_both_directions():
    clock, _, nas, _ = isp()
    port = nas.attach_subscriber(CONSOLE, mtu=1500, deliver=lambda d: None, name="dc1")
    sink = io.BytesIO()
    port.pcap = PcapWriter(sink, LinkType.RAW)
    port.send(udp(CONSOLE, RESOLVER, 1024, 53, b"q"))
    run(clock, 1)
    assert port.pcap.packets == 2


def test_the_nas_clamps_the_mss_of_subscribers_syns():
    clock = task.Clock()
    net = Network(clock)
    nas = net.add_nas("nas", NAS, "198.51.100.128/25", mss_clamp=1412)
    server = net.add_host("server")
    net.link(nas, server, "192.0.2.1/24", "192.0.2.20/24")
    net.build_routes()
    server.listenTCP(80, protocol.Factory.forProtocol(protocol.Protocol))
    port = nas.attach_subscriber(CONSOLE, mtu=1500, deliver=lambda d: None, name="dc")
    dst = IPv4Address("192.0.2.20")
    syn = TcpRepr(1024, 80, 1, 0, SYN, 8192, mss=1460).emit(CONSOLE, dst)
    port.send(Ipv4Repr(CONSOLE, dst, 6).emit(syn))
    run(clock, 1)
    [conn] = server.tcp_connections()
    assert conn.core.peer_mss == 1412


def test_tcp_over_a_33600_bit_modem_link_runs_at_modem_speed():
    clock = task.Clock()
    net = Network(clock)
    console = net.add_host("console")
    nas = net.add_router("nas")
    server = net.add_host("server")
    net.link(
        console,
        nas,
        "198.51.100.130/25",
        "198.51.100.129/25",
        mtu=576,
        latency=0.1,
        bandwidth=33_600,
        queue_limit=20,
    )
    net.link(nas, server, "192.0.2.1/24", "192.0.2.20/24", latency=0.01)
    net.build_routes()
    got = bytearray()

    class Sink(protocol.Protocol):
        def dataReceived(self, data):
            got.extend(data)

    class Send(protocol.Protocol):
        def connectionMade(self):
            self.transport.write(bytes(100_000))

    server.listenTCP(80, protocol.Factory.forProtocol(Send))
    console.connectTCP("192.0.2.20", 80, protocol.ClientFactory.forProtocol(Sink))
    run(clock, 60, until=lambda: len(got) == 100_000)
    # 100 kB of payload in 536-byte segments is 107 kB on the wire: 25.5 s at 4,200 B/s.
    assert 25 < clock.seconds() < 32
