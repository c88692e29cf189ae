"""DHCP (RFC 2131, options RFC 2132): the message codec and a one-client server policy.

The broadband adapter's console asks for an address over DCNet's Ethernet; the server
offers one from the access server's pool with the router (the NAS) and the DNS servers,
and treats RELEASE as the end of the session (Flycast closes the TCP connection then).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from ipaddress import IPv4Address, IPv4Network

SERVER_PORT = 67
CLIENT_PORT = 68
MAGIC_COOKIE = bytes((99, 130, 83, 99))
_FIXED = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
BROADCAST_FLAG = 0x8000
ANY = IPv4Address(0)


class Op(IntEnum):
    BOOTREQUEST = 1
    BOOTREPLY = 2


class MessageType(IntEnum):
    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8


class Opt(IntEnum):
    PAD = 0
    SUBNET_MASK = 1
    ROUTER = 3
    DNS = 6
    HOST_NAME = 12
    REQUESTED_ADDRESS = 50
    LEASE_TIME = 51
    MESSAGE_TYPE = 53
    SERVER_ID = 54
    PARAMETER_LIST = 55
    MESSAGE = 56
    RENEWAL_TIME = 58
    REBINDING_TIME = 59
    CLIENT_ID = 61
    END = 255


class DhcpError(ValueError):
    """A DHCP message that cannot be decoded."""


@dataclass(frozen=True, slots=True)
class DhcpMessage:
    op: int
    xid: int
    chaddr: bytes  # the client's hardware address (6 octets for Ethernet)
    options: tuple[tuple[int, bytes], ...] = ()
    ciaddr: IPv4Address = ANY
    yiaddr: IPv4Address = ANY
    siaddr: IPv4Address = ANY
    giaddr: IPv4Address = ANY
    flags: int = 0
    secs: int = 0
    hops: int = 0

    @classmethod
    def parse(cls, data: bytes) -> DhcpMessage:
        if len(data) < _FIXED.size + 4:
            raise DhcpError(f"message of {len(data)} octets is too short for BOOTP and cookie")
        (op, htype, hlen, hops, xid, secs, flags, ci, yi, si, gi, chaddr, _, _) = (
            _FIXED.unpack_from(data)
        )
        if htype != 1 or hlen != 6:
            raise DhcpError(f"hardware type {htype} length {hlen}, expected Ethernet (1, 6)")
        if data[_FIXED.size : _FIXED.size + 4] != MAGIC_COOKIE:
            raise DhcpError("no DHCP magic cookie (a plain BOOTP message)")
        options = _parse_options(data[_FIXED.size + 4 :])
        return cls(
            op,
            xid,
            chaddr[:6],
            options,
            IPv4Address(ci),
            IPv4Address(yi),
            IPv4Address(si),
            IPv4Address(gi),
            flags,
            secs,
            hops,
        )

    def pack(self) -> bytes:
        fixed = _FIXED.pack(
            self.op,
            1,
            6,
            self.hops,
            self.xid,
            self.secs,
            self.flags,
            self.ciaddr.packed,
            self.yiaddr.packed,
            self.siaddr.packed,
            self.giaddr.packed,
            self.chaddr.ljust(16, b"\0"),
            b"",
            b"",
        )
        body = b"".join(bytes((k, len(v))) + v for k, v in self.options)
        message = fixed + MAGIC_COOKIE + body + bytes((Opt.END,))
        return message.ljust(300, b"\0")  # BOOTP's minimum, which old clients expect

    def option(self, kind: int) -> bytes | None:
        for k, v in self.options:
            if k == kind:
                return v
        return None

    @property
    def message_type(self) -> int | None:
        value = self.option(Opt.MESSAGE_TYPE)
        return value[0] if value and len(value) == 1 else None

    def address_option(self, kind: int) -> IPv4Address | None:
        value = self.option(kind)
        return IPv4Address(value) if value is not None and len(value) == 4 else None


def _parse_options(data: bytes) -> tuple[tuple[int, bytes], ...]:
    options = []
    offset = 0
    while offset < len(data):
        kind = data[offset]
        if kind == Opt.END:
            break
        if kind == Opt.PAD:
            offset += 1
            continue
        if offset + 2 > len(data):
            raise DhcpError(f"option {kind} at offset {offset} has no length")
        length = data[offset + 1]
        if offset + 2 + length > len(data):
            raise DhcpError(f"option {kind} at offset {offset} runs past the message")
        options.append((kind, bytes(data[offset + 2 : offset + 2 + length])))
        offset += 2 + length
    return tuple(options)


def _addresses(addresses: Sequence[IPv4Address]) -> bytes:
    return b"".join(a.packed for a in addresses)


@dataclass
class DhcpServer:
    """Leases one address to one client (a DCNet Ethernet session has one console).

    ``address`` is what the session's pool gave; the server only decides what to answer.
    """

    server_id: IPv4Address  # the NAS: router and DHCP server identifier
    network: IPv4Network  # the console's subnet (holds the router and the pool)
    dns: tuple[IPv4Address, ...]
    address: IPv4Address | None = None
    lease: int = 86400  # 24 h, as Flycast's own DHCP server leases
    bound: bool = False
    asked: list[str] = field(default_factory=list)  # parameter request lists seen

    def answer(self, message: DhcpMessage) -> DhcpMessage | None:
        """The reply to a client message, or None (DECLINE, RELEASE, not for us)."""
        kind = message.message_type
        if message.op != Op.BOOTREQUEST or kind is None:
            return None
        wanted = message.option(Opt.PARAMETER_LIST)
        if wanted is not None and len(self.asked) < 10:
            self.asked.append(",".join(str(b) for b in wanted))
        if kind == MessageType.DISCOVER:
            return self._reply(message, MessageType.OFFER)
        if kind == MessageType.REQUEST:
            server = message.address_option(Opt.SERVER_ID)
            if server is not None and server != self.server_id:
                return None  # the client chose another server
            requested = message.address_option(Opt.REQUESTED_ADDRESS) or message.ciaddr
            if requested != self.address:
                return self._nak(message)
            self.bound = True
            return self._reply(message, MessageType.ACK)
        if kind == MessageType.INFORM:
            return self._reply(message, MessageType.ACK, inform=True)
        if kind == MessageType.RELEASE:
            self.bound = False
        return None

    def _reply(self, message: DhcpMessage, kind: MessageType, inform: bool = False) -> DhcpMessage:
        assert self.address is not None
        options: list[tuple[int, bytes]] = [
            (Opt.MESSAGE_TYPE, bytes((kind,))),
            (Opt.SERVER_ID, self.server_id.packed),
        ]
        if not inform:
            options += [
                (Opt.LEASE_TIME, self.lease.to_bytes(4, "big")),
                (Opt.RENEWAL_TIME, (self.lease // 2).to_bytes(4, "big")),
                (Opt.REBINDING_TIME, (self.lease * 7 // 8).to_bytes(4, "big")),
            ]
        options += [
            (Opt.SUBNET_MASK, self.network.netmask.packed),
            (Opt.ROUTER, self.server_id.packed),
        ]
        if self.dns:
            options.append((Opt.DNS, _addresses(self.dns)))
        return DhcpMessage(
            Op.BOOTREPLY,
            message.xid,
            message.chaddr,
            tuple(options),
            ciaddr=message.ciaddr if inform else ANY,
            yiaddr=ANY if inform else self.address,
            siaddr=self.server_id,
            flags=message.flags,
        )

    def _nak(self, message: DhcpMessage) -> DhcpMessage:
        options = (
            (Opt.MESSAGE_TYPE, bytes((MessageType.NAK,))),
            (Opt.SERVER_ID, self.server_id.packed),
            (Opt.MESSAGE, b"address not offered"),
        )
        return DhcpMessage(Op.BOOTREPLY, message.xid, message.chaddr, options, flags=BROADCAST_FLAG)
