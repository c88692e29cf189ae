"""UDP datagrams (RFC 768)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Self

from dcsim.net.wire.base import WireError
from dcsim.net.wire.checksum import Bytes, finish, ones_sum, pseudo_header_sum
from dcsim.net.wire.ipv4 import IpProto

HEADER_LEN = 8
_HDR = struct.Struct("!HHHH")
_UDP = int(IpProto.UDP)


class UdpView:
    """A zero-copy look at a UDP datagram; the constructor checks the length field."""

    __slots__ = ("buf", "length")

    def __init__(self, buf: Bytes) -> None:
        if len(buf) < HEADER_LEN:
            raise WireError("udp", f"{len(buf)} bytes is shorter than a header", len(buf))
        length = (buf[4] << 8) | buf[5]
        if length < HEADER_LEN:
            raise WireError("udp", f"length field {length} is below 8", 4)
        if length > len(buf):
            raise WireError("udp", f"length field {length} but only {len(buf)} bytes", 4)
        self.buf = buf
        self.length = length

    @property
    def src_port(self) -> int:
        return (self.buf[0] << 8) | self.buf[1]

    @property
    def dst_port(self) -> int:
        return (self.buf[2] << 8) | self.buf[3]

    @property
    def checksum(self) -> int:
        return (self.buf[6] << 8) | self.buf[7]

    @property
    def payload(self) -> Bytes:
        return self.buf[HEADER_LEN : self.length]


@dataclass(frozen=True, slots=True)
class UdpRepr:
    src_port: int
    dst_port: int
    payload: bytes = b""

    @classmethod
    def parse(
        cls, data: Bytes, src: IPv4Address, dst: IPv4Address, *, verify_checksum: bool = True
    ) -> Self:
        view = UdpView(data)
        sport, dport, length, csum = _HDR.unpack_from(data)
        if verify_checksum and csum != 0:  # zero: the sender computed none (RFC 768)
            total = pseudo_header_sum(src.packed, dst.packed, _UDP, length)
            if (total + ones_sum(data[:length])) % 0xFFFF != 0:
                raise WireError("udp", "bad checksum", 6)
        return cls(sport, dport, bytes(view.payload))

    def buffer_len(self) -> int:
        return HEADER_LEN + len(self.payload)

    def emit(self, src: IPv4Address, dst: IPv4Address) -> bytes:
        length = HEADER_LEN + len(self.payload)
        if length > 0xFFFF:
            raise ValueError(f"a UDP datagram of {length} bytes exceeds 65535")
        header = _HDR.pack(self.src_port, self.dst_port, length, 0)
        total = pseudo_header_sum(src.packed, dst.packed, _UDP, length)
        csum = finish(total + ones_sum(header) + ones_sum(self.payload)) or 0xFFFF
        return header[:6] + csum.to_bytes(2, "big") + self.payload
