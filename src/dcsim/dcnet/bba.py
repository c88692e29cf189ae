"""DCNet's Ethernet mode (TCP 7655): the broadband adapter's frames, as one sans-IO core.

On the wire (research/flycast.md §3): every record is a two-octet little-endian length
and that many octets. The console's first record is the prolog ``DCNET`` + version 1;
every later record, both ways, is one Ethernet II frame without preamble or FCS.

dcsim is the console's whole Ethernet: it answers ARP for every address but the
console's own (so the router and anything on the subnet reach dcsim), serves DHCP
(address from the access server's pool, router = the NAS, DNS), and passes IPv4 between
the console and the NAS, the same IP path as PPP. A DHCP RELEASE ends the session
(Flycast closes the connection then). A console configured with a static address in the
pool is taken as it is.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from dcsim.causes import Cause
from dcsim.dcnet import dhcp
from dcsim.dcnet.dhcp import DhcpError, DhcpMessage, DhcpServer, MessageType
from dcsim.dcnet.ethernet import (
    MAX_FRAME,
    MTU,
    ArpOperation,
    ArpPacket,
    EthernetError,
    EthernetFrame,
    EtherType,
)
from dcsim.net.wire.base import WireError
from dcsim.net.wire.ipv4 import Ipv4Repr, Ipv4View
from dcsim.net.wire.udp import UdpRepr
from dcsim.pcap import Direction
from dcsim.ppp.link import DatagramReceived, Discarded, FrameSeen, LinkEnded
from dcsim.ppp.pool import AddressPool

PROLOG = b"DCNET\x01"
_LENGTH = struct.Struct("<H")
MAX_RECORD = 1600  # Flycast's send buffer; a frame is at most 1518
PROLOG_TIMEOUT = 3.0  # dcnet-ap's ethtap waits 3 s for the prolog
UDP = 17
LIMITED_BROADCAST = IPv4Address("255.255.255.255")
DHCP_TTL = 64


class RecordError(ValueError):
    """A length prefix beyond any frame: the stream is not DCNet (or is corrupt)."""


class RecordReader:
    """Split the stream into records; memory is bounded by :data:`MAX_RECORD`."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        records = []
        offset = 0
        while len(buffer) - offset >= 2:
            (length,) = _LENGTH.unpack_from(buffer, offset)
            if length > MAX_RECORD:
                raise RecordError(f"record of {length} octets (the most is {MAX_RECORD})")
            if len(buffer) - offset - 2 < length:
                break
            records.append(bytes(buffer[offset + 2 : offset + 2 + length]))
            offset += 2 + length
        del buffer[:offset]
        return records


def record(data: bytes) -> bytes:
    return _LENGTH.pack(len(data)) + data


class RecordLink:
    """What both ends of a DCNet Ethernet connection share (this module's server core and
    the console's :class:`dcsim.dcnet.bba_client.BbaClient`): the record stream, frames
    in and out (traced for captures when *trace*), the events, and the end with the cause
    a title would show. Subclasses name their ``HUNG_UP`` and ``NOT_DCNET`` reasons and
    their ``CAUSES``, and tidy up in :meth:`_finish`."""

    HUNG_UP: Enum
    NOT_DCNET: Enum
    CAUSES: Mapping[Enum, Cause | None]

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.reader = RecordReader()
        self.ended = False
        self._out: list[bytes] = []
        self._events: list[object] = []

    def events(self) -> Iterator[Any]:
        events, self._events = self._events, []
        return iter(events)

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _records(self, data: bytes) -> list[bytes]:
        """The whole records in *data*; none once the stream has ended (``b""``) or is
        not DCNet's."""
        if self.ended:
            return []
        if not data:
            self._end(self.HUNG_UP)
            return []
        try:
            return self.reader.feed(data)
        except RecordError as e:
            self._end(self.NOT_DCNET, str(e))
            return []

    def _frame(self, raw: bytes) -> EthernetFrame | None:
        """A received record as a frame, or None (dropped, with the reason as an event)."""
        if self.trace:
            self._events.append(FrameSeen(Direction.RECEIVED, raw))
        try:
            return EthernetFrame.parse(raw)
        except EthernetError as e:
            self._events.append(Discarded(str(e)))
            return None

    def _send(self, frame: EthernetFrame) -> None:
        raw = frame.pack()
        if len(raw) > MAX_FRAME:
            self._events.append(Discarded(f"frame of {len(raw)} octets not sent"))
            return
        if self.trace:
            self._events.append(FrameSeen(Direction.SENT, raw))
        self._out.append(record(raw))

    def _end(self, reason: Enum, detail: str = "") -> None:
        if self.ended:
            return
        self.ended = True
        self._finish()
        self._events.append(LinkEnded(reason, self.CAUSES[reason], detail))

    def _finish(self) -> None:
        """The link has just ended: release what it held."""


class BbaEnd(Enum):
    RELEASED = "the console released its DHCP lease"
    HUNG_UP = "the connection closed"
    CLOSED = "closed on request"
    NOT_DCNET = "the stream is not DCNet Ethernet"
    NO_PROLOG = "no DCNet prolog in time"
    NO_ADDRESS = "no address left in the pool"


_CAUSES = {
    BbaEnd.RELEASED: None,
    BbaEnd.HUNG_UP: None,
    BbaEnd.CLOSED: Cause.SERVER_DOWN,
    BbaEnd.NOT_DCNET: Cause.NO_PHYSICAL_CONNECTION,
    BbaEnd.NO_PROLOG: Cause.NO_PHYSICAL_CONNECTION,
    BbaEnd.NO_ADDRESS: Cause.SERVER_DOWN,
}


@dataclass(frozen=True, slots=True)
class Online:
    """The console has an address: attach it to the NAS."""

    address: IPv4Address
    mtu: int
    dhcp: bool  # False: the console came with its own (static) address


@dataclass(frozen=True)
class BbaConfig:
    router: IPv4Address  # the NAS: default gateway, DHCP server identifier
    network: IPv4Network  # the console's subnet: holds the router and the pool
    dns: tuple[IPv4Address, ...]
    mac: bytes = bytes.fromhex("02dc5e000001")  # dcsim's side (locally administered)
    lease: int = 86400
    prolog_timeout: float = PROLOG_TIMEOUT
    trace: bool = False


def subnet_for(pool: IPv4Network, router: IPv4Address) -> IPv4Network:
    """The smallest network holding both the pool and the router (the console's subnet)."""
    for prefix in range(pool.prefixlen, -1, -1):
        candidate = pool.supernet(new_prefix=prefix)
        if router in candidate:
            return candidate
    raise ValueError(f"no network holds both {pool} and {router}")


class BbaSession(RecordLink):
    """One DCNet Ethernet connection (sans-IO; see the module docstring)."""

    HUNG_UP = BbaEnd.HUNG_UP
    NOT_DCNET = BbaEnd.NOT_DCNET
    CAUSES = _CAUSES

    def __init__(self, config: BbaConfig, now: float, *, pool: AddressPool) -> None:
        super().__init__(config.trace)
        self.config = config
        self.pool = pool
        self.dhcp = DhcpServer(config.router, config.network, config.dns, lease=config.lease)
        self.address: IPv4Address | None = None
        self.console_mac: bytes | None = None
        self.online = False
        self.greeted = False
        self._prolog_at: float | None = now + config.prolog_timeout

    # -- the core interface -------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        for payload in self._records(data):
            if not self.greeted:
                if payload != PROLOG:
                    self._end(BbaEnd.NOT_DCNET, f"first record {payload[:8].hex()} is no prolog")
                    return
                self.greeted = True
                self._prolog_at = None
                continue
            self._receive_frame(payload)
            if self.ended:
                return

    def handle_timer(self, now: float) -> None:
        if self._prolog_at is not None and now >= self._prolog_at and not self.ended:
            self._end(BbaEnd.NO_PROLOG)

    def deadline(self) -> float | None:
        return None if self.ended else self._prolog_at

    def send_datagram(self, datagram: bytes, now: float) -> bool:
        """An IPv4 datagram from the network for the console."""
        if not self.online or self.console_mac is None or len(datagram) > MTU:
            return False
        self._send(EthernetFrame(self.console_mac, self.config.mac, EtherType.IPV4, datagram))
        return True

    def close(self, now: float) -> None:
        self._end(BbaEnd.CLOSED)

    # -- frames from the console ----------------------------------------------------------

    def _receive_frame(self, raw: bytes) -> None:
        frame = self._frame(raw)
        if frame is None:
            return
        if self.console_mac is None and not frame.src[0] & 1:
            self.console_mac = frame.src
        if frame.ethertype == EtherType.ARP:
            self._receive_arp(frame)
        elif frame.ethertype == EtherType.IPV4:
            self._receive_ipv4(frame)
        else:
            self._events.append(Discarded(f"EtherType 0x{frame.ethertype:04x}"))

    def _receive_arp(self, frame: EthernetFrame) -> None:
        try:
            arp = ArpPacket.parse(frame.payload)
        except EthernetError as e:
            self._events.append(Discarded(str(e)))
            return
        if arp.operation != ArpOperation.REQUEST:
            return
        own = self.address if self.address is not None else arp.sender_ip
        if arp.target_ip == own or arp.sender_ip == arp.target_ip:
            return  # an address probe or a gratuitous ARP: the address is the console's
        if arp.target_ip not in self.config.network and arp.target_ip != self.config.router:
            return
        reply = ArpPacket(
            ArpOperation.REPLY, self.config.mac, arp.target_ip, arp.sender_mac, arp.sender_ip
        )
        self._send(EthernetFrame(arp.sender_mac, self.config.mac, EtherType.ARP, reply.pack()))

    def _receive_ipv4(self, frame: EthernetFrame) -> None:
        try:
            view = Ipv4View(frame.payload)
            header = Ipv4Repr.parse(view)
        except WireError as e:
            self._events.append(Discarded(f"IPv4: {e}"))
            return
        datagram = bytes(frame.payload[: view.total_len])
        if header.proto == UDP and self._is_dhcp(view):
            self._receive_dhcp(header, bytes(view.payload))
            return
        if not self.online and not self._take_static(header.src):
            self._events.append(Discarded(f"IPv4 from {header.src} without an address"))
            return
        if header.src != self.address:
            self._events.append(Discarded(f"IPv4 from {header.src}, not {self.address}"))
            return
        self._events.append(DatagramReceived(datagram))

    @staticmethod
    def _is_dhcp(view: Ipv4View) -> bool:
        payload = view.payload
        return len(payload) >= 4 and int.from_bytes(payload[2:4], "big") == dhcp.SERVER_PORT

    def _take_static(self, source: IPv4Address) -> bool:
        if self.address is None and source in self.pool.network and self.pool.reserve(source):
            self.address = source
            self.dhcp.address = source
            self._go_online(dhcp_used=False)
            return True
        return False

    def _receive_dhcp(self, header: Ipv4Repr, payload: bytes) -> None:
        try:
            udp = UdpRepr.parse(payload, header.src, header.dst)
            message = DhcpMessage.parse(udp.payload)
        except (WireError, DhcpError) as e:
            self._events.append(Discarded(f"DHCP: {e}"))
            return
        if message.message_type == MessageType.RELEASE:
            self.dhcp.answer(message)
            self._end(BbaEnd.RELEASED)
            return
        if self.address is None and message.message_type in (
            MessageType.DISCOVER,
            MessageType.REQUEST,
        ):
            self.address = self.pool.allocate()
            if self.address is None:
                self._end(BbaEnd.NO_ADDRESS)
                return
            self.dhcp.address = self.address
        if self.dhcp.address is None:
            return
        reply = self.dhcp.answer(message)
        if reply is None:
            return
        if message.message_type == MessageType.INFORM:
            destination = message.ciaddr  # RFC 2131 §4.3.5: straight to the client
        elif message.flags & dhcp.BROADCAST_FLAG or reply.yiaddr == dhcp.ANY:
            destination = LIMITED_BROADCAST
        else:
            destination = reply.yiaddr
        body = UdpRepr(dhcp.SERVER_PORT, dhcp.CLIENT_PORT, reply.pack())
        source = self.config.router
        datagram = Ipv4Repr(source, destination, UDP, ttl=DHCP_TTL).emit(
            body.emit(source, destination)
        )
        self._send(EthernetFrame(message.chaddr, self.config.mac, EtherType.IPV4, datagram))
        if reply.message_type == MessageType.ACK and self.dhcp.bound and not self.online:
            self._go_online(dhcp_used=True)

    def _go_online(self, *, dhcp_used: bool) -> None:
        assert self.address is not None
        self.online = True
        self._events.append(Online(self.address, MTU, dhcp_used))

    # -- the end ---------------------------------------------------------------------------

    def _finish(self) -> None:
        self.online = False
        self._prolog_at = None
        if self.address is not None:
            self.pool.release(self.address)
