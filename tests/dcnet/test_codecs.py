"""Ethernet, ARP and DHCP codecs: round trips, scapy's view of what we build, and
arbitrary bytes raising only their own errors."""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.dcnet.dhcp import DhcpError, DhcpMessage, MessageType, Op, Opt
from dcsim.dcnet.ethernet import (
    ArpOperation,
    ArpPacket,
    EthernetError,
    EthernetFrame,
    EtherType,
    mac_from_text,
    mac_text,
)

MAC = bytes.fromhex("0c0a0f0e0000")


def test_ethernet_round_trip_and_vlan() -> None:
    frame = EthernetFrame(b"\xff" * 6, MAC, EtherType.ARP, b"x" * 28)
    assert EthernetFrame.parse(frame.pack()) == frame
    tagged = frame.pack()[:12] + b"\x81\x00\x00\x05" + frame.pack()[12:]
    assert EthernetFrame.parse(tagged) == frame
    with pytest.raises(EthernetError):
        EthernetFrame.parse(frame.pack()[:12] + b"\x00\x40" + b"llc")
    assert mac_text(MAC) == "0c:0a:0f:0e:00:00" and mac_from_text("0c:0a:0f:0e:00:00") == MAC


def test_arp_matches_scapy() -> None:
    scapy_l2 = pytest.importorskip("scapy.layers.l2")
    arp = ArpPacket(
        ArpOperation.REQUEST,
        MAC,
        IPv4Address("198.51.100.129"),
        bytes(6),
        IPv4Address("198.51.100.1"),
    )
    theirs = scapy_l2.ARP(arp.pack())
    assert (theirs.op, theirs.hwsrc, theirs.psrc, theirs.pdst) == (
        1,
        "0c:0a:0f:0e:00:00",
        "198.51.100.129",
        "198.51.100.1",
    )
    assert ArpPacket.parse(bytes(theirs)) == arp


def test_dhcp_matches_scapy() -> None:
    scapy_dhcp = pytest.importorskip("scapy.layers.dhcp")
    message = DhcpMessage(
        Op.BOOTREPLY,
        0x1234,
        MAC,
        ((Opt.MESSAGE_TYPE, bytes((MessageType.OFFER,))), (Opt.DNS, bytes([192, 0, 2, 53]))),
        yiaddr=IPv4Address("198.51.100.129"),
    )
    theirs = scapy_dhcp.BOOTP(message.pack())
    assert theirs.xid == 0x1234 and theirs.yiaddr == "198.51.100.129"
    options = dict(o for o in theirs[scapy_dhcp.DHCP].options if isinstance(o, tuple))
    assert options["message-type"] == 2 and options["name_server"] == "192.0.2.53"
    assert DhcpMessage.parse(message.pack()) == message


@given(st.binary(max_size=700))
def test_arbitrary_bytes(data: bytes) -> None:
    for parse, error in (
        (EthernetFrame.parse, EthernetError),
        (ArpPacket.parse, EthernetError),
        (DhcpMessage.parse, DhcpError),
    ):
        with contextlib.suppress(error):
            parse(data)


@given(st.binary(max_size=400))
def test_arbitrary_dhcp_options(options: bytes) -> None:
    base = DhcpMessage(Op.BOOTREQUEST, 1, MAC).pack()[:240]
    try:
        message = DhcpMessage.parse(base + options)
    except DhcpError:
        return
    assert message.message_type is None or 0 <= message.message_type <= 255
