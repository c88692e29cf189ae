"""The IPv4/ICMP/UDP/TCP codecs: golden bytes both ways, malformed input, fuzzing."""

from __future__ import annotations

import contextlib
import random
from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.net.reassembly import Reassembler
from dcsim.net.wire import (
    IcmpRepr,
    IcmpType,
    Ipv4Repr,
    Ipv4View,
    TcpRepr,
    UdpRepr,
    UnreachableCode,
    WireError,
    fragment,
    internet_checksum,
    ipv4,
)
from dcsim.net.wire.tcp import ACK, SYN

SEGA = IPv4Address("192.0.2.1")
CONSOLE = IPv4Address("198.51.100.130")

# Built by scapy 2.8 (an independent encoder): IP(src, dst, id=7, flags="DF") /
# TCP(sport=1234, dport=80, seq=1000, ack=2000, flags="SA", window=65535,
# options=[("MSS", 1460)]) / b"hello"
SYN_ACK = bytes.fromhex(
    "450000310007400040064e09c0000201c633648204d20050000003e8000007d06012ffff56ae0000020405b4"
    "68656c6c6f"
)
# scapy: IP(src=SEGA, dst=CONSOLE) / UDP(sport=5, dport=53) / b"abc"
UDP_DATAGRAM = bytes.fromhex("4500001f0001000040118e16c0000201c633648200050035000b4e84616263")
# scapy: ICMP(type=3, code=4, nexthopmtu=1454) / <the first 28 bytes of SYN_ACK>
FRAG_NEEDED = bytes.fromhex(
    "0304ee43000005ae450000310007400040064e09c0000201c633648204d20050000003e8"
)


def test_checksum_matches_rfc1071_example():
    # RFC 1071 4.1: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d.
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    assert internet_checksum(b"\x00\x01\xf2") == internet_checksum(b"\x00\x01\xf2\x00")


def test_tcp_segment_parses_and_emits_the_golden_bytes():
    header, payload = ipv4.parse(SYN_ACK)
    assert header == Ipv4Repr(SEGA, CONSOLE, 6, ttl=64, ident=7, df=True)
    seg = TcpRepr.parse(payload, header.src, header.dst)
    assert seg == TcpRepr(1234, 80, 1000, 2000, SYN | ACK, 65535, b"hello", mss=1460)
    assert seg.seq_len == 6
    assert header.emit(seg.emit(SEGA, CONSOLE)) == SYN_ACK


def test_udp_datagram_parses_and_emits_the_golden_bytes():
    header, payload = ipv4.parse(UDP_DATAGRAM)
    assert header.proto == 17 and header.ident == 1
    udp = UdpRepr.parse(payload, header.src, header.dst)
    assert udp == UdpRepr(5, 53, b"abc")
    assert header.emit(udp.emit(SEGA, CONSOLE)) == UDP_DATAGRAM


def test_icmp_frag_needed_golden_bytes():
    msg = IcmpRepr.parse(FRAG_NEEDED)
    assert (msg.type, msg.code, msg.next_hop_mtu) == (
        IcmpType.DEST_UNREACHABLE,
        UnreachableCode.FRAG_NEEDED,
        1454,
    )
    assert msg.data == SYN_ACK[:28]
    assert IcmpRepr.unreachable(UnreachableCode.FRAG_NEEDED, SYN_ACK[:28], 1454).emit() == (
        FRAG_NEEDED
    )


def test_udp_zero_checksum_means_none():
    header, payload = ipv4.parse(UDP_DATAGRAM)
    unchecked = payload[:6] + b"\0\0" + payload[8:]
    assert UdpRepr.parse(unchecked, header.src, header.dst).payload == b"abc"


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (SYN_ACK[:19], "shorter than a header"),
        (b"\x65" + SYN_ACK[1:], "version 6"),
        (b"\x44" + SYN_ACK[1:], "header length 16"),
        (SYN_ACK[:2] + b"\x00\x10" + SYN_ACK[4:], "total length 16 < header"),
        (SYN_ACK[:2] + b"\x01\x00" + SYN_ACK[4:], "total length 256 but only"),
    ],
)
def test_malformed_ipv4_headers_say_where(data, where):
    with pytest.raises(WireError, match=where):
        ipv4.parse(data)


def test_bad_checksums_are_refused_unless_unchecked():
    corrupt = bytearray(SYN_ACK)
    corrupt[8] = 63  # the TTL, without fixing the header checksum
    with pytest.raises(WireError, match="ipv4: bad header checksum"):
        ipv4.parse(bytes(corrupt))
    assert ipv4.parse(bytes(corrupt), verify_checksum=False)[0].ttl == 63
    corrupt = bytearray(SYN_ACK)
    corrupt[-1] ^= 1
    header, payload = ipv4.parse(bytes(corrupt))
    with pytest.raises(WireError, match="tcp: bad checksum"):
        TcpRepr.parse(payload, header.src, header.dst)
    with pytest.raises(WireError, match="icmp: bad checksum"):
        IcmpRepr.parse(FRAG_NEEDED[:-1] + b"\0")


def test_malformed_tcp_options():
    header, payload = ipv4.parse(SYN_ACK)
    bad = bytearray(payload)
    bad[21] = 7  # MSS option length
    with pytest.raises(WireError, match="option 2 has bad length 7"):
        TcpRepr.parse(bytes(bad), header.src, header.dst, verify_checksum=False)
    bad[21] = 3
    with pytest.raises(WireError, match="MSS option length 3"):
        TcpRepr.parse(bytes(bad), header.src, header.dst, verify_checksum=False)


def test_other_tcp_options_survive_a_round_trip():
    seg = TcpRepr(1, 2, 3, 0, SYN, 1000, mss=536, options=((3, b"\x07"), (4, b"")))
    _header, payload = ipv4.parse(Ipv4Repr(SEGA, CONSOLE, 6).emit(seg.emit(SEGA, CONSOLE)))
    assert TcpRepr.parse(payload, SEGA, CONSOLE) == seg


def test_fragmentation_and_reassembly_round_trip():
    payload = bytes(random.Random(1).randbytes(3000))
    header = Ipv4Repr(SEGA, CONSOLE, 17, ident=99, options=bytes([0x82, 4, 0, 0, 7, 4, 0, 0]))
    frags = fragment(header, payload, 576)
    assert all(len(f) <= 576 for f in frags)
    views = [Ipv4View(f) for f in frags]
    assert [v.mf for v in views] == [True] * (len(frags) - 1) + [False]
    # The copied option (0x82) is in every fragment, the record-route one (7) only in the first.
    assert views[0].options == header.options
    assert all(v.options == bytes([0x82, 4, 0, 0]) for v in views[1:])
    r = Reassembler()
    order = list(reversed(frags))
    results = [r.add(*ipv4.parse(f), now=0.0) for f in order]
    assert results[:-1] == [None] * (len(frags) - 1)
    whole_header, whole = results[-1]
    assert whole == payload
    assert whole_header == replace(header, mf=False)
    assert len(r) == 0 and r.held == 0


def test_reassembly_times_out_and_bounds_memory():
    payload = bytes(2000)
    frags = fragment(Ipv4Repr(SEGA, CONSOLE, 17, ident=1), payload, 576)
    r = Reassembler(timeout=30, max_bytes=1500)
    r.add(*ipv4.parse(frags[0]), now=0.0, datagram=frags[0])
    assert r.deadline() == 30
    assert r.expire(29.9) == []
    [expired] = r.expire(30.0)
    assert expired.first_fragment == frags[0]
    for i in range(5):  # five other datagrams, 552 bytes each: the oldest make room
        header, data = ipv4.parse(frags[0])
        r.add(replace(header, ident=100 + i), data, now=40.0)
    assert r.held <= 1500 and len(r) == 2


def test_df_datagrams_are_not_fragmented():
    with pytest.raises(ValueError, match="DF"):
        fragment(Ipv4Repr(SEGA, CONSOLE, 6, df=True), bytes(2000), 576)


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_escape_as_other_exceptions(data):
    for decode in (
        lambda d: ipv4.parse(d),
        lambda d: IcmpRepr.parse(d),
        lambda d: UdpRepr.parse(d, SEGA, CONSOLE),
        lambda d: TcpRepr.parse(d, SEGA, CONSOLE),
        lambda d: TcpRepr.parse(d, SEGA, CONSOLE, verify_checksum=False),
        lambda d: UdpRepr.parse(d, SEGA, CONSOLE, verify_checksum=False),
    ):
        with contextlib.suppress(WireError):
            decode(data)


@given(st.binary(min_size=20, max_size=600), st.integers(0, 40))
def test_mutated_valid_datagrams_decode_or_raise_wire_error(tail, flips):
    data = bytearray(SYN_ACK + tail)
    rng = random.Random(flips)
    for _ in range(flips):
        data[rng.randrange(len(data))] = rng.randrange(256)
    try:
        header, payload = ipv4.parse(bytes(data), verify_checksum=False)
        TcpRepr.parse(payload, header.src, header.dst, verify_checksum=False)
    except WireError:
        pass


@given(st.lists(st.binary(min_size=20, max_size=200), max_size=50))
def test_reassembler_memory_stays_bounded_on_garbage(frags):
    r = Reassembler(max_bytes=1000)
    for i, f in enumerate(frags):
        try:
            header, payload = ipv4.parse(f, verify_checksum=False)
        except WireError:
            continue
        r.add(header, bytes(payload), now=float(i))
        assert r.held <= 1000
