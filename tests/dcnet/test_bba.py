"""DCNet Ethernet (TCP 7655): records and prolog, ARP, DHCP from DISCOVER to RELEASE, IP to
the NAS. The console's packets are built by scapy, an implementation nobody here wrote."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import task
from twisted.internet.testing import StringTransport

from dcsim.causes import Cause
from dcsim.dcnet.bba import (
    PROLOG,
    BbaConfig,
    BbaEnd,
    BbaSession,
    Online,
    RecordError,
    RecordReader,
    record,
    subnet_for,
)
from dcsim.dcnet.dhcp import DhcpMessage, MessageType
from dcsim.dcnet.ethernet_server import EthernetServer
from dcsim.dcnet.internet import build_internet
from dcsim.net.clock import run
from dcsim.pcap import LinkType, PcapWriter
from dcsim.ppp.link import DatagramReceived, LinkEnded
from dcsim.ppp.pool import AddressPool
from dcsim.ppp.settings import PppSettings
from dcsim.settings import Settings
from tests.peers import require_program

scapy_l2 = pytest.importorskip("scapy.layers.l2")
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402

CONSOLE_MAC = "0c:0a:0f:0e:00:00"  # Flycast's emulated RTL8139
NAS = IPv4Address("198.51.100.1")
POOL = IPv4Network("198.51.100.128/25")
DNS = IPv4Address("192.0.2.53")


def config(**kwargs: object) -> BbaConfig:
    return BbaConfig(router=NAS, network=subnet_for(POOL, NAS), dns=(DNS,), **kwargs)


def session(**kwargs: object) -> BbaSession:
    s = BbaSession(config(**kwargs), 0.0, pool=AddressPool(POOL, exclude=[NAS]))
    s.receive_data(record(PROLOG), 0.0)
    return s


def dhcp(kind: str, xid: int = 0x1234, **options: object) -> bytes:
    mac = bytes.fromhex(CONSOLE_MAC.replace(":", ""))
    opts = [("message-type", kind), *options.items(), "end"]
    packet = (
        Ether(src=CONSOLE_MAC, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=mac, xid=xid, flags=0)
        / DHCP(options=opts)
    )
    return bytes(packet)


def ip_frame(datagram: bytes) -> bytes:
    return bytes(Ether(src=CONSOLE_MAC, dst="02:dc:5e:00:00:01", type=0x0800) / datagram)


def frames_out(s: BbaSession) -> list:
    reader = RecordReader()
    return [Ether(f) for f in reader.feed(s.data_to_send())]


def dhcp_reply(frame: object) -> DhcpMessage:
    return DhcpMessage.parse(bytes(frame[UDP].payload))  # type: ignore[index]


def bound() -> tuple[BbaSession, IPv4Address]:
    s = session()
    s.receive_data(record(dhcp("discover")), 1.0)
    (offer,) = frames_out(s)
    address = IPv4Address(offer[BOOTP].yiaddr)
    s.receive_data(record(dhcp("request", requested_addr=str(address), server_id=str(NAS))), 1.0)
    (ack,) = frames_out(s)
    assert dhcp_reply(ack).message_type == MessageType.ACK
    return s, address


def test_records_are_little_endian_lengths() -> None:
    assert record(b"abc") == b"\x03\x00abc"
    reader = RecordReader()
    assert reader.feed(b"\x06\x00DCN") == []
    assert reader.feed(b"ET\x01\x01") == [PROLOG]
    assert reader.feed(b"\x00x") == [b"x"]
    with pytest.raises(RecordError):
        reader.feed(b"\xff\xff")


def test_the_prolog_comes_first() -> None:
    s = BbaSession(config(), 0.0, pool=AddressPool(POOL))
    s.receive_data(b"\x06\x00DCNET\x02", 0.0)  # version 2
    (end,) = list(s.events())
    assert isinstance(end, LinkEnded) and end.reason is BbaEnd.NOT_DCNET


def test_no_prolog_in_time() -> None:
    s = BbaSession(config(), 0.0, pool=AddressPool(POOL))
    assert s.deadline() == 3.0
    s.handle_timer(3.0)
    (end,) = list(s.events())
    assert end.reason is BbaEnd.NO_PROLOG and end.cause is Cause.NO_PHYSICAL_CONNECTION


def test_dhcp_discover_offer_request_ack() -> None:
    s = session()
    s.receive_data(record(dhcp("discover", param_req_list=[1, 3, 6, 15])), 1.0)
    (offer,) = frames_out(s)
    assert offer.src == "02:dc:5e:00:00:01" and offer.dst == CONSOLE_MAC
    options = dict(o for o in offer[DHCP].options if isinstance(o, tuple))
    assert options["message-type"] == 2
    assert options["router"] == str(NAS)
    assert options["name_server"] == str(DNS)
    assert options["subnet_mask"] == "255.255.255.0"
    assert options["server_id"] == str(NAS)
    assert options["lease_time"] == 86400
    assert offer[BOOTP].yiaddr == "198.51.100.129"
    assert offer[IP].src == str(NAS) and offer[UDP].dport == 68
    assert not list(s.events())  # not online before the ACK
    s.receive_data(
        record(dhcp("request", requested_addr="198.51.100.129", server_id=str(NAS))), 2.0
    )
    (ack,) = frames_out(s)
    assert dhcp_reply(ack).message_type == MessageType.ACK
    (online,) = list(s.events())
    assert online == Online(IPv4Address("198.51.100.129"), 1500, True)


def test_request_for_another_address_is_naked() -> None:
    s = session()
    s.receive_data(record(dhcp("request", requested_addr="198.51.100.200")), 1.0)
    (nak,) = frames_out(s)
    assert dhcp_reply(nak).message_type == MessageType.NAK


def test_arp_for_the_router_and_the_subnet_is_answered() -> None:
    s, address = bound()
    for target in (str(NAS), "198.51.100.53", "198.51.100.200"):
        s.receive_data(
            record(
                bytes(
                    Ether(src=CONSOLE_MAC, dst="ff:ff:ff:ff:ff:ff")
                    / ARP(op=1, hwsrc=CONSOLE_MAC, psrc=str(address), pdst=target)
                )
            ),
            3.0,
        )
        (reply,) = frames_out(s)
        assert reply[ARP].op == 2 and reply[ARP].psrc == target
        assert reply[ARP].hwsrc == "02:dc:5e:00:00:01" and reply[ARP].pdst == str(address)


def test_arp_probe_for_its_own_address_is_not_answered() -> None:
    s, address = bound()
    probe = Ether(src=CONSOLE_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CONSOLE_MAC, psrc="0.0.0.0", pdst=str(address)
    )
    s.receive_data(record(bytes(probe)), 3.0)
    assert frames_out(s) == []


def test_ip_goes_to_the_network_and_back() -> None:
    s, address = bound()
    list(s.events())
    datagram = bytes(IP(src=str(address), dst=str(DNS)) / UDP(sport=1024, dport=53) / b"q")
    s.receive_data(record(ip_frame(datagram)), 3)
    assert list(s.events()) == [DatagramReceived(datagram)]
    reply = bytes(IP(src=str(DNS), dst=str(address)) / UDP(sport=53, dport=1024) / b"a")
    assert s.send_datagram(reply, 3.0)
    (frame,) = frames_out(s)
    assert frame.dst == CONSOLE_MAC and bytes(frame.payload) == reply


def test_release_ends_the_session() -> None:
    s, _address = bound()
    list(s.events())
    s.receive_data(record(dhcp("release", server_id=str(NAS))), 9.0)
    (end,) = list(s.events())
    assert end.reason is BbaEnd.RELEASED and end.cause is None
    assert s.pool.in_use == 0


def test_a_static_console_is_taken_as_it_is() -> None:
    s = session()
    static = "198.51.100.200"
    datagram = bytes(IP(src=static, dst=str(DNS)) / UDP(sport=1024, dport=53) / b"q")
    s.receive_data(record(ip_frame(datagram)), 1)
    online, out = list(s.events())
    assert online == Online(IPv4Address(static), 1500, False)
    assert out == DatagramReceived(datagram)


@given(st.lists(st.binary(max_size=1600), max_size=10))
def test_arbitrary_frames(frames: list[bytes]) -> None:
    s = session()
    for frame in frames:
        s.receive_data(record(frame), 1.0)
        assert len(s.data_to_send()) < 4000
        list(s.events())


@given(st.binary(max_size=4000))
def test_arbitrary_stream(data: bytes) -> None:
    s = BbaSession(config(), 0.0, pool=AddressPool(POOL))
    s.receive_data(data, 0.0)
    assert len(s.reader._buffer) <= 1602
    list(s.events())


def test_edge_attaches_to_the_nas_and_reports_release(tmp_path: Path) -> None:
    clock = task.Clock()
    internet = build_internet(clock, Settings(), None)
    nas = internet.nas
    pool = AddressPool(nas.pool, exclude=[nas.address])
    bba = BbaConfig(nas.address, subnet_for(nas.pool, nas.address), (DNS,))
    server = EthernetServer(clock, internet.nas, bba, pool, capture_dir=tmp_path)
    reports: list = []
    server.observers.append(reports.append)
    protocol = server.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(record(PROLOG) + record(dhcp("discover")))
    protocol.dataReceived(
        record(dhcp("request", requested_addr="198.51.100.129", server_id=str(NAS)))
    )
    assert IPv4Address("198.51.100.129") in internet.nas.subscribers
    # a datagram to an address nobody has comes back as ICMP unreachable from the network
    datagram = bytes(IP(src="198.51.100.129", dst="192.0.2.99") / UDP(sport=1, dport=2))
    transport.clear()
    protocol.dataReceived(record(ip_frame(datagram)))
    run(clock, 1)
    (frame,) = [Ether(f) for f in RecordReader().feed(transport.value())]
    assert frame[IP].proto == 1  # ICMP back to the console
    protocol.dataReceived(record(dhcp("release", server_id=str(NAS))))
    (report,) = reports
    assert report.reason is BbaEnd.RELEASED and report.address == IPv4Address("198.51.100.129")
    assert report.requested == {}
    assert transport.disconnecting
    assert not internet.nas.subscribers
    capture = tmp_path / "bba-1.pcap"
    assert capture.exists()


@pytest.mark.interop
def test_tshark_decodes_the_ethernet_capture(tmp_path: Path) -> None:
    tshark = require_program("tshark", "tshark")
    s = BbaSession(config(trace=True), 0.0, pool=AddressPool(POOL, exclude=[NAS]))
    s.receive_data(record(PROLOG) + record(dhcp("discover")), 0.0)
    s.receive_data(
        record(dhcp("request", requested_addr="198.51.100.129", server_id=str(NAS))), 0.0
    )
    arp = Ether(src=CONSOLE_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=CONSOLE_MAC, psrc="198.51.100.129", pdst=str(NAS)
    )
    s.receive_data(record(bytes(arp)), 0.0)
    path = tmp_path / "bba.pcap"
    with PcapWriter.open(path, LinkType.ETHERNET) as pcap:
        for n, event in enumerate(e for e in s.events() if hasattr(e, "frame")):
            pcap.write(n * 0.01, event.frame)
    out = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-e", "frame.protocols", "-e", "_ws.malformed"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert len(out) == 6
    assert not [line for line in out if "malformed" in line]
    assert sum("dhcp" in line for line in out) == 4 and sum("arp" in line for line in out) == 2


def test_stopping_the_front_ends_terminates_ppp_politely() -> None:
    """At shutdown every PPP session gets LCP Terminate-Request before its connection
    closes (Flycast sees no carrier loss over DCNet)."""
    from dcsim.dcnet.frontends import DcnetFrontEnds
    from dcsim.dcnet.settings import DcnetSettings
    from dcsim.ppp.hdlc import Deframer
    from tests.ppp.helpers import online_client

    clock = task.Clock()
    internet = build_internet(clock, Settings(), None)
    front = DcnetFrontEnds(clock, internet.nas, PppSettings(), DcnetSettings())
    session = front.ppp.buildProtocol(None)
    client, transport = online_client(session)
    done = front.stop()
    terminate = Deframer().feed(transport.value())
    assert terminate and terminate[-1][:5] == b"\xff\x03\xc0\x21\x05"  # Terminate-Request
    assert not transport.disconnecting
    client.receive_data(transport.value(), clock.seconds())
    session.dataReceived(client.data_to_send())  # the console's Terminate-Ack
    assert transport.disconnecting
    run(clock, 10)
    assert done.called
    (report,) = front.ppp.reports
    assert report.reason.name == "CLOSED"


def test_the_7656_front_end_is_pap_only_without_echoes() -> None:
    """dcnet-ap's options.psmash (+pap -chap, lcp-echo-interval 0): Power Smash, Pro
    Yakyuu Team de Asobou Net! and Virtual-On Oratorio Tangram."""
    from dcsim.dcnet.frontends import DcnetFrontEnds
    from dcsim.dcnet.settings import DcnetSettings
    from dcsim.ppp.lcp import AuthProtocol

    clock = task.Clock()
    internet = build_internet(clock, Settings(), None)
    ppp = PppSettings(auth=["chap", "pap"], echo_interval=30)
    front = DcnetFrontEnds(clock, internet.nas, ppp, DcnetSettings())
    assert front.ppp.config.lcp.authenticate_with == (AuthProtocol.CHAP_MD5, AuthProtocol.PAP)
    assert front.ppp.config.lcp.echo_interval == 30
    assert front.ppp_7656.config.lcp.authenticate_with == (AuthProtocol.PAP,)
    assert front.ppp_7656.config.lcp.echo_interval == 0
    assert front.ppp.pool is front.ppp_7656.pool is front.ethernet.pool
