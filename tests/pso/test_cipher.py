"""The PSO V2 cipher: the research notes' vectors, the closed form, and a literal
re-implementation of the description (shared/research/pso_servers.md section 4.2)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.pso.cipher import PAGE_BYTES, TABLE_BYTES, V2Cipher, first_word

VECTORS = {
    0x00000000: (0x61E68846, 0xC3949451, 0xB542A6A0),
    0x00000001: (0x28C333BC, 0xC9D0F134, 0x3B21BC57),
    0x346D925E: (0x39F4C99A, 0x235F25AB, 0x8279FDD2),
    0xF481F23B: (0xAF4D9878, 0x6DAF92A2, 0xCF6AA5CD),
    0x12345678: (0xDAE88B96, 0xCB3060B9, 0xAE4C4E68),
}
M = 0xFFFFFFFF


def reference_keystream(seed: int, count: int) -> list[int]:
    """The description, step by step, with 1-based indices and no shortcuts."""
    s = [0] * 56
    s[55] = seed
    a, b = 1, seed
    for i in range(21, 21 * 55, 21):
        s[i % 55] = a
        a, b = (b - a) & M, a

    def mix() -> None:
        for k in range(1, 25):
            s[k] = (s[k] - s[k + 31]) & M
        for k in range(25, 56):
            s[k] = (s[k] - s[k - 24]) & M

    for _ in range(5):
        mix()
    out, idx = [], 1
    for _ in range(count):
        if idx == 56:
            mix()
            idx = 1
        out.append(s[idx])
        idx += 1
    return out


@pytest.mark.parametrize(("seed", "words"), VECTORS.items())
def test_vectors_from_the_notes(seed, words):
    cipher = V2Cipher(seed)
    assert tuple(cipher.next_word() for _ in range(3)) == words
    assert first_word(seed) == words[0]


@given(st.integers(0, M))
def test_closed_form_and_reference_agree(seed):
    expected = reference_keystream(seed, 200)  # several re-mixes
    assert V2Cipher(seed).keystream(800) == struct.pack("<200I", *expected)
    assert first_word(seed) == expected[0]


@given(st.integers(0, M), st.lists(st.binary(max_size=300), max_size=8))
def test_encrypt_then_decrypt_in_any_chunks(seed, chunks):
    enc, dec = V2Cipher(seed), V2Cipher(seed)
    for chunk in chunks:
        padded = chunk + bytes(-len(chunk) % 4)
        assert dec.apply(enc.apply(padded)) == padded


def test_a_partial_word_uses_a_whole_keystream_word_when_rounding_up():
    a, b = V2Cipher(5), V2Cipher(5)
    a.apply(bytes(0x22))  # JP v1's 90 body
    b.apply(bytes(0x24))
    assert a.next_word() == b.next_word()


def test_without_rounding_up_the_stream_is_two_bytes_behind():
    a, b = V2Cipher(5), V2Cipher(5)
    a.apply(bytes(0x22), round_up=False)
    b.apply(bytes(0x24))
    assert a.next_word() != b.next_word()
    c = V2Cipher(5)
    c.keystream(0x22)
    d = V2Cipher(5)
    d.apply(bytes(0x22), round_up=False)
    assert c.keystream(8) == d.keystream(8)


def reference_bytes(seed: int, length: int) -> bytes:
    words = reference_keystream(seed, (length + 3) // 4)
    return struct.pack(f"<{len(words)}I", *words)[:length]


#: One call on a cipher: ("apply", length, round_up) or ("keystream", length, False).
CALLS = st.tuples(
    st.sampled_from(["apply", "apply", "keystream"]),
    st.one_of(st.integers(0, 16), st.integers(0, 2 * PAGE_BYTES + 8)),
    st.booleans(),
)


def check_calls(seed: int, calls: list[tuple[str, int, bool]], data_seed: int = 0) -> None:
    """Run *calls* on the fast cipher and check each answer against the reference."""
    total = sum(n + 3 for _, n, _ in calls)
    expected = reference_bytes(seed, total)
    cipher = V2Cipher(seed)
    position = 0
    for i, (kind, n, round_up) in enumerate(calls):
        stream = expected[position : position + n]
        if kind == "keystream":
            assert cipher.keystream(n) == stream, (i, position, n)
            position += n
            continue
        data = bytes((data_seed + i + j) & 0xFF for j in range(n))
        want = bytes(a ^ b for a, b in zip(data, stream, strict=True))
        assert cipher.apply(data, round_up) == want, (i, position, n, round_up)
        position += n + ((-n & 3) if round_up else 0)


@given(st.integers(0, M), st.lists(CALLS, max_size=8), st.integers(0, 255))
def test_the_fast_keystream_is_the_reference_for_any_calls(seed, calls, data_seed):
    """Any key, any lengths (page boundaries crossed at any byte), with and without
    rounding up: the fast cipher gives the reference keystream, byte for byte."""
    check_calls(seed, calls, data_seed)


@pytest.mark.parametrize("seed", [0, 0xF481F23B, M])
def test_past_the_tables_the_stream_goes_on_from_the_generator(seed):
    """The tables cover the first TABLE_BYTES of a stream; after that the cipher runs
    the generator from the state where they end, without a seam."""
    calls = [("apply", TABLE_BYTES - 6, False), ("apply", 0x26, True), ("keystream", 5, False)]
    calls += [("apply", PAGE_BYTES + 9, i % 2 == 0) for i in range(5)]
    check_calls(seed, calls)


def test_key_out_of_range():
    with pytest.raises(ValueError, match="32-bit"):
        V2Cipher(1 << 32)
