"""The broadband adapter's side of DCNet Ethernet (TCP 7655), as one sans-IO core.

What Flycast and the console's network stack do together on the wire (research
flycast.md §3-§4): the prolog record ``DCNET`` + version 1, then one Ethernet II frame per
two-octet little-endian length record. The console's adapter answers ARP for its
address, resolves its next hops with ARP, gets an address by DHCP (DISCOVER, OFFER,
REQUEST, ACK; renewed at T1) or comes with a static one, and on hang-up releases the
lease (DHCP RELEASE, on which Flycast closes the connection). Built from the codecs the
server side uses (:mod:`dcsim.dcnet.bba`, :mod:`dcsim.dcnet.ethernet`,
:mod:`dcsim.dcnet.dhcp`); the events are the PPP link's, so the same edge code puts the
console on a :class:`~dcsim.net.host.VirtualHost` (:mod:`dcsim.dcnet.ethernet_client`).

What the console's own DHCP client asks for and how it retries is not documented: the
parameter list and the retransmission times are settings, marked [U].
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum, auto
from ipaddress import IPv4Address, IPv4Interface

from dcsim.causes import Cause
from dcsim.dcnet import dhcp
from dcsim.dcnet.bba import DHCP_TTL, LIMITED_BROADCAST, PROLOG, UDP, RecordLink, record
from dcsim.dcnet.dhcp import DhcpError, DhcpMessage, MessageType, Op, Opt
from dcsim.dcnet.ethernet import (
    BROADCAST,
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
from dcsim.ppp.link import DatagramReceived, Discarded

DREAMCAST_MAC = bytes.fromhex("0c0a0f0e0000")  # Flycast's emulated RTL8139 (flycast.md §2)
ARP_QUEUE = 8  # datagrams held per next hop while ARP resolves it (more are dropped)
RENEW_RETRY = 60.0  # s between renewal REQUESTs once T1 has passed (RFC 2131 §4.4.5: >= 60)


@dataclass(frozen=True)
class StaticAddress:
    """A console set up by hand: its address and netmask, router and DNS servers."""

    interface: IPv4Interface
    router: IPv4Address | None = None
    dns: tuple[IPv4Address, ...] = ()


@dataclass(frozen=True)
class BbaClientConfig:
    mac: bytes = DREAMCAST_MAC
    static: StaticAddress | None = None  # None: DHCP
    # [U] what the console's DHCP asks for: subnet mask, router, DNS (RFC 2132 codes)
    parameters: tuple[int, ...] = (Opt.SUBNET_MASK, Opt.ROUTER, Opt.DNS)
    # [U] retransmission of DISCOVER/REQUEST: RFC 2131 §4.1 suggests 4 s doubling to 64 s
    dhcp_timeouts: tuple[float, ...] = (4.0, 8.0, 16.0, 32.0, 64.0)
    arp_timeout: float = 1.0
    arp_tries: int = 3
    trace: bool = False

    def __post_init__(self) -> None:
        if len(self.mac) != 6 or self.mac[0] & 1:
            raise ValueError(f"{self.mac.hex(':')} is not a unicast Ethernet address")
        if not self.dhcp_timeouts:
            raise ValueError("dhcp_timeouts: at least one")


class BbaClientEnd(Enum):
    CLOSED = "closed on request"
    HUNG_UP = "the connection closed"
    NOT_DCNET = "the server's stream is not DCNet Ethernet"
    NO_LEASE = "no DHCP server gave an address"
    LEASE_EXPIRED = "the DHCP lease ran out without being renewed"


# What the title would show (dcsim.causes), as the PPP client's ends do.
_CAUSES = {
    BbaClientEnd.CLOSED: None,
    BbaClientEnd.HUNG_UP: Cause.NO_PHYSICAL_CONNECTION,
    BbaClientEnd.NOT_DCNET: Cause.NO_PHYSICAL_CONNECTION,
    BbaClientEnd.NO_LEASE: Cause.SERVER_DOWN,
    BbaClientEnd.LEASE_EXPIRED: Cause.SERVER_DOWN,
}


@dataclass(frozen=True, slots=True)
class EthernetUp:
    """The console has an address: it may send IP."""

    interface: IPv4Interface  # its address and netmask
    router: IPv4Address | None
    dns: tuple[IPv4Address, ...]
    mtu: int
    lease: float | None  # seconds (DHCP), None for a static address
    server: IPv4Address | None  # the DHCP server


class _Dhcp(Enum):
    """RFC 2131 §4.4's client states (INIT-REBOOT and REBOOTING are never used)."""

    SELECTING = auto()  # DISCOVER sent, waiting for an OFFER
    REQUESTING = auto()  # REQUEST sent for an offer, waiting for the ACK
    BOUND = auto()
    RENEWING = auto()  # past T1, REQUEST sent to the server
    STATIC = auto()  # no DHCP at all


@dataclass
class _Pending:
    """Datagrams waiting for a next hop's hardware address."""

    datagrams: list[bytes] = field(default_factory=list)
    tries: int = 0
    retry_at: float = 0.0


class BbaClient(RecordLink):
    """The console's adapter on one DCNet Ethernet connection (see the module docstring)."""

    HUNG_UP = BbaClientEnd.HUNG_UP
    NOT_DCNET = BbaClientEnd.NOT_DCNET
    CAUSES = _CAUSES

    def __init__(self, config: BbaClientConfig, now: float, *, rng: random.Random) -> None:
        super().__init__(config.trace)
        self.config = config
        self.rng = rng
        self.interface: IPv4Interface | None = None
        self.router: IPv4Address | None = None
        self.dns: tuple[IPv4Address, ...] = ()
        self.server: IPv4Address | None = None  # the DHCP server
        self.arp: dict[IPv4Address, bytes] = {}
        self._pending: dict[IPv4Address, _Pending] = {}
        self._out.append(record(PROLOG))
        self._xid = 0
        self._offer: DhcpMessage | None = None
        self._tries = 0
        self._retry_at: float | None = None
        self._renew_at: float | None = None
        self._expires_at: float | None = None
        static = config.static
        if static is None:
            self.state = _Dhcp.SELECTING
            self._discover(now)
        else:
            self.state = _Dhcp.STATIC
            self._bound(static.interface, static.router, static.dns, None)

    # -- the core interface -------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.interface is not None and not self.ended

    def receive_data(self, data: bytes, now: float) -> None:
        for raw in self._records(data):
            self._receive_frame(raw, now)
            if self.ended:
                return

    def handle_timer(self, now: float) -> None:
        if self.ended:
            return
        if self._expires_at is not None and now >= self._expires_at:
            self._end(BbaClientEnd.LEASE_EXPIRED, f"lease from {self.server}")
            return
        if self._retry_at is not None and now >= self._retry_at:
            self._retry(now)
        if self._renew_at is not None and now >= self._renew_at:
            self._renew(now)
        for hop, pending in list(self._pending.items()):
            if now >= pending.retry_at:
                self._arp_retry(hop, pending, now)

    def deadline(self) -> float | None:
        if self.ended:
            return None
        times = [self._retry_at, self._renew_at, self._expires_at]
        times += [p.retry_at for p in self._pending.values()]
        present = [t for t in times if t is not None]
        return min(present) if present else None

    def send_datagram(self, datagram: bytes, now: float) -> bool:
        """An IPv4 datagram from the console's stack: to its next hop on the Ethernet."""
        if not self.online or len(datagram) > MTU:
            return False
        try:
            destination = Ipv4Repr.parse(Ipv4View(datagram), verify_checksum=False).dst
        except WireError as e:
            self._events.append(Discarded(f"own datagram: {e}"))
            return False
        hop = self._next_hop(destination)
        if hop is None:
            self._events.append(Discarded(f"no route to {destination}"))
            return False
        if hop == LIMITED_BROADCAST or self._is_subnet_broadcast(hop):
            self._send_frame(BROADCAST, EtherType.IPV4, datagram)
            return True
        mac = self.arp.get(hop)
        if mac is not None:
            self._send_frame(mac, EtherType.IPV4, datagram)
            return True
        pending = self._pending.get(hop)
        if pending is None:
            pending = self._pending[hop] = _Pending()
            self._arp_retry(hop, pending, now)
        if len(pending.datagrams) >= ARP_QUEUE:
            self._events.append(Discarded(f"ARP queue for {hop} full"))
            return False
        pending.datagrams.append(datagram)
        return True

    def close(self, now: float) -> None:
        """Hang up: release a DHCP lease (Flycast closes the connection on it), then end."""
        if self.ended:
            return
        if self.state in (_Dhcp.BOUND, _Dhcp.RENEWING) and self.interface is not None:
            release = self._message(
                MessageType.RELEASE,
                ciaddr=self.interface.ip,
                options=((Opt.SERVER_ID, self._server_id()),),
            )
            server = self.server or LIMITED_BROADCAST
            mac = self.arp.get(server, BROADCAST)
            self._send_dhcp(release, self.interface.ip, server, mac)
        self._end(BbaClientEnd.CLOSED)

    # -- DHCP ---------------------------------------------------------------------------

    def _message(
        self,
        kind: MessageType,
        *,
        ciaddr: IPv4Address = dhcp.ANY,
        options: tuple[tuple[int, bytes], ...] = (),
    ) -> DhcpMessage:
        head: tuple[tuple[int, bytes], ...] = ((Opt.MESSAGE_TYPE, bytes((kind,))),)
        if kind != MessageType.RELEASE:
            head += ((Opt.PARAMETER_LIST, bytes(self.config.parameters)),)
        return DhcpMessage(Op.BOOTREQUEST, self._xid, self.config.mac, head + options, ciaddr)

    def _server_id(self) -> bytes:
        return (self.server or dhcp.ANY).packed

    def _discover(self, now: float) -> None:
        self.state = _Dhcp.SELECTING
        self._xid = self.rng.getrandbits(32)
        self._offer = None
        self._broadcast(self._message(MessageType.DISCOVER))
        self._arm(now)

    def _request(self, offer: DhcpMessage, now: float) -> None:
        self.state = _Dhcp.REQUESTING
        self._offer = offer
        server = offer.address_option(Opt.SERVER_ID) or offer.siaddr
        options = ((Opt.REQUESTED_ADDRESS, offer.yiaddr.packed), (Opt.SERVER_ID, server.packed))
        self._broadcast(self._message(MessageType.REQUEST, options=options))
        self._arm(now)

    def _arm(self, now: float) -> None:
        """Wait for the answer: the next retransmission time, or None after the last."""
        timeouts = self.config.dhcp_timeouts
        self._retry_at = now + timeouts[min(self._tries, len(timeouts) - 1)]
        self._tries += 1

    def _retry(self, now: float) -> None:
        if self.state not in (_Dhcp.SELECTING, _Dhcp.REQUESTING):
            self._retry_at = None
            return
        if self._tries >= len(self.config.dhcp_timeouts):
            self._end(BbaClientEnd.NO_LEASE, f"after {self._tries} attempts")
            return
        if self.state is _Dhcp.REQUESTING and self._offer is not None:
            self._request(self._offer, now)
        else:
            self._discover(now)

    def _renew(self, now: float) -> None:
        """Past T1: ask the server that leased the address to extend it (RFC 2131 §4.4.5)."""
        assert self.interface is not None
        self.state = _Dhcp.RENEWING
        self._xid = self.rng.getrandbits(32)
        request = self._message(MessageType.REQUEST, ciaddr=self.interface.ip)
        self._send_ipv4_dhcp(request, now)
        self._renew_at = now + RENEW_RETRY

    def _send_ipv4_dhcp(self, message: DhcpMessage, now: float) -> None:
        """A DHCP message from the bound address to the server, routed like any datagram."""
        assert self.interface is not None and self.server is not None
        self.send_datagram(_dhcp_datagram(message, self.interface.ip, self.server), now)

    def _broadcast(self, message: DhcpMessage) -> None:
        self._send_dhcp(message, dhcp.ANY, LIMITED_BROADCAST, BROADCAST)

    def _send_dhcp(
        self, message: DhcpMessage, source: IPv4Address, destination: IPv4Address, mac: bytes
    ) -> None:
        self._send_frame(mac, EtherType.IPV4, _dhcp_datagram(message, source, destination))

    def _receive_dhcp(self, message: DhcpMessage, now: float) -> None:
        if message.op != Op.BOOTREPLY or message.xid != self._xid:
            return
        if message.chaddr != self.config.mac:
            return
        kind = message.message_type
        if kind == MessageType.OFFER and self.state is _Dhcp.SELECTING:
            self._tries = 0
            self._request(message, now)
        elif kind == MessageType.ACK and self.state in (_Dhcp.REQUESTING, _Dhcp.RENEWING):
            self._acknowledged(message, now)
        elif kind == MessageType.NAK and self.state in (_Dhcp.REQUESTING, _Dhcp.RENEWING):
            text = message.option(Opt.MESSAGE) or b""
            self._events.append(Discarded(f"DHCPNAK: {text.decode('latin-1')}"))
            if self.state is _Dhcp.RENEWING:
                self._end(BbaClientEnd.LEASE_EXPIRED, "the server refused the renewal")
            else:
                self._discover(now)

    def _acknowledged(self, ack: DhcpMessage, now: float) -> None:
        renewing = self.state is _Dhcp.RENEWING
        self.state = _Dhcp.BOUND
        self._retry_at = None
        self._tries = 0
        lease_option = ack.option(Opt.LEASE_TIME)
        lease = int.from_bytes(lease_option, "big") if lease_option else None
        t1_option = ack.option(Opt.RENEWAL_TIME)
        if lease is None or lease == 0xFFFFFFFF:  # RFC 2131 §3.3: infinite
            self._renew_at = self._expires_at = None
        else:
            t1 = int.from_bytes(t1_option, "big") if t1_option else lease // 2
            self._renew_at = now + min(t1, lease)
            self._expires_at = now + lease
        if renewing:
            return
        mask = ack.address_option(Opt.SUBNET_MASK) or IPv4Address("255.255.255.255")
        try:
            interface = IPv4Interface(f"{ack.yiaddr}/{mask}")
        except ValueError:
            interface = IPv4Interface(f"{ack.yiaddr}/32")
        router_option = ack.option(Opt.ROUTER) or b""
        router = IPv4Address(router_option[:4]) if len(router_option) >= 4 else None
        dns_option = ack.option(Opt.DNS) or b""
        dns = tuple(IPv4Address(dns_option[i : i + 4]) for i in range(0, len(dns_option) - 3, 4))
        self.server = ack.address_option(Opt.SERVER_ID) or ack.siaddr
        self._bound(interface, router, dns[:2], float(lease) if lease is not None else None)

    def _bound(
        self,
        interface: IPv4Interface,
        router: IPv4Address | None,
        dns: tuple[IPv4Address, ...],
        lease: float | None,
    ) -> None:
        self.interface = interface
        self.router = router
        self.dns = dns
        self._events.append(EthernetUp(interface, router, dns, MTU, lease, self.server))

    # -- ARP and IP -----------------------------------------------------------------------

    def _next_hop(self, destination: IPv4Address) -> IPv4Address | None:
        assert self.interface is not None
        if destination == LIMITED_BROADCAST or destination in self.interface.network:
            return destination
        return self.router

    def _is_subnet_broadcast(self, address: IPv4Address) -> bool:
        network = self.interface.network if self.interface is not None else None
        return (
            network is not None and network.prefixlen < 31 and address == network.broadcast_address
        )

    def _arp_retry(self, hop: IPv4Address, pending: _Pending, now: float) -> None:
        if pending.tries >= self.config.arp_tries:
            del self._pending[hop]
            self._events.append(
                Discarded(f"{len(pending.datagrams)} datagrams: no ARP reply from {hop}")
            )
            return
        assert self.interface is not None
        pending.tries += 1
        pending.retry_at = now + self.config.arp_timeout
        request = ArpPacket(ArpOperation.REQUEST, self.config.mac, self.interface.ip, bytes(6), hop)
        self._send_frame(BROADCAST, EtherType.ARP, request.pack())

    def _receive_frame(self, raw: bytes, now: float) -> None:
        frame = self._frame(raw)
        if frame is None:
            return
        if frame.dst not in (self.config.mac, BROADCAST):
            self._events.append(Discarded(f"frame for {frame.dst.hex(':')}"))
            return
        if frame.ethertype == EtherType.ARP:
            self._receive_arp(frame.payload, now)
        elif frame.ethertype == EtherType.IPV4:
            self._receive_ipv4(frame.payload, now)
        else:
            self._events.append(Discarded(f"EtherType 0x{frame.ethertype:04x}"))

    def _receive_arp(self, payload: bytes, now: float) -> None:
        try:
            arp = ArpPacket.parse(payload)
        except EthernetError as e:
            self._events.append(Discarded(str(e)))
            return
        if self.interface is None:
            return
        own = self.interface.ip
        if arp.sender_ip in self.interface.network or arp.sender_ip == self.router:
            self.arp[arp.sender_ip] = arp.sender_mac
            pending = self._pending.pop(arp.sender_ip, None)
            if pending is not None:
                for datagram in pending.datagrams:
                    self._send_frame(arp.sender_mac, EtherType.IPV4, datagram)
        if arp.operation == ArpOperation.REQUEST and arp.target_ip == own:
            reply = ArpPacket(
                ArpOperation.REPLY, self.config.mac, own, arp.sender_mac, arp.sender_ip
            )
            self._send_frame(arp.sender_mac, EtherType.ARP, reply.pack())

    def _receive_ipv4(self, payload: bytes, now: float) -> None:
        try:
            view = Ipv4View(payload)
            header = Ipv4Repr.parse(view)
        except WireError as e:
            self._events.append(Discarded(f"IPv4: {e}"))
            return
        if header.proto == UDP and _to_dhcp_client(view):
            try:
                udp = UdpRepr.parse(bytes(view.payload), header.src, header.dst)
                message = DhcpMessage.parse(udp.payload)
            except (WireError, DhcpError) as e:
                self._events.append(Discarded(f"DHCP: {e}"))
                return
            self._receive_dhcp(message, now)
            return
        if not self.online:
            self._events.append(Discarded(f"IPv4 for {header.dst} before an address"))
            return
        assert self.interface is not None
        if header.dst != self.interface.ip and not (
            header.dst == LIMITED_BROADCAST or self._is_subnet_broadcast(header.dst)
        ):
            self._events.append(Discarded(f"IPv4 for {header.dst}, not {self.interface.ip}"))
            return
        self._events.append(DatagramReceived(bytes(payload[: view.total_len])))

    # -- output and the end ---------------------------------------------------------------

    def _send_frame(self, destination: bytes, ethertype: EtherType, payload: bytes) -> None:
        self._send(EthernetFrame(destination, self.config.mac, ethertype, payload))

    def _finish(self) -> None:
        self._retry_at = self._renew_at = self._expires_at = None
        self._pending.clear()


def _dhcp_datagram(message: DhcpMessage, source: IPv4Address, destination: IPv4Address) -> bytes:
    """A client's DHCP message in UDP (68 to 67) in IPv4."""
    body = UdpRepr(dhcp.CLIENT_PORT, dhcp.SERVER_PORT, message.pack())
    return Ipv4Repr(source, destination, UDP, ttl=DHCP_TTL).emit(body.emit(source, destination))


def _to_dhcp_client(view: Ipv4View) -> bool:
    payload = view.payload
    return len(payload) >= 4 and int.from_bytes(payload[2:4], "big") == dhcp.CLIENT_PORT
