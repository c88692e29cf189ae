"""The server's edges with a fake world: task.Clock, StringTransport, a fake UDP port."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dnslib import DNSRecord
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.testing import StringTransportWithDisconnection

from dcsim.dns.authority import Authority, EdnsPolicy, Policy
from dcsim.dns.message import Rcode
from dcsim.dns.server import (
    DnsController,
    DnsDatagramProtocol,
    DnsStreamFactory,
    DnsStreamProtocol,
    TcpLimits,
)
from dcsim.dns.tcpframing import (
    FramingError,
    IdleTimeout,
    MessageReceived,
    PeerClosed,
    StreamConnection,
    frame,
)
from tests.dns.helpers import EXAMPLE, wire, zone, zones


def controller(**policy) -> DnsController:
    return DnsController(Authority(zones(zone(EXAMPLE)), Policy(**policy)))


# --- the framing core ------------------------------------------------------------------


def test_framing_splits_pipelined_and_partial_messages():
    core = StreamConnection(0.0, 10.0)
    stream = frame(b"A" * 20) + frame(b"B" * 30)
    core.receive_data(stream[:5], 1.0)
    assert list(core.events()) == []
    core.receive_data(stream[5:], 2.0)
    assert list(core.events()) == [MessageReceived(b"A" * 20), MessageReceived(b"B" * 30)]
    assert core.outstanding == 2 and core.deadline() is None  # answers owed: not idle


def test_idle_timer_runs_from_the_last_complete_message_not_from_trickled_bytes():
    core = StreamConnection(0.0, 10.0)
    assert core.deadline() == 10.0
    core.receive_data(b"\x00", 1.0)
    for t in range(2, 10):
        core.receive_data(b"\xff", float(t))  # a byte a second: never a complete message
    core.handle_timer(10.0)
    assert list(core.events()) == [IdleTimeout(10.0)]
    assert core.deadline() is None and core.closed


def test_answering_resets_the_idle_timer():
    core = StreamConnection(0.0, 10.0)
    core.receive_data(frame(b"q" * 12), 5.0)
    list(core.events())
    core.send(b"r" * 12, 6.0)
    core.done(6.0)
    assert core.deadline() == 16.0
    assert core.data_to_send() == frame(b"r" * 12)


def test_eof_and_zero_length_messages():
    core = StreamConnection(0.0, 10.0)
    core.receive_data(b"\x00\x05ab", 1.0)
    core.receive_data(b"", 2.0)
    assert list(core.events()) == [PeerClosed(partial=True)]
    zero = StreamConnection(0.0, 10.0)
    zero.receive_data(b"\x00\x00", 1.0)
    assert list(zero.events()) == [FramingError("a message of length 0")]


# --- the controller and its reply cache ------------------------------------------------


def test_identical_queries_are_answered_from_the_cache_with_their_own_id():
    c = controller()
    first = c.answer_udp(wire("www.example.", qid=1), "192.0.2.1")
    second = c.answer_udp(wire("www.example.", qid=2), "192.0.2.2")
    assert c.hits == 1
    assert first[2:] == second[2:] and struct.unpack("!H", second[:2]) == (2,)
    # a different spelling is another key: the reply keeps each query's case
    third = DNSRecord.parse(c.answer_udp(wire("WWW.example.", qid=3), "192.0.2.2"))
    assert third.rr[0].rname.label[0] == b"WWW"


def test_udp_and_tcp_replies_are_cached_apart():
    c = controller()
    udp = DNSRecord.parse(c.answer_udp(wire("big.example.", "TXT"), "192.0.2.1"))
    (tcp,) = c.answer_tcp(wire("big.example.", "TXT"), "192.0.2.1")
    assert udp.header.tc and not udp.rr
    assert not DNSRecord.parse(tcp).header.tc and len(DNSRecord.parse(tcp).rr) == 6


def test_drops_are_remembered_too():
    c = controller(edns=EdnsPolicy.DROP)
    for _ in range(3):
        assert c.answer_udp(wire("www.example.", edns=1232), "192.0.2.1") is None
    assert c.hits == 2


def test_the_cache_is_bounded():
    c = DnsController(Authority(zones(zone(EXAMPLE))), cache_entries=3)
    for i in range(10):
        c.answer_udp(wire(f"n{i}.example."), "192.0.2.1")
    assert all(len(cache) <= 3 for cache in c.caches.values())


# --- UDP edge --------------------------------------------------------------------------


class FakeUdp:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def write(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


def test_udp_protocol_answers_to_the_sender_and_ignores_garbage():
    proto = DnsDatagramProtocol(controller())
    proto.transport = FakeUdp()
    proto.datagramReceived(b"\x01", ("192.0.2.1", 1000))
    proto.datagramReceived(wire("www.example.", qid=9), ("192.0.2.1", 1001))
    ((data, addr),) = proto.transport.sent
    assert addr == ("192.0.2.1", 1001) and DNSRecord.parse(data).header.id == 9


def test_a_watch_is_told_every_query_cached_or_not_over_both_transports():
    c = controller(edns=EdnsPolicy.DROP)
    told: list[tuple[str, int, int | None]] = []
    c.watch = lambda client, query, reply: told.append(
        (client, DNSRecord.parse(query).header.id, reply and DNSRecord.parse(reply).header.id)
    )
    proto = DnsDatagramProtocol(c)
    proto.transport = FakeUdp()
    for qid in (1, 2):  # the second from the reply cache, on the edge's busy path
        proto.datagramReceived(wire("www.example.", qid=qid), ("192.0.2.1", 1000))
    proto.datagramReceived(wire("www.example.", qid=3, edns=1232), ("192.0.2.2", 1000))
    for qid in (4, 5):
        c.answer_tcp(wire("www.example.", qid=qid), "192.0.2.3")
    assert c.hits == 2 and len(proto.transport.sent) == 2
    assert told == [
        ("192.0.2.1", 1, 1),
        ("192.0.2.1", 2, 2),
        ("192.0.2.2", 3, None),  # dropped: told with no reply
        ("192.0.2.3", 4, 4),
        ("192.0.2.3", 5, 5),
    ]


def test_udp_protocol_sends_late_answers_from_a_resolver():
    class Later:
        def __init__(self) -> None:
            self.pending: list[Deferred] = []

        def answer(self, query: DNSRecord) -> Deferred:
            d: Deferred = Deferred()
            self.pending.append((d, query))
            return d

    resolver = Later()
    c = DnsController(Authority(zones(zone(EXAMPLE))), resolver, [_net("192.0.2.0/24")])
    proto = DnsDatagramProtocol(c)
    proto.transport = FakeUdp()
    proto.datagramReceived(wire("elsewhere.test.", qid=5, rd=True), ("192.0.2.1", 1000))
    assert proto.transport.sent == []
    d, query = resolver.pending[0]
    answer = query.reply()
    answer.header.rcode = Rcode.NXDOMAIN
    d.callback(answer)
    ((data, _),) = proto.transport.sent
    assert DNSRecord.parse(data).header.rcode == Rcode.NXDOMAIN
    # a client outside the recursion networks is refused, never recursed for
    proto.datagramReceived(wire("elsewhere.test.", rd=True), ("203.0.113.9", 1000))
    assert DNSRecord.parse(proto.transport.sent[-1][0]).header.rcode == Rcode.REFUSED
    assert len(resolver.pending) == 1


def _net(text: str):
    import ipaddress

    return ipaddress.ip_network(text)


# --- TCP edge --------------------------------------------------------------------------


@dataclass
class TcpPair:
    clock: task.Clock
    factory: DnsStreamFactory
    proto: DnsStreamProtocol
    transport: StringTransportWithDisconnection


def tcp_pair(limits: TcpLimits | None = None, client: str = "192.0.2.1") -> TcpPair:
    clock = task.Clock()
    factory = DnsStreamFactory(controller(), clock, limits or TcpLimits())
    proto = factory.buildProtocol(None)
    transport = StringTransportWithDisconnection(peerAddress=IPv4Address("TCP", client, 4000))
    transport.protocol = proto
    proto.makeConnection(transport)
    return TcpPair(clock, factory, proto, transport)


def replies(transport) -> list[DNSRecord]:
    data = transport.value()
    out = []
    while data:
        (n,) = struct.unpack_from("!H", data)
        out.append(DNSRecord.parse(data[2 : 2 + n]))
        data = data[2 + n :]
    return out


def test_tcp_pipelined_queries_get_answers_in_one_write():
    t = tcp_pair()
    t.proto.dataReceived(
        frame(wire("www.example.", qid=1)) + frame(wire("big.example.", "TXT", qid=2))
    )
    a, b = replies(t.transport)
    assert (a.header.id, b.header.id) == (1, 2)
    assert len(b.rr) == 6 and not b.header.tc  # no 512-octet limit on TCP
    assert t.transport.connected


def test_tcp_idle_timeout_closes_a_trickling_client():
    t = tcp_pair(TcpLimits(idle_timeout=5.0))
    data = frame(wire("www.example."))
    for byte in data[:-1]:
        t.proto.dataReceived(bytes([byte]))
        t.clock.advance(1.0)
        if not t.transport.connected:
            break
    assert not t.transport.connected
    assert t.clock.seconds() <= 6.0
    assert t.factory.open_connections == 0


def test_tcp_connection_stays_while_queries_keep_coming():
    t = tcp_pair(TcpLimits(idle_timeout=5.0))
    for _ in range(5):
        t.clock.advance(4.0)
        t.proto.dataReceived(frame(wire("www.example.")))
    assert t.transport.connected and len(replies(t.transport)) == 5
    t.clock.advance(5.0)
    assert not t.transport.connected


def test_tcp_connection_limits():
    factory = DnsStreamFactory(
        controller(), task.Clock(), TcpLimits(max_connections=3, max_per_client=2)
    )
    transports = []
    for i, client in enumerate(["192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.3"]):
        proto = factory.buildProtocol(None)
        transport = StringTransportWithDisconnection(
            peerAddress=IPv4Address("TCP", client, 4000 + i)
        )
        transport.protocol = proto
        proto.makeConnection(transport)
        transports.append(transport)
    assert [t.connected for t in transports] == [True, True, False, True, False]
    assert factory.open_connections == 3
    transports[0].loseConnection()
    assert factory.open_connections == 2


def test_tcp_query_limit_per_connection():
    t = tcp_pair(TcpLimits(max_queries=3))
    t.proto.dataReceived(b"".join(frame(wire("www.example.", qid=i)) for i in range(5)))
    assert len(replies(t.transport)) == 3 and not t.transport.connected


def test_tcp_stops_reading_while_the_client_does_not_read():
    t = tcp_pair()
    assert t.transport.producer is t.proto
    t.proto.pauseProducing()
    assert t.transport.producerState == "paused"
    t.proto.resumeProducing()
    assert t.transport.producerState == "producing"


def test_tcp_garbage_gets_formerr_and_a_zero_length_frame_closes():
    t = tcp_pair()
    t.proto.dataReceived(frame(b"\x00\x07\x00\x00" + b"\xff" * 20))
    (r,) = replies(t.transport)
    assert r.header.id == 7 and r.header.rcode == Rcode.FORMERR
    t.proto.dataReceived(b"\x00\x00")
    assert not t.transport.connected


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_tcp_arbitrary_chunks_never_raise_and_memory_stays_bounded(chunks: list[bytes]):
    t = tcp_pair()
    for chunk in chunks:
        if not t.transport.connected:
            break
        t.proto.dataReceived(chunk)
        assert len(t.proto.core._buffer) <= 2 + 65535
    for reply in replies(t.transport):
        assert reply.header.qr == 1


@given(st.binary(max_size=600))
def test_udp_arbitrary_datagrams_get_at_most_one_reply_that_parses(data: bytes):
    proto = DnsDatagramProtocol(controller())
    proto.transport = FakeUdp()
    proto.datagramReceived(data, ("192.0.2.1", 1000))
    assert len(proto.transport.sent) <= 1
    for out, _ in proto.transport.sent:
        assert len(out) <= 1232 and DNSRecord.parse(out).header.qr == 1
