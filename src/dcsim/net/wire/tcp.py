"""TCP segments (RFC 9293 3.1) with the MSS option (RFC 9293 3.7.1); other options kept."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from ipaddress import IPv4Address
from typing import Self

from dcsim.net.wire.base import WireError
from dcsim.net.wire.checksum import Bytes, finish, ones_sum, pseudo_header_sum
from dcsim.net.wire.ipv4 import IpProto

HEADER_LEN = 20
MAX_HEADER_LEN = 60
_HDR = struct.Struct("!HHIIBBHHH")
_TCP = int(IpProto.TCP)

# Flag bits as plain ints for the hot paths; TcpFlags names them for people.
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80


class TcpFlags(IntFlag):
    FIN = FIN
    SYN = SYN
    RST = RST
    PSH = PSH
    ACK = ACK
    URG = URG
    ECE = ECE
    CWR = CWR


class TcpOption(IntEnum):
    END = 0
    NOP = 1
    MSS = 2
    WINDOW_SCALE = 3
    SACK_PERMITTED = 4
    SACK = 5
    TIMESTAMPS = 8


class TcpView:
    """A zero-copy look at a TCP segment; the constructor checks the data offset."""

    __slots__ = ("buf", "header_len")

    def __init__(self, buf: Bytes) -> None:
        if len(buf) < HEADER_LEN:
            raise WireError("tcp", f"{len(buf)} bytes is shorter than a header", len(buf))
        header_len = (buf[12] >> 4) * 4
        if header_len < HEADER_LEN:
            raise WireError("tcp", f"data offset {header_len} is below 20", 12)
        if header_len > len(buf):
            raise WireError("tcp", f"data offset {header_len} but only {len(buf)} bytes", 12)
        self.buf = buf
        self.header_len = header_len

    @property
    def src_port(self) -> int:
        return (self.buf[0] << 8) | self.buf[1]

    @property
    def dst_port(self) -> int:
        return (self.buf[2] << 8) | self.buf[3]

    @property
    def seq(self) -> int:
        return int.from_bytes(self.buf[4:8], "big")

    @property
    def ack(self) -> int:
        return int.from_bytes(self.buf[8:12], "big")

    @property
    def flags(self) -> int:
        return self.buf[13]

    @property
    def window(self) -> int:
        return (self.buf[14] << 8) | self.buf[15]

    @property
    def options(self) -> Bytes:
        return self.buf[HEADER_LEN : self.header_len]

    @property
    def payload(self) -> Bytes:
        return self.buf[self.header_len :]


@dataclass(frozen=True, slots=True)
class TcpRepr:
    """A TCP segment as values. ``flags`` is an int of the FIN/SYN/... bits.

    ``mss`` is the MSS option (None: absent); ``options`` keeps every other option as
    (kind, value) pairs, in order, so a middlebox that rewrites the MSS keeps the rest.
    """

    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes = b""
    mss: int | None = None
    urgent: int = 0
    options: tuple[tuple[int, bytes], ...] = ()

    @classmethod
    def parse(
        cls, data: Bytes, src: IPv4Address, dst: IPv4Address, *, verify_checksum: bool = True
    ) -> Self:
        view = TcpView(data)
        if verify_checksum:
            total = pseudo_header_sum(src.packed, dst.packed, _TCP, len(data))
            if (total + ones_sum(data)) % 0xFFFF != 0:
                raise WireError("tcp", "bad checksum", 16)
        sport, dport, seq, ack, _, flags, window, _, urgent = _HDR.unpack_from(data)
        mss = None
        options: tuple[tuple[int, bytes], ...] = ()
        if view.header_len > HEADER_LEN:
            mss, options = _parse_options(bytes(data[HEADER_LEN : view.header_len]))
        payload = bytes(data[view.header_len :])
        return cls(sport, dport, seq, ack, flags, window, payload, mss, urgent, options)

    @property
    def seq_len(self) -> int:
        """Sequence space taken: payload plus one each for SYN and FIN."""
        return len(self.payload) + (self.flags & SYN) // SYN + (self.flags & FIN)

    def options_bytes(self) -> bytes:
        out = b""
        if self.mss is not None:
            out = bytes((TcpOption.MSS, 4)) + self.mss.to_bytes(2, "big")
        for kind, value in self.options:
            out += bytes((kind, len(value) + 2)) + value
        if len(out) % 4:
            out += bytes((TcpOption.NOP,)) * (-len(out) % 4)
        if len(out) > MAX_HEADER_LEN - HEADER_LEN:
            raise ValueError("TCP options exceed 40 bytes")
        return out

    def header_len(self) -> int:
        return HEADER_LEN + len(self.options_bytes())

    def buffer_len(self) -> int:
        return self.header_len() + len(self.payload)

    def emit(self, src: IPv4Address, dst: IPv4Address) -> bytes:
        opts = self.options_bytes() if (self.mss is not None or self.options) else b""
        header_len = HEADER_LEN + len(opts)
        header = (
            _HDR.pack(
                self.src_port,
                self.dst_port,
                self.seq,
                self.ack,
                header_len << 2,
                self.flags,
                self.window,
                0,
                self.urgent,
            )
            + opts
        )
        payload = self.payload
        total = pseudo_header_sum(src.packed, dst.packed, _TCP, header_len + len(payload))
        csum = finish(total + ones_sum(header) + ones_sum(payload))
        return b"".join((header[:16], csum.to_bytes(2, "big"), header[18:], payload))

    def describe(self) -> str:
        """A tcpdump-like one-line summary, for logs."""
        names = "".join(
            c for c, bit in zip("FSRPAUEC", range(8), strict=True) if self.flags >> bit & 1
        )
        return (
            f"{self.src_port}>{self.dst_port} [{names}] seq={self.seq} ack={self.ack} "
            f"win={self.window} len={len(self.payload)}"
            + (f" mss={self.mss}" if self.mss is not None else "")
        )


def _parse_options(raw: bytes) -> tuple[int | None, tuple[tuple[int, bytes], ...]]:
    mss = None
    others = []
    i = 0
    n = len(raw)
    while i < n:
        kind = raw[i]
        if kind == TcpOption.END:
            break
        if kind == TcpOption.NOP:
            i += 1
            continue
        if i + 1 >= n:
            raise WireError("tcp", f"option {kind} has no length byte", HEADER_LEN + i)
        length = raw[i + 1]
        if length < 2 or i + length > n:
            raise WireError("tcp", f"option {kind} has bad length {length}", HEADER_LEN + i + 1)
        value = raw[i + 2 : i + length]
        if kind == TcpOption.MSS:
            if length != 4:
                raise WireError("tcp", f"MSS option length {length}, expected 4", HEADER_LEN + i)
            mss = int.from_bytes(value, "big")
        else:
            others.append((kind, value))
        i += length
    return mss, tuple(others)
