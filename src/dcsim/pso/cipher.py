"""The "PSO V2" stream cipher of Dreamcast PSO (v1, v2 and the prototypes).

Each direction of a connection has its own cipher, seeded by a 32-bit key that the
server hands out in the clear in its first command (17 or 02): ``server_key`` for what
the server sends, ``client_key`` for what the client sends. The keystream is a
subtractive lagged-Fibonacci generator over 32-bit words (55 words of state); data is
XORed with it one little-endian word at a time, so encryption and decryption are the
same operation.

The description follows shared/research/pso_servers.md section 4.2 (re-derived from
newserv's ``PSOV2Encryption``, written afresh here). The first keystream word has the
closed form ``0xC6DCAB76 * seed - 0x9E1977BA (mod 2**32)``; the tests check both.

The cipher is word-based: a command whose length is not a multiple of 4 (JP DC v1 sends
its 90 with size 0x26) still uses up a whole keystream word for its last 1-3 bytes on the
client. :meth:`V2Cipher.apply` therefore rounds up by default and discards the unused
keystream bytes; with ``round_up=False`` it keeps them for the next call, which is what a
byte-stream implementation of the same cipher does, and which leaves the two directions'
keystreams out of step after such a command.

How it is computed fast
-----------------------
Every step of the generator, from the key schedule through the re-mixes, adds and
subtracts words modulo 2**32, and the seed enters the key schedule only as one more
word. So keystream word *n* is an affine function of the seed, the same for every key:
``word[n] = A[n] * seed + B[n] (mod 2**32)``, where ``B`` is the keystream of seed 0 and
``A`` the difference between the keystreams of seeds 1 and 0 (``A[0] = 0xC6DCAB76``
gives the closed form above). :class:`_Tables` keeps ``A`` and ``B`` for the first
:data:`TABLE_BYTES` of every stream, each word in a 64-bit lane of a big int, so that
one multiplication by the seed and one addition compute hundreds of keystream words at
once (``A * seed + B`` is below 2**64, so no lane carries into the next); the low 32 bits
of each lane are the words. A login never gets past the tables; a stream that does
(a long lobby session) goes on from the state at the tables' end with the re-mix of
:func:`_mix`, the generator itself.
"""

from __future__ import annotations

import struct
from array import array

_MASK = 0xFFFFFFFF
_STATE_WORDS = 55
_PACK = struct.Struct("<55I")
_BLOCK = 4 * _STATE_WORDS
#: Typecode of a 4-byte array item: the tables move whole words around as raw bytes.
_WORD = "I"
assert array(_WORD).itemsize == 4


def _lane_masks(n: int) -> tuple[int, int, int, int, int]:
    """Masks for subtracting *n* 32-bit lanes packed in an int, lane by lane.

    Even and odd lanes are subtracted separately: with its neighbours cleared, a lane
    has room above it for a guard bit (2**32), so ``x + 2**32 - y`` never borrows from
    the next lane, and the low 32 bits are ``x - y`` modulo 2**32."""
    even = sum(_MASK << (64 * j) for j in range((n + 1) // 2)) & ((1 << (32 * n)) - 1)
    odd = (even << 32) & ((1 << (32 * n)) - 1)
    guard_even = sum(1 << (64 * j + 32) for j in range((n + 1) // 2))
    return even, odd, guard_even, guard_even << 32, (1 << (32 * n)) - 1


_L24 = _lane_masks(24)
_L7 = _lane_masks(7)
_ALL = (1 << (32 * _STATE_WORDS)) - 1
_KEEP_1_24 = _ALL & ~_L24[4]  # everything but words 1..24
_KEEP_25_48 = _ALL & ~(_L24[4] << (32 * 24))
_KEEP_49_55 = _ALL & ~(_L7[4] << (32 * 48))


def _sub(x: int, y: int, masks: tuple[int, int, int, int, int]) -> int:
    even, odd, guard_even, guard_odd, _ = masks
    e = ((x & even) | guard_even) - (y & even)
    o = ((x & odd) | guard_odd) - (y & odd)
    return (e & even) | (o & odd)


def _mix(state: int) -> int:
    """One re-mix of the 55-word state, packed little-endian in an int (word k of the
    description at bits 32*(k-1)): words 1..24 -= words 32..55, then words 25..55 -=
    words 1..31 as just updated (in two steps, 25..48 and 49..55)."""
    f24, f7 = _L24[4], _L7[4]
    low = _sub(state & f24, (state >> (32 * 31)) & f24, _L24)
    state = (state & _KEEP_1_24) | low
    mid = _sub((state >> (32 * 24)) & f24, low, _L24)
    state = (state & _KEEP_25_48) | (mid << (32 * 24))
    high = _sub((state >> (32 * 48)) & f7, (state >> (32 * 24)) & f7, _L7)
    return (state & _KEEP_49_55) | (high << (32 * 48))


def _initial_state(seed: int) -> int:
    """The state after the key schedule and its five re-mixes: the first 55 keystream
    words, packed as for :func:`_mix`."""
    words = [0] * (_STATE_WORDS + 1)  # 1-based, as in the description
    words[_STATE_WORDS] = seed
    a, b = 1, seed
    for i in range(21, 21 * 55, 21):
        words[i % _STATE_WORDS] = a
        a, b = (b - a) & _MASK, a
    state = int.from_bytes(_PACK.pack(*words[1:]), "little")
    for _ in range(5):
        state = _mix(state)
    return state


# --- the affine tables -------------------------------------------------------------

#: Keystream words per page: 4 states of 55 words (880 bytes). A cipher computes a
#: page at a time and keeps the page it is in.
PAGE_WORDS = 4 * _STATE_WORDS
PAGE_BYTES = 4 * PAGE_WORDS
_PAGE_BLOCKS = PAGE_WORDS // _STATE_WORDS
#: How much of every stream the tables cover: 76 pages, 66,880 bytes. They take about
#: 270 KB when whole, grown page by page as streams reach them.
TABLE_PAGES = 76
TABLE_BYTES = TABLE_PAGES * PAGE_BYTES
#: The low 32 bits of every other word of a page, from word 0 or from word 1.
_EVEN = int.from_bytes(array(_WORD, [_MASK, 0] * (PAGE_WORDS // 2)), "little")
_ODD = _EVEN << 32


def _split(words: bytes) -> tuple[int, int]:
    """A page of little-endian words -> (its even words, its odd words), each as an int
    with the other words zero: every word has a free word above it to carry into."""
    zeros = array(_WORD, bytes(len(words) // 2))
    even = array(_WORD, words)
    odd = array(_WORD, words)
    even[1::2] = zeros
    odd[::2] = zeros
    return int.from_bytes(even, "little"), int.from_bytes(odd, "little")


class _Tables:
    """``A`` and ``B`` page by page: ``A`` and ``B`` of the page's even words, then of
    its odd words, as from :func:`_split`. The page of seed *s* is ``((A_even * s +
    B_even) & _EVEN) | ((A_odd * s + B_odd) & _ODD)``: each product is below 2**64, so
    it spills only into the free word above it, which the mask clears."""

    def __init__(self) -> None:
        self.pages: list[tuple[int, int, int, int]] = []
        self._zero = _initial_state(0)
        self._one = _initial_state(1)

    def page(self, index: int) -> tuple[int, int, int, int]:
        pages = self.pages
        while len(pages) <= index:
            zero, one = array(_WORD), array(_WORD)
            for _ in range(_PAGE_BLOCKS):
                zero.frombytes(self._zero.to_bytes(_BLOCK, "little"))
                one.frombytes(self._one.to_bytes(_BLOCK, "little"))
                self._zero, self._one = _mix(self._zero), _mix(self._one)
            # A = keystream(1) - keystream(0), word by word, modulo 2**32
            diff = array(_WORD, [(x - y) & _MASK for x, y in zip(one, zero, strict=True)])
            pages.append((*_split(diff.tobytes()), *_split(zero.tobytes())))
        return pages[index]


_TABLES = _Tables()


class V2Cipher:
    """One direction's keystream; :meth:`apply` encrypts or decrypts (the same thing)."""

    __slots__ = ("_far", "_far_block", "_page", "_page_index", "_position", "_seed")

    def __init__(self, seed: int) -> None:
        if not 0 <= seed <= _MASK:
            raise ValueError(f"a PSO V2 key is a 32-bit number, not {seed}")
        self._seed = seed
        self._position = 0  # keystream bytes used so far
        #: The keystream page the stream is in, as a little-endian int.
        self._page = 0
        self._page_index = -1
        #: Past the tables: the generator's state (55 words) at keystream block
        #: ``_far_block``, the last one made.
        self._far = 0
        self._far_block = -1

    def _page_int(self, index: int) -> int:
        if index != self._page_index:
            if index < TABLE_PAGES:
                a_even, a_odd, b_even, b_odd = _TABLES.page(index)
                seed = self._seed
                page = ((a_even * seed + b_even) & _EVEN) | ((a_odd * seed + b_odd) & _ODD)
            else:
                page = self._far_page(index)
            self._page, self._page_index = page, index
        return self._page

    def _far_page(self, index: int) -> int:
        """A page past the tables, from the generator itself (pages come in order)."""
        if self._far_block < 0:
            last = self._page_int(TABLE_PAGES - 1)
            self._far = last >> (32 * (PAGE_WORDS - _STATE_WORDS))
            self._far_block = TABLE_PAGES * _PAGE_BLOCKS - 1
        state = self._far
        blocks = []
        for _ in range(_PAGE_BLOCKS):
            state = _mix(state)
            blocks.append(state.to_bytes(_BLOCK, "little"))
        self._far = state
        self._far_block += _PAGE_BLOCKS
        assert self._far_block == (index + 1) * _PAGE_BLOCKS - 1
        return int.from_bytes(b"".join(blocks), "little")

    def _stream(self, length: int) -> int:
        """The next *length* keystream bytes as a little-endian int (advancing)."""
        start = self._position
        self._position = start + length
        page, offset = divmod(start, PAGE_BYTES)
        k = self._page if page == self._page_index else self._page_int(page)
        if offset:
            k >>= 8 * offset
        have = PAGE_BYTES - offset
        while have < length:  # the rest from the next pages, each above the last
            page += 1
            k |= self._page_int(page) << (8 * have)
            have += PAGE_BYTES
        if have > length:
            k &= (1 << (8 * length)) - 1
        return k

    def keystream(self, length: int) -> bytes:
        """The next *length* keystream bytes (advancing the stream by exactly that)."""
        return self._stream(length).to_bytes(length, "little") if length else b""

    def next_word(self) -> int:
        """The next keystream word (used by tests and key derivation checks)."""
        return self._stream(4)

    def apply(self, data: bytes, round_up: bool = True) -> bytes:
        """XOR *data* with the keystream. With *round_up*, a trailing partial word still
        consumes a whole keystream word, as the Dreamcast does."""
        n = len(data)
        if not n:
            return b""
        start = self._position
        self._position = start + n + ((-n & 3) if round_up else 0)
        page, offset = divmod(start, PAGE_BYTES)
        if offset + n <= PAGE_BYTES:  # the common case: within one page
            k = self._page if page == self._page_index else self._page_int(page)
            if offset:
                k >>= 8 * offset
            if offset + n < PAGE_BYTES:
                k &= (1 << (8 * n)) - 1
            return (int.from_bytes(data, "little") ^ k).to_bytes(n, "little")
        # Page by page: no keystream int as long as the data, to join and split again.
        parts = []
        done = 0
        while done < n:
            count = min(n - done, PAGE_BYTES - offset)
            k = self._page_int(page) >> (8 * offset)
            if count < PAGE_BYTES - offset:
                k &= (1 << (8 * count)) - 1
            chunk = data[done : done + count]
            parts.append((int.from_bytes(chunk, "little") ^ k).to_bytes(count, "little"))
            done += count
            page += 1
            offset = 0
        return b"".join(parts)


def first_word(seed: int) -> int:
    """The first keystream word for *seed*, in closed form."""
    return (0xC6DCAB76 * seed - 0x9E1977BA) & _MASK
