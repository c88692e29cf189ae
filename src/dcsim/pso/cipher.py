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


class V2Cipher:
    """One direction's keystream; :meth:`apply` encrypts or decrypts (the same thing)."""

    __slots__ = ("_offset", "_state", "_stream")

    def __init__(self, seed: int) -> None:
        if not 0 <= seed <= _MASK:
            raise ValueError(f"a PSO V2 key is a 32-bit number, not {seed}")
        # state[0] is unused so that indices match the usual 1-based description.
        state = [0] * (_STATE_WORDS + 1)
        state[_STATE_WORDS] = seed
        a, b = 1, seed
        for i in range(21, 21 * 55, 21):
            state[i % _STATE_WORDS] = a
            a, b = (b - a) & _MASK, a
        self._state = state
        for _ in range(5):
            self._mix()
        # The first 55 keystream words are the state as it stands after the five mixes.
        self._stream = _PACK.pack(*state[1:])
        self._offset = 0

    def _mix(self) -> None:
        s = self._state
        # k = 1..24: s[k] -= s[k + 31] (s[32..55] are not touched in this part).
        s[1:25] = [(x - y) & _MASK for x, y in zip(s[1:25], s[32:56], strict=True)]
        # k = 25..48: s[k] -= s[k - 24], reading s[1..24] as just updated.
        s[25:49] = [(x - y) & _MASK for x, y in zip(s[25:49], s[1:25], strict=True)]
        # k = 49..55: s[k] -= s[k - 24], reading s[25..31] as just updated.
        s[49:56] = [(x - y) & _MASK for x, y in zip(s[49:56], s[25:32], strict=True)]

    def keystream(self, length: int) -> bytes:
        """The next *length* keystream bytes (advancing the stream by exactly that)."""
        need = self._offset + length
        stream = self._stream
        if need > len(stream):
            parts = [stream[self._offset :]]
            have = len(parts[0])
            while have < length:
                self._mix()
                block = _PACK.pack(*self._state[1:])
                parts.append(block)
                have += len(block)
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
