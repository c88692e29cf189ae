"""The DC command header and the decoder: whole commands out, bad sizes refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.pso.cipher import V2Cipher
from dcsim.pso.framing import MAX_COMMAND_SIZE, Decoder, Frame, FrameError, encode


def test_encode_pads_to_four_and_counts_the_header():
    assert encode(0x90, 1, b"") == bytes.fromhex("90010400")
    assert encode(0x06, 0, b"abcde") == bytes.fromhex("06000c00") + b"abcde\0\0\0"
    assert encode(0x90, 0, bytes(0x22), pad=False)[:4] == bytes.fromhex("90002600")


def test_decoder_in_clear_and_byte_by_byte():
    data = encode(0x17, 0, b"x" * 0x4C) + encode(0x1D, 0, b"")
    d = Decoder()
    frames = []
    for i in range(len(data)):
        d.feed(data[i : i + 1])
        while (f := d.next_frame()) is not None:
            frames.append(f)
    assert frames == [Frame(0x17, 0, b"x" * 0x4C), Frame(0x1D, 0, b"")]
    assert d.buffered == 0


def test_decoder_with_cipher():
    wire = encode(0x61, 1, bytes(range(256)) * 4, V2Cipher(9)) + encode(0x99, 0, b"", V2Cipher(9))
    d = Decoder()
    d.cipher = V2Cipher(9)
    d.feed(wire[: 4 + 1024])
    assert d.next_frame() == Frame(0x61, 1, bytes(range(256)) * 4)


def test_the_unpadded_jp_v1_check_with_and_without_round_up():
    """JP v1's 90 is 0x26 bytes on the wire; the next command decrypts only if the
    decoder rounds up the keystream like the client did."""
    client = V2Cipher(0xABCDEF)
    wire = encode(0x90, 0, b"S" * 0x22, client, pad=False) + encode(0x93, 0, bytes(0xAC), client)
    assert len(wire) == 0x26 + 0xB0
    for round_up, second in ((True, 0x93), (False, None)):
        d = Decoder(round_up=round_up)
        d.cipher = V2Cipher(0xABCDEF)
        d.feed(wire)
        assert d.next_frame() == Frame(0x90, 0, b"S" * 0x22)
        try:
            frame = d.next_frame()
        except FrameError:
            frame = None
        if second is None:
            assert frame is None or frame.command != 0x93 or frame.body != bytes(0xAC)
        else:
            assert frame == Frame(0x93, 0, bytes(0xAC))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("90000200", "smaller than its own header"),
        ("6100ffff", "over the limit of 0x7C00"),
    ],
)
def test_impossible_sizes_are_refused_at_once(header, message):
    d = Decoder()
    d.feed(bytes.fromhex(header))
    with pytest.raises(FrameError, match=message):
        d.next_frame()


def test_a_lower_limit():
    d = Decoder(max_size=0x100)
    d.feed(encode(0x61, 1, bytes(0x200)))
    with pytest.raises(FrameError, match="0x204"):
        d.next_frame()


def test_encode_refuses_oversize():
    with pytest.raises(ValueError, match="exceeds"):
        encode(0x13, 0, bytes(MAX_COMMAND_SIZE))


@given(st.binary(max_size=4096), st.integers(0, 0xFFFFFFFF))
def test_arbitrary_bytes_never_raise_anything_else(data, key):
    d = Decoder(max_size=0x800)
    d.cipher = V2Cipher(key)
    d.feed(data)
    try:
        while d.next_frame() is not None:
            pass
    except FrameError:
        return
    assert d.buffered < 0x800  # a partial command is never larger than the limit


def _stream(key: int) -> tuple[bytes, list[Frame]]:
    """A clear 02 (its keys), then three encrypted commands, one larger than a segment."""
    cipher = V2Cipher(key)
    bodies = [(0x67, 3, bytes(range(256)) * 12), (0x60, 0, b"\x01" * 40), (0x1D, 0, b"")]
    wire = encode(0x02, 0, b"k" * 0x44)
    for command, flag, body in bodies:
        wire += encode(command, flag, body, cipher)
    return wire, [Frame(0x02, 0, b"k" * 0x44), *(Frame(*b) for b in bodies)]


def _decode_in_segments(mss: int, segment_words: bool) -> tuple[list[Frame], Decoder]:
    wire, _ = _stream(77)
    d = Decoder(segment_words=segment_words)
    frames = []
    for i in range(0, len(wire), mss):
        d.feed(wire[i : i + mss])
        try:
            while (f := d.next_frame()) is not None:
                frames.append(f)
                if f.command == 0x02:
                    d.cipher = V2Cipher(77)
        except FrameError:
            break
    return frames, d


@pytest.mark.parametrize("mss", [1460, 1412, 536, 4])
def test_word_granular_decryption_is_harmless_while_segments_are_whole_words(mss):
    """failure2006.md M4a: every PSO command is a multiple of 4 bytes, so segments of an
    MSS that is one (1460, 1412) always end on a word and nothing goes wrong."""
    frames, d = _decode_in_segments(mss, segment_words=True)
    assert frames == _stream(77)[1]
    assert d.misaligned == []


@pytest.mark.parametrize("mss", [1414, 1454, 537])
def test_word_granular_decryption_garbles_after_a_segment_that_is_not_whole_words(mss):
    """With an MSS that is not a multiple of 4 (1454 - 40 = 1414 behind a Flet's PPPoE
    router), the first segment that ends inside a command leaves two keystream bytes
    unused: every later command decrypts to garbage (the players' "character
    corruption")."""
    frames, d = _decode_in_segments(mss, segment_words=True)
    assert frames != _stream(77)[1]
    assert d.misaligned and all(n % 4 for n in d.misaligned)
    whole, _ = _decode_in_segments(mss, segment_words=False)
    assert whole == _stream(77)[1]  # decrypting whole commands does not care
