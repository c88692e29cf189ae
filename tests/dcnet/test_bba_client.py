"""The broadband adapter's side of DCNet Ethernet, paired back to back with dcsim's own
server core (h11's ConnectionPair habit), checked frame by frame with scapy, fuzzed, and
then on Twisted against the real 7655 front end in virtual time: the console becomes a
host of the virtual internet and resolves a name there."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.dcnet.bba import PROLOG, BbaConfig, BbaEnd, BbaSession, RecordReader, record, subnet_for
from dcsim.dcnet.bba_client import (
    DREAMCAST_MAC,
    BbaClient,
    BbaClientConfig,
    BbaClientEnd,
    EthernetUp,
    StaticAddress,
)
from dcsim.dcnet.dhcp import DhcpMessage, MessageType
from dcsim.net.wire.ipv4 import Ipv4Repr
from dcsim.net.wire.udp import UdpRepr
from dcsim.ppp.link import DatagramReceived, LinkEnded
from dcsim.ppp.pool import AddressPool

scapy_l2 = pytest.importorskip("scapy.layers.l2")
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402

NAS = IPv4Address("198.51.100.1")
POOL = IPv4Network("198.51.100.128/25")
DNS = IPv4Address("192.0.2.53")
SERVER_MAC = "02:dc:5e:00:00:01"


class Pair:
    """The console's adapter and dcsim's Ethernet core, bytes passed both ways."""

    def __init__(self, client: BbaClientConfig | None = None, **server: object) -> None:
        self.now = 0.0
        self.pool = AddressPool(POOL, exclude=[NAS])
        config = BbaConfig(NAS, subnet_for(POOL, NAS), (DNS,), **server)  # type: ignore[arg-type]
        self.server = BbaSession(config, 0.0, pool=self.pool)
        self.client = BbaClient(client or BbaClientConfig(), 0.0, rng=random.Random(7))
        self.client_events: list[object] = []
        self.server_events: list[object] = []
        self.to_server: list[bytes] = []  # every frame the console sent
        self.lose = 0  # frames from the console to drop

    def pump(self) -> None:
        for _ in range(100):
            up, down = self.client.data_to_send(), self.server.data_to_send()
            self.client_events += self.client.events()
            self.server_events += self.server.events()
            if not up and not down:
                return
            if up:
                self._up(up)
            if down:
                self.client.receive_data(down, self.now)

    def _up(self, data: bytes) -> None:
        reader = RecordReader()
        records = reader.feed(data)
        for raw in records:
            self.to_server.append(raw)
            if raw == PROLOG or not self.lose:
                self.server.receive_data(record(raw), self.now)
            else:
                self.lose -= 1

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = [t for t in (self.client.deadline(), self.server.deadline()) if t is not None]
            if not due or min(due) > end:
                break
            self.now = max(self.now, min(due))
            self.client.handle_timer(self.now)
            self.server.handle_timer(self.now)
            self.pump()
        self.now = end

    def up(self) -> EthernetUp:
        (event,) = [e for e in self.client_events if isinstance(e, EthernetUp)]
        return event


def online() -> Pair:
    pair = Pair()
    pair.pump()
    return pair


def test_the_prolog_then_dhcp_discover_offer_request_ack() -> None:
    pair = online()
    up = pair.up()
    assert up.interface == IPv4Interface("198.51.100.129/24")
    assert up.router == NAS and up.dns == (DNS,) and up.server == NAS and up.lease == 86400
    assert pair.server.online and pair.server.address == IPv4Address("198.51.100.129")
    discover, request = (Ether(f) for f in pair.to_server[1:3])
    assert discover.src == "0c:0a:0f:0e:00:00" and discover.dst == "ff:ff:ff:ff:ff:ff"
    assert (discover[IP].src, discover[IP].dst) == ("0.0.0.0", "255.255.255.255")
    assert (discover[UDP].sport, discover[UDP].dport) == (68, 67)
    options = dict(o for o in discover[DHCP].options if isinstance(o, tuple))
    assert options["message-type"] == 1 and options["param_req_list"] == [1, 3, 6]
    assert discover[BOOTP].chaddr[:6] == DREAMCAST_MAC
    options = dict(o for o in request[DHCP].options if isinstance(o, tuple))
    assert options["message-type"] == 3
    assert options["requested_addr"] == "198.51.100.129" and options["server_id"] == str(NAS)
    assert request[BOOTP].xid == discover[BOOTP].xid


def test_ip_goes_through_arp_to_the_router_and_back() -> None:
    pair = online()
    source = pair.up().interface.ip
    datagram = Ipv4Repr(source, IPv4Address("192.0.2.20"), 17).emit(
        UdpRepr(1000, 9000, b"hi").emit(source, IPv4Address("192.0.2.20"))
    )
    assert pair.client.send_datagram(datagram, pair.now)
    pair.pump()
    arp, sent = (Ether(f) for f in pair.to_server[-2:])
    assert arp[ARP].op == 1 and arp[ARP].pdst == str(NAS) and arp[ARP].psrc == str(source)
    assert sent.dst == SERVER_MAC and bytes(sent[IP]) == datagram
    assert [e.datagram for e in pair.server_events if isinstance(e, DatagramReceived)] == [datagram]
    # the router's address is cached: the next datagram goes at once
    pair.client.send_datagram(datagram, pair.now)
    pair.pump()
    assert Ether(pair.to_server[-1]).dst == SERVER_MAC
    # and the network's answer comes up to the console's stack
    back = Ipv4Repr(IPv4Address("192.0.2.20"), source, 17).emit(
        UdpRepr(9000, 1000, b"yo").emit(IPv4Address("192.0.2.20"), source)
    )
    assert pair.server.send_datagram(back, pair.now)
    pair.pump()
    assert DatagramReceived(back) in pair.client_events


def test_the_console_answers_arp_for_its_address_only() -> None:
    pair = online()
    own = pair.up().interface.ip
    for target, answered in ((own, True), (IPv4Address("198.51.100.200"), False)):
        request = Ether(src=SERVER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
            op=1, hwsrc=SERVER_MAC, psrc=str(NAS), pdst=str(target)
        )
        pair.client.receive_data(record(bytes(request)), pair.now)
        replies = [Ether(f) for f in RecordReader().feed(pair.client.data_to_send())]
        assert bool(replies) is answered
        if answered:
            (reply,) = replies
            assert reply[ARP].op == 2 and reply[ARP].hwsrc == "0c:0a:0f:0e:00:00"
            assert reply[ARP].psrc == str(own) and reply.dst == SERVER_MAC


def test_hanging_up_releases_the_lease_and_the_server_ends_the_session() -> None:
    pair = online()
    pair.client.close(pair.now)
    pair.pump()
    release = Ether(pair.to_server[-1])
    options = dict(o for o in release[DHCP].options if isinstance(o, tuple))
    assert options["message-type"] == 7 and options["server_id"] == str(NAS)
    assert release[BOOTP].ciaddr == "198.51.100.129"
    (ended,) = [e for e in pair.server_events if isinstance(e, LinkEnded)]
    assert ended.reason is BbaEnd.RELEASED
    (mine,) = [e for e in pair.client_events if isinstance(e, LinkEnded)]
    assert mine.reason is BbaClientEnd.CLOSED and mine.cause is None
    assert pair.pool.in_use == 0


def test_lost_frames_are_sent_again_on_rfc_2131_timeouts() -> None:
    """Flycast loses the console's first frames while it connects: DHCP retries cover it."""
    pair = Pair()
    pair.lose = 2
    pair.pump()
    assert not any(isinstance(e, EthernetUp) for e in pair.client_events)
    pair.advance(3.9)
    assert len(pair.to_server) == 2  # prolog, DISCOVER
    pair.advance(0.2)  # 4 s: DISCOVER again (lost), then 8 s later the third gets through
    pair.advance(8.0)
    assert pair.up().interface.ip == IPv4Address("198.51.100.129")
    kinds = [
        DhcpMessage.parse(bytes(Ether(f)[UDP].payload)).message_type for f in pair.to_server[1:]
    ]
    assert kinds == [MessageType.DISCOVER] * 3 + [MessageType.REQUEST]


def test_no_server_answering_ends_with_server_down() -> None:
    pair = Pair()
    pair.lose = 1000
    pair.pump()
    pair.advance(200)
    (ended,) = [e for e in pair.client_events if isinstance(e, LinkEnded)]
    assert ended.reason is BbaClientEnd.NO_LEASE and ended.cause is not None
    assert ended.cause.value == 4
    assert len(pair.to_server) == 1 + 5  # the prolog, five DISCOVERs: 4+8+16+32+64 s


def test_the_lease_is_renewed_at_t1() -> None:
    pair = Pair(lease=120)
    pair.pump()
    assert pair.up().lease == 120
    pair.advance(59)
    count = len(pair.to_server)
    pair.advance(2)  # T1 = 60 s: REQUEST from the bound address, through ARP
    renew = Ether(pair.to_server[-1])
    assert len(pair.to_server) == count + 2 and renew[IP].src == "198.51.100.129"
    assert renew[IP].dst == str(NAS) and renew[BOOTP].ciaddr == "198.51.100.129"
    pair.advance(1000)
    assert not any(isinstance(e, LinkEnded) for e in pair.client_events)
    assert len([e for e in pair.client_events if isinstance(e, EthernetUp)]) == 1


def test_a_static_console_is_online_at_once_and_taken_by_the_server() -> None:
    static = StaticAddress(IPv4Interface("198.51.100.200/24"), NAS, (DNS,))
    pair = Pair(BbaClientConfig(static=static))
    pair.pump()
    assert pair.up().interface == static.interface and pair.up().lease is None
    assert len(pair.to_server) == 1  # only the prolog: no DHCP
    source = static.interface.ip
    datagram = Ipv4Repr(source, DNS, 17).emit(UdpRepr(1, 53, b"q").emit(source, DNS))
    pair.client.send_datagram(datagram, pair.now)
    pair.pump()
    assert pair.server.address == source and pair.server.online
    pair.client.close(pair.now)
    pair.pump()
    assert len(pair.to_server) == 3  # ARP, the datagram, and no RELEASE


def test_a_server_that_is_not_dcnet() -> None:
    client = BbaClient(BbaClientConfig(), 0.0, rng=random.Random(1))
    client.receive_data(b"\xff\xff" + b"x" * 10, 0.0)
    (ended,) = [e for e in client.events() if isinstance(e, LinkEnded)]
    assert ended.reason is BbaClientEnd.NOT_DCNET


def test_a_mac_must_be_unicast() -> None:
    with pytest.raises(ValueError, match="not a unicast"):
        BbaClientConfig(mac=bytes.fromhex("ffffffffffff"))


@given(st.lists(st.binary(max_size=1600), max_size=8))
def test_arbitrary_frames_from_the_server(frames: list[bytes]) -> None:
    pair = online()
    for raw in frames:
        pair.client.receive_data(record(raw), pair.now)
    list(pair.client.events())
    pair.client.data_to_send()


@given(st.binary(max_size=4000))
def test_arbitrary_stream_from_the_server(data: bytes) -> None:
    client = BbaClient(BbaClientConfig(), 0.0, rng=random.Random(1))
    client.receive_data(data, 0.0)
    assert len(client.reader._buffer) <= 1602
    list(client.events())


@given(st.lists(st.binary(min_size=20, max_size=1600), max_size=8))
def test_arbitrary_datagrams_from_the_console(datagrams: list[bytes]) -> None:
    pair = online()
    for datagram in datagrams:
        pair.client.send_datagram(datagram, pair.now)
    pair.advance(10)
    assert not pair.client._pending


# --- the Twisted edge, against dcsim's 7655 front end in virtual time ----------------------


def test_the_console_is_a_host_of_the_virtual_internet_and_releases_its_lease() -> None:
    from twisted.names import client

    from dcsim.dcnet.sessionlog import End, EndedBy, Link
    from tests.dcnet.sessions import Dcnet

    dcnet = Dcnet()
    console = dcnet.bba_console(peer="10.9.8.7")
    box: list = []
    console.up.addBoth(box.append)
    dcnet.run(5)
    (up,) = box
    assert isinstance(up, EthernetUp) and up.interface == IPv4Interface("198.51.100.129/24")
    assert console.host.interfaces["eth0"].address == up.interface
    resolver = client.Resolver(servers=[(str(up.dns[0]), 53)], reactor=console.host)
    answers: list = []
    resolver.lookupAddress("pso01.dricas.ne.jp").addBoth(answers.append)
    dcnet.run(5)
    (answer,) = answers
    assert answer[0][0].payload.dottedQuad() == "192.0.2.20"
    console.hang_up()
    ended: list = []
    console.ended.addBoth(ended.append)
    dcnet.run(5)
    assert ended[0].reason is BbaClientEnd.CLOSED and "eth0" not in console.host.interfaces
    (report,) = dcnet.front.ethernet.reports
    assert report.reason is BbaEnd.RELEASED and report.mac == "0c:0a:0f:0e:00:00"
    record = dcnet.record()
    assert (record.link, record.end, record.ended_by) == (
        Link.ETHERNET,
        End.DHCP_RELEASE,
        EndedBy.CONSOLE,
    )
    assert record.peer_host == "10.9.8.7" and record.datagrams_from_console >= 1
    assert record.requested == {"DHCP": ["parameters 1,3,6"]}
    assert not dcnet.nas.subscribers
