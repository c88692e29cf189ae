"""Control packets (RFC 1661 §5) and configuration options (RFC 1661 §6) as values.

LCP, IPCP, PAP and CHAP packets share one header: code, identifier, length. Octets after
the length are padding and ignored (RFC 1661 §5). Options are type-length-value triples.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

HEADER = struct.Struct("!BBH")


class Code(IntEnum):
    """RFC 1661 §5 packet codes, plus RFC 1570's two LCP extensions."""

    CONFIGURE_REQUEST = 1
    CONFIGURE_ACK = 2
    CONFIGURE_NAK = 3
    CONFIGURE_REJECT = 4
    TERMINATE_REQUEST = 5
    TERMINATE_ACK = 6
    CODE_REJECT = 7
    PROTOCOL_REJECT = 8  # LCP only, as are the codes below
    ECHO_REQUEST = 9
    ECHO_REPLY = 10
    DISCARD_REQUEST = 11
    IDENTIFICATION = 12  # RFC 1570
    TIME_REMAINING = 13  # RFC 1570


class PacketError(ValueError):
    """A control packet or option list that cannot be decoded; it is dropped and logged."""


@dataclass(frozen=True, slots=True)
class ControlPacket:
    code: int
    identifier: int
    data: bytes = b""

    @classmethod
    def parse(cls, information: bytes) -> ControlPacket:
        if len(information) < HEADER.size:
            raise PacketError(f"control packet of {len(information)} octets, header needs 4")
        code, identifier, length = HEADER.unpack_from(information)
        if length < HEADER.size:
            raise PacketError(f"length field {length} is below the header size")
        if length > len(information):
            raise PacketError(f"length field {length} exceeds the {len(information)} octets")
        return cls(code, identifier, bytes(information[HEADER.size : length]))

    def pack(self) -> bytes:
        return HEADER.pack(self.code, self.identifier, HEADER.size + len(self.data)) + self.data


@dataclass(frozen=True, slots=True)
class Option:
    """One configuration option: its type and its value (without type and length)."""

    type: int
    value: bytes = b""

    def pack(self) -> bytes:
        return bytes((self.type, len(self.value) + 2)) + self.value

    def int_value(self) -> int:
        return int.from_bytes(self.value, "big")


def parse_options(data: bytes) -> tuple[Option, ...]:
    options = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise PacketError(f"option at offset {offset} is cut off after its type")
        kind, length = data[offset], data[offset + 1]
        if length < 2:
            raise PacketError(f"option {kind} at offset {offset} has length {length} < 2")
        if offset + length > len(data):
            raise PacketError(f"option {kind} at offset {offset} runs past the packet")
        options.append(Option(kind, bytes(data[offset + 2 : offset + length])))
        offset += length
    return tuple(options)


def pack_options(options: Iterable[Option]) -> bytes:
    return b"".join(option.pack() for option in options)
