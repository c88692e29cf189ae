"""The wire layer: every kind of bad input is one Malformed; encoding truncates per RFC 2181."""

from __future__ import annotations

import struct

import pytest
from dnslib import QTYPE, RR, TXT, A, DNSRecord
from hypothesis import given
from hypothesis import strategies as st

from dcsim.dns import message
from dcsim.dns.message import Malformed
from tests.dns.helpers import query, wire

HEADER = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)


def test_round_trip_of_a_plain_query():
    data = wire("auth01.dricas.ne.jp.", edns=1232)
    record = message.decode(data)
    assert str(record.q.qname) == "auth01.dricas.ne.jp."
    assert message.udp_limit(record, 1232) == 1232


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x12\x34\x01", "shorter than a DNS header"),
        (HEADER, "Not enough bytes"),
        (HEADER + b"\x01a\x00\x00\x01\x00\x01junk", "after the last record"),
        (HEADER + b"\xc0\x0c\x00\x01\x00\x01", "pointer"),  # points at itself
        (HEADER + b"\xc0\x20\x00\x01\x00\x01", "pointer"),  # points forward
        (HEADER + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", "label of 64"),
        (HEADER + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01", "at most 255"),
    ],
)
def test_malformed_messages(data: bytes, words: str):
    with pytest.raises(Malformed, match=words) as info:
        message.decode(data)
    if len(data) >= 12:
        assert info.value.header is not None and info.value.header.id == 0x1234


def _pointer_chain(n: int) -> bytes:
    """n questions, each name a pointer to the previous question's name."""
    body = bytearray(b"\x00\x00\x01\x00\x01")  # question 1: the root
    offsets = [12]
    for _ in range(n - 1):
        offsets.append(12 + len(body))
        body += struct.pack("!H", 0xC000 | offsets[-2]) + b"\x00\x01\x00\x01"
    return struct.pack("!HHHHHH", 1, 0, n, 0, 0, 0) + bytes(body)


def test_chained_compression_pointers_cost_bounded_work():
    assert len(message.decode(_pointer_chain(12)).questions) == 12
    with pytest.raises(Malformed, match="compression pointers"):
        message.decode(_pointer_chain(3000))


def test_no_edns_means_512_and_small_payloads_count_as_512():
    assert message.udp_limit(query("a.example."), 1232) == 512
    assert message.udp_limit(query("a.example.", edns=100), 1232) == 512
    assert message.udp_limit(query("a.example.", edns=4096), 1232) == 1232


def _big_reply(n: int, additional: int = 0) -> DNSRecord:
    reply = query("big.example.").reply()
    for i in range(n):
        reply.add_answer(RR("big.example.", QTYPE.TXT, rdata=TXT("x" * 200 + str(i)), ttl=60))
    for i in range(additional):
        reply.add_ar(RR(f"h{i}.example.", QTYPE.A, rdata=A("192.0.2.1"), ttl=60))
    return reply


def test_encode_fits_or_sets_tc_with_empty_sections():
    small = message.encode(_big_reply(2), 512)
    assert len(small) <= 512 and not DNSRecord.parse(small).header.tc
    big = DNSRecord.parse(message.encode(_big_reply(5), 512))
    assert big.header.tc and not big.rr and big.q.qname == "big.example."


def test_encode_drops_additional_before_setting_tc():
    reply = DNSRecord.parse(message.encode(_big_reply(2, additional=20), 512))
    assert not reply.header.tc and len(reply.rr) == 2 and not reply.ar


@given(st.binary(max_size=600))
def test_arbitrary_bytes_decode_or_raise_malformed(data: bytes):
    try:
        record = message.decode(data)
    except Malformed as e:
        assert e.detail
        return
    assert len(record.questions) == record.header.q


@given(st.binary(min_size=12, max_size=300))
def test_arbitrary_bodies_behind_a_valid_header(body: bytes):
    data = HEADER + body
    try:
        message.decode(data)
    except Malformed as e:
        assert e.header is not None and e.header.id == 0x1234
