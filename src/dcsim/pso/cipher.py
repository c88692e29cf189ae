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
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF
_STATE_WORDS = 55
_PACK = struct.Struct("<55I")
_BLOCK = 4 * _STATE_WORDS


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


class V2Cipher:
    """One direction's keystream; :meth:`apply` encrypts or decrypts (the same thing)."""

    __slots__ = ("_offset", "_state", "_stream")

    def __init__(self, seed: int) -> None:
        if not 0 <= seed <= _MASK:
            raise ValueError(f"a PSO V2 key is a 32-bit number, not {seed}")
        words = [0] * (_STATE_WORDS + 1)  # 1-based, as in the description
        words[_STATE_WORDS] = seed
        a, b = 1, seed
        for i in range(21, 21 * 55, 21):
            words[i % _STATE_WORDS] = a
            a, b = (b - a) & _MASK, a
        state = int.from_bytes(_PACK.pack(*words[1:]), "little")
        for _ in range(5):
            state = _mix(state)
        self._state = state
        # The first 55 keystream words are the state as it stands after the five mixes.
        self._stream = state.to_bytes(_BLOCK, "little")
        self._offset = 0

    def keystream(self, length: int) -> bytes:
        """The next *length* keystream bytes (advancing the stream by exactly that)."""
        need = self._offset + length
        stream = self._stream
        if need > len(stream):
            parts = [stream[self._offset :]]
            have = len(parts[0])
            state = self._state
            while have < length:
                state = _mix(state)
                parts.append(state.to_bytes(_BLOCK, "little"))
                have += _BLOCK
            self._state = state
            stream = b"".join(parts)
            self._stream, self._offset = stream, 0
            need = length
        out = stream[self._offset : need]
        self._offset = need
        return out

    def next_word(self) -> int:
        """The next keystream word (used by tests and key derivation checks)."""
        return int.from_bytes(self.keystream(4), "little")

    def apply(self, data: bytes, round_up: bool = True) -> bytes:
        """XOR *data* with the keystream. With *round_up*, a trailing partial word still
        consumes a whole keystream word, as the Dreamcast does."""
        n = len(data)
        if not n:
            return b""
        ks = self.keystream(n)
        if round_up and n & 3:
            self.keystream(-n & 3)
        x = int.from_bytes(data, "little") ^ int.from_bytes(ks, "little")
        return x.to_bytes(n, "little")


def first_word(seed: int) -> int:
    """The first keystream word for *seed*, in closed form."""
    return (0xC6DCAB76 * seed - 0x9E1977BA) & _MASK
