"""RFC 1662 framing: FCS check values, escaping, shared flags, aborts, bounds."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.ppp.hdlc import (
    ALL_CONTROL,
    DEFAULT_MAX_FRAME,
    Deframer,
    encode_frame,
    escape,
    fcs16,
    fcs16_ok,
    fcs32,
    fcs32_ok,
)


def reference_fcs16(data: bytes) -> int:
    """RFC 1662 §C.2, bit by bit (an independent implementation to check ours against)."""
    fcs = 0xFFFF
    for octet in data:
        fcs ^= octet
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs ^ 0xFFFF


def test_fcs16_check_value() -> None:
    # CRC-16/X-25 (the PPP FCS-16) of "123456789" is 0x906E
    assert fcs16(b"123456789") == 0x906E


def test_fcs32_check_value() -> None:
    assert fcs32(b"123456789") == 0xCBF43926


@given(st.binary(max_size=300))
def test_fcs16_matches_the_rfc_algorithm(data: bytes) -> None:
    assert fcs16(data) == reference_fcs16(data)
    assert fcs16_ok(data + fcs16(data).to_bytes(2, "little"))


@given(st.binary(max_size=300))
def test_fcs32_good_residue(data: bytes) -> None:
    assert fcs32_ok(data + zlib.crc32(data).to_bytes(4, "little"))


# An LCP Configure-Request {ACCM 0, Magic 0x12345678} as RFC 1662 puts it on the wire
# (every control octet escaped, FCS-16 0xF0A4 low octet first), written out by hand.
LCP_REQUEST = bytes.fromhex("ff03c021 01010010 020600000000 050612345678")
LCP_REQUEST_WIRE = bytes.fromhex(
    "7e ff 7d23 c0 21 7d21 7d21 7d20 7d30 7d22 7d26 7d20 7d20 7d20 7d20 7d25 7d26"
    " 7d32 34 56 78 a4 f0 7e"
)


def test_encode_escapes_every_control_octet_by_default() -> None:
    wire = encode_frame(LCP_REQUEST)
    assert wire == LCP_REQUEST_WIRE
    body = wire[1:-1]
    assert not any(b < 0x20 for b in body)
    assert Deframer().feed(wire) == [LCP_REQUEST]


def test_escape_with_accm_zero_escapes_only_flag_and_escape() -> None:
    assert escape(b"\x01\x7e\x7d\x11", 0) == b"\x01\x7d\x5e\x7d\x5d\x11"
    assert escape(b"\x01\x11", 1 << 0x11) == b"\x01\x7d\x31"


def test_frames_sharing_one_flag() -> None:
    a, b = b"\xff\x03\x00\x21abc", b"\xff\x03\x00\x21defg"
    wire_a, wire_b = encode_frame(a, accm=0), encode_frame(b, accm=0)
    shared = wire_a + wire_b[1:]  # the closing flag of a opens b
    assert Deframer().feed(shared) == [a, b]


def test_flag_fill_between_frames_is_ignored() -> None:
    a = b"\xff\x03\x00\x21abc"
    d = Deframer()
    assert d.feed(b"\x7e\x7e\x7e" + encode_frame(a) + b"\x7e\x7e") == [a]
    assert d.counters.too_short == 0 and d.counters.bad_fcs == 0


def test_abort_sequence_drops_the_frame() -> None:
    a = b"\xff\x03\x00\x21abc"
    d = Deframer()
    assert d.feed(b"\x7eabc\x7d\x7e" + encode_frame(a)) == [a]
    assert d.counters.aborted == 1


def test_bad_fcs_is_counted_and_dropped() -> None:
    good = encode_frame(b"\xff\x03\x00\x21hello", accm=0)
    bad = good[:5] + bytes((good[5] ^ 1,)) + good[6:]
    d = Deframer()
    assert d.feed(bad + good) == [b"\xff\x03\x00\x21hello"]
    assert d.counters.bad_fcs == 1


def test_runt_frames_are_counted() -> None:
    d = Deframer()
    assert d.feed(b"\x7e\x01\x02\x7e") == []
    assert d.counters.too_short == 1


def test_oversized_frame_is_dropped_and_the_next_one_survives() -> None:
    d = Deframer(max_frame=100)
    small = b"\xff\x03\x00\x21ok"
    assert d.feed(encode_frame(b"\xff\x03\x00\x21" + bytes(97), accm=0) + encode_frame(small)) == [
        small
    ]
    assert d.counters.too_long == 1
    # an endless frame never grows the buffer beyond the limit
    d.feed(b"\x7e" + b"\x55" * 10_000)
    assert d.buffered == 0
    assert d.feed(b"\x55" * 100 + encode_frame(small)) == [small]
    assert d.counters.too_long == 2


def test_byte_by_byte_feeding() -> None:
    frames = [b"\xff\x03\xc0\x21" + bytes(range(40)), b"\x21" + b"\x7e\x7d" * 5]
    wire = b"".join(encode_frame(f, accm=ALL_CONTROL) for f in frames)
    d = Deframer()
    got = []
    for i in range(len(wire)):
        got += d.feed(wire[i : i + 1])
    assert got == frames


def test_fcs32_frames() -> None:
    frame = b"\xff\x03\x00\x21" + bytes(range(256))
    d = Deframer()
    d.expect_fcs32 = True
    assert d.feed(encode_frame(frame, use_fcs32=True)) == [frame]
    # during the switch either FCS is accepted
    assert d.feed(encode_frame(frame)) == [frame]


@given(
    st.lists(st.binary(min_size=2, max_size=200), max_size=8),
    st.sampled_from([0, ALL_CONTROL, 0x000A0000]),
    st.booleans(),
    st.data(),
)
def test_round_trip_in_arbitrary_chunks(
    frames: list[bytes], accm: int, use_fcs32: bool, data: st.DataObject
) -> None:
    wire = b"".join(encode_frame(f, accm=accm, use_fcs32=use_fcs32) for f in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    d = Deframer()
    d.expect_fcs32 = use_fcs32
    got: list[bytes] = []
    start = 0
    for cut in [*cuts, len(wire)]:
        got += d.feed(wire[start:cut])
        start = cut
    assert got == frames


@given(st.lists(st.binary(max_size=3000), max_size=10))
def test_arbitrary_bytes_never_raise_and_stay_bounded(chunks: list[bytes]) -> None:
    d = Deframer()
    for chunk in chunks:
        for frame in d.feed(chunk):
            assert len(frame) <= DEFAULT_MAX_FRAME
        assert d.buffered <= 2 * (DEFAULT_MAX_FRAME + 4)


@pytest.mark.parametrize("accm", [0, ALL_CONTROL])
def test_encoded_frames_contain_no_inner_flag(accm: int) -> None:
    wire = encode_frame(bytes(range(256)) * 2, accm=accm)
    assert wire.count(b"\x7e") == 2
