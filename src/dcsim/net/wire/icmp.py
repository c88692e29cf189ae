"""ICMP messages (RFC 792, RFC 1191 next-hop MTU, RFC 1812 4.3.2.3 quoting)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from dcsim.net.wire.base import WireError
from dcsim.net.wire.checksum import Bytes, internet_checksum, ones_sum

HEADER_LEN = 8
_HDR = struct.Struct("!BBHI")
# RFC 1812 4.3.2.3: quote as much of the offending datagram as fits in 576 bytes.
MAX_ERROR_LEN = 576 - 20


class IcmpType(IntEnum):
    ECHO_REPLY = 0
    DEST_UNREACHABLE = 3
    SOURCE_QUENCH = 4
    REDIRECT = 5
    ECHO_REQUEST = 8
    TIME_EXCEEDED = 11
    PARAMETER_PROBLEM = 12


class UnreachableCode(IntEnum):
    NET = 0
    HOST = 1
    PROTOCOL = 2
    PORT = 3
    FRAG_NEEDED = 4  # "fragmentation needed and DF set"; next-hop MTU per RFC 1191
    SOURCE_ROUTE_FAILED = 5
    NET_PROHIBITED = 9
    HOST_PROHIBITED = 10
    ADMIN_PROHIBITED = 13  # RFC 1812: communication administratively prohibited


class TimeExceededCode(IntEnum):
    TTL = 0
    REASSEMBLY = 1


ERROR_TYPES = frozenset(
    {
        IcmpType.DEST_UNREACHABLE,
        IcmpType.SOURCE_QUENCH,
        IcmpType.REDIRECT,
        IcmpType.TIME_EXCEEDED,
        IcmpType.PARAMETER_PROBLEM,
    }
)


@dataclass(frozen=True, slots=True)
class IcmpRepr:
    """One ICMP message: type, code, the 32-bit word after the checksum, and the data.

    Unknown types keep their bytes. For errors, ``data`` is the quoted datagram.
    """

    type: int
    code: int
    rest: int = 0
    data: bytes = b""

    @classmethod
    def echo_request(cls, ident: int, seq: int, data: bytes = b"") -> Self:
        return cls(IcmpType.ECHO_REQUEST, 0, (ident << 16) | seq, data)

    @classmethod
    def echo_reply(cls, ident: int, seq: int, data: bytes = b"") -> Self:
        return cls(IcmpType.ECHO_REPLY, 0, (ident << 16) | seq, data)

    @classmethod
    def unreachable(cls, code: UnreachableCode, original: Bytes, next_hop_mtu: int = 0) -> Self:
        rest = next_hop_mtu if code == UnreachableCode.FRAG_NEEDED else 0
        return cls(IcmpType.DEST_UNREACHABLE, code, rest, bytes(original[:MAX_ERROR_LEN]))

    @classmethod
    def time_exceeded(cls, code: TimeExceededCode, original: Bytes) -> Self:
        return cls(IcmpType.TIME_EXCEEDED, code, 0, bytes(original[:MAX_ERROR_LEN]))

    @property
    def ident(self) -> int:
        return self.rest >> 16

    @property
    def seq(self) -> int:
        return self.rest & 0xFFFF

    @property
    def next_hop_mtu(self) -> int:
        """RFC 1191's field; 0 from routers that predate it."""
        return self.rest & 0xFFFF

    @property
    def is_error(self) -> bool:
        return self.type in ERROR_TYPES

    @classmethod
    def parse(cls, data: Bytes, *, verify_checksum: bool = True) -> Self:
        if len(data) < HEADER_LEN:
            raise WireError("icmp", f"{len(data)} bytes is shorter than a header", len(data))
        if verify_checksum and ones_sum(data) != 0:
            raise WireError("icmp", "bad checksum", 2)
        type_, code, _, rest = _HDR.unpack_from(data)
        return cls(type_, code, rest, bytes(data[HEADER_LEN:]))

    def buffer_len(self) -> int:
        return HEADER_LEN + len(self.data)

    def emit(self) -> bytes:
        body = _HDR.pack(self.type, self.code, 0, self.rest) + self.data
        csum = internet_checksum(body)
        return body[:2] + csum.to_bytes(2, "big") + body[4:]
