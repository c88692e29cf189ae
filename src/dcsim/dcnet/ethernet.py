"""Ethernet II frames and ARP (RFC 826) for Ethernet over IPv4, as the broadband adapter
speaks them over DCNet's TCP 7655 (no preamble, no FCS)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv4Address

HEADER = struct.Struct("!6s6sH")
BROADCAST = b"\xff" * 6
MAX_FRAME = 1518  # a full-size frame with an 802.1Q tag (RFC 894 payload 1500)
MTU = 1500


class EtherType(IntEnum):
    IPV4 = 0x0800
    ARP = 0x0806
    VLAN = 0x8100
    IPV6 = 0x86DD


class EthernetError(ValueError):
    """A frame or ARP packet that cannot be decoded."""


def mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def mac_from_text(text: str) -> bytes:
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError(f"expected a MAC address like 02:dc:00:00:00:01, got {text!r}")
    return bytes(int(p, 16) for p in parts)


@dataclass(frozen=True, slots=True)
class EthernetFrame:
    dst: bytes
    src: bytes
    ethertype: int
    payload: bytes

    @classmethod
    def parse(cls, data: bytes) -> EthernetFrame:
        if len(data) < HEADER.size:
            raise EthernetError(f"frame of {len(data)} octets is shorter than its header")
        dst, src, ethertype = HEADER.unpack_from(data)
        payload = data[HEADER.size :]
        if ethertype == EtherType.VLAN:  # one 802.1Q tag: take what is inside
            if len(payload) < 4:
                raise EthernetError("VLAN tag cut short")
            ethertype = int.from_bytes(payload[2:4], "big")
            payload = payload[4:]
        if ethertype < 0x0600:
            raise EthernetError(f"802.3 length field {ethertype}, expected an EtherType")
        return cls(dst, src, ethertype, payload)

    def pack(self) -> bytes:
        return HEADER.pack(self.dst, self.src, self.ethertype) + self.payload


class ArpOperation(IntEnum):
    REQUEST = 1
    REPLY = 2


_ARP = struct.Struct("!HHBBH6s4s6s4s")
_ARP_PREFIX = (1, EtherType.IPV4, 6, 4)  # Ethernet hardware, IPv4 protocol, their sizes


@dataclass(frozen=True, slots=True)
class ArpPacket:
    operation: int
    sender_mac: bytes
    sender_ip: IPv4Address
    target_mac: bytes
    target_ip: IPv4Address

    @classmethod
    def parse(cls, data: bytes) -> ArpPacket:
        if len(data) < _ARP.size:
            raise EthernetError(f"ARP packet of {len(data)} octets, expected {_ARP.size}")
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(data)
        if (htype, ptype, hlen, plen) != _ARP_PREFIX:
            raise EthernetError("ARP for something other than IPv4 over Ethernet")
        return cls(op, sha, IPv4Address(spa), tha, IPv4Address(tpa))

    def pack(self) -> bytes:
        return _ARP.pack(
            *_ARP_PREFIX,
            self.operation,
            self.sender_mac,
            self.sender_ip.packed,
            self.target_mac,
            self.target_ip.packed,
        )
