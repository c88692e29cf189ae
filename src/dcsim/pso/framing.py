"""The DC command header and the framing of commands on a PSO connection.

Every Dreamcast PSO command starts with a 4-byte header: ``u8 command, u8 flag, le16
size``, where size counts the header and the body. Commands are padded to a multiple of
4 bytes, except the 90 that JP and prototype DC v1 discs send with size 0x26
(shared/research/pso_servers.md section 4.1). Once the server's first command (17 or
02) has been sent in the clear, everything, headers included, is encrypted with the V2
cipher of :mod:`dcsim.pso.cipher`.

:class:`Decoder` is sans-IO: it takes ciphertext as it arrives and yields whole
decrypted frames, and it refuses a header whose size is impossible or over the limit
before buffering the body, so memory stays bounded whatever a peer sends.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from dcsim.pso.cipher import V2Cipher

HEADER = struct.Struct("<BBH")
HEADER_SIZE = HEADER.size
#: The receive buffer of every PSO client seen so far is 0x7C00 bytes; no command in
#: either direction is larger (newserv ``Channel::send``).
MAX_COMMAND_SIZE = 0x7C00


class Header(NamedTuple):  # value classes made for every command: tuples, the cheapest
    command: int
    flag: int
    size: int

    def pack(self) -> bytes:
        return HEADER.pack(self.command, self.flag, self.size)


class Frame(NamedTuple):
    """One decrypted command: its header and its body (padding included)."""

    command: int
    flag: int
    body: bytes


class FrameError(Exception):
    """The byte stream cannot be a PSO command stream; the connection must close."""


def pad4(n: int) -> int:
    return (n + 3) & ~3


def encode(
    command: int, flag: int, body: bytes, cipher: V2Cipher | None = None, *, pad: bool = True
) -> bytes:
    """The wire bytes of one command: header, body padded to 4, encrypted if *cipher*.

    ``pad=False`` sends the body as it is and puts its true size in the header, as JP
    DC v1 does with its 90; the cipher still uses a whole word for the last bytes.
    """
    data = bytearray()
    append_frame(data, command, flag, body, pad=pad)
    return cipher.apply(data) if cipher is not None else bytes(data)


def append_frame(
    buffer: bytearray, command: int, flag: int, body: bytes, *, pad: bool = True
) -> None:
    """Append one command's plaintext frame (as :func:`encode` makes it) to *buffer*."""
    size = pad4(HEADER_SIZE + len(body)) if pad else HEADER_SIZE + len(body)
    if size > MAX_COMMAND_SIZE:
        raise ValueError(f"command {command:02X} of 0x{size:X} bytes exceeds 0x7C00")
    buffer += HEADER.pack(command, flag, size)
    buffer += body
    if size - HEADER_SIZE - len(body):
        buffer += bytes(size - HEADER_SIZE - len(body))


class Decoder:
    """Ciphertext in, :class:`Frame` out.

    *round_up* decides how a body whose size is not a multiple of 4 is decrypted: True
    uses a whole keystream word for its last bytes, as the Dreamcast does when it
    encrypts (newserv's behaviour); False consumes exactly the bytes on the wire, which
    is how a server that treats the cipher as a byte stream would read JP DC v1's 90 and
    leaves it out of step for every later command.

    *segment_words* decrypts every chunk as it arrives (one TCP segment's payload, one
    ``dataReceived``) in whole keystream words instead of decrypting whole commands: the
    4-byte granularity the players blamed for garbled data behind PPPoE routers
    (failure2006.md §5, M4a). While every chunk is a multiple of 4 bytes long nothing
    changes; after a chunk that is not (a segment of an MSS such as 1414), every later
    byte is decrypted with the keystream two bytes off. :attr:`misaligned` counts them.
    """

    __slots__ = (
        "_buffer",
        "_clear",
        "_header",
        "cipher",
        "max_size",
        "misaligned",
        "round_up",
        "segment_words",
    )

    def __init__(
        self, max_size: int = MAX_COMMAND_SIZE, round_up: bool = True, segment_words: bool = False
    ) -> None:
        self.cipher: V2Cipher | None = None
        self.max_size = max_size
        self.round_up = round_up
        self.segment_words = segment_words
        self.misaligned: list[int] = []  # the lengths of chunks that were not whole words
        self._buffer = bytearray()  # as received (ciphertext, or clear before the cipher)
        self._clear = bytearray()  # decrypted chunk by chunk (segment_words)
        self._header: Header | None = None

    @property
    def pending(self) -> Header | None:
        """The header of a command whose body has not all arrived yet."""
        return self._header

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole command."""
        return len(self._buffer) + len(self._clear)

    def feed(self, data: bytes) -> None:
        if self.segment_words and self.cipher is not None:
            self._flush_before_cipher()
            self._decrypt_chunk(data)
        else:
            self._buffer += data

    def _decrypt_chunk(self, data: bytes) -> None:
        assert self.cipher is not None
        if len(data) & 3:
            self.misaligned.append(len(data))
        self._clear += self.cipher.apply(data, round_up=True)

    def _flush_before_cipher(self) -> None:
        """Bytes that arrived with the clear first command: the rest of that chunk."""
        if self._buffer:
            rest = bytes(self._buffer)
            self._buffer.clear()
            self._decrypt_chunk(rest)

    def next_frame(self) -> Frame | None:
        """The next whole command, or None until more bytes arrive.

        Raises :class:`FrameError` for a size field that cannot be true.
        """
        if self.segment_words and self.cipher is not None:
            self._flush_before_cipher()
            return self._parse(self._clear, None)
        return self._parse(self._buffer, self.cipher)

    def _parse(self, buffer: bytearray, cipher: V2Cipher | None) -> Frame | None:
        header = self._header
        if header is None:
            if len(buffer) < HEADER_SIZE:
                return None
            raw = buffer[:HEADER_SIZE]
            del buffer[:HEADER_SIZE]
            if cipher is not None:
                raw = cipher.apply(raw)
            header = Header._make(HEADER.unpack(raw))
            if header.size < HEADER_SIZE:
                raise FrameError(
                    f"command {header.command:02X} has size 0x{header.size:X}, "
                    "smaller than its own header"
                )
            if header.size > self.max_size:
                raise FrameError(
                    f"command {header.command:02X} has size 0x{header.size:X}, "
                    f"over the limit of 0x{self.max_size:X}"
                )
            self._header = header
        length = header.size - HEADER_SIZE
        if len(buffer) < length:
            return None
        body = buffer[:length]
        del buffer[:length]
        self._header = None
        body = bytes(body) if cipher is None else cipher.apply(body, round_up=self.round_up)
        return Frame(header.command, header.flag, body)
