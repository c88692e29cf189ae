"""The IP layer of every simulated machine: interfaces, routing, forwarding and ICMP.

A :class:`Node` receives datagrams on its interfaces, applies each interface's policies
(filters, NAT, DNS interception, MSS clamping: see ``dcsim.net.policy``), delivers what is
addressed to it (reassembling fragments) to the transport handlers registered by
``VirtualHost``, and, when forwarding is on, routes the rest: TTL, ICMP time exceeded and
unreachable, fragmentation, and on an oversize DF datagram either ICMP
fragmentation-needed with the next-hop MTU (RFC 1191) or, on an interface configured as a
PMTUD black hole, silence.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import TYPE_CHECKING, Protocol

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from dcsim.edge import DeadlineTimer
from dcsim.net.policy import clamp_mss
from dcsim.net.reassembly import Reassembler
from dcsim.net.routing import Route, RoutingTable
from dcsim.net.wire import ipv4
from dcsim.net.wire.base import WireError
from dcsim.net.wire.icmp import IcmpRepr, IcmpType, TimeExceededCode, UnreachableCode
from dcsim.net.wire.ipv4 import DEFAULT_TTL, IpProto, Ipv4Repr, fragment

if TYPE_CHECKING:
    from dcsim.net.link import Channel

log = Logger()

PMTU_TIMEOUT = 600.0  # RFC 1191 6.3: forget a reduced path MTU after 10 minutes
ICMP = int(IpProto.ICMP)
TCP = int(IpProto.TCP)
UDP = int(IpProto.UDP)


@dataclass(frozen=True, slots=True)
class Datagram:
    """A parsed datagram on its way: the header and the payload bytes."""

    header: Ipv4Repr
    payload: bytes

    def emit(self) -> bytes:
        return self.header.emit(self.payload)


class Policy(Protocol):
    """Something an interface does to datagrams crossing it (see ``dcsim.net.policy``).

    ``inbound`` sees datagrams arriving on the interface before routing, ``outbound``
    those leaving through it after routing (forwarded or sent by the node itself). Return
    the datagram (rewritten or not), or None to drop it; the policy logs why.
    """

    def inbound(self, node: Node, iface: Interface, dg: Datagram) -> Datagram | None: ...

    def outbound(self, node: Node, iface: Interface, dg: Datagram) -> Datagram | None: ...


class Interface:
    """A node's attachment to a link. ``address`` may be None for an unnumbered interface
    (a subscriber port borrows the node's main address)."""

    def __init__(
        self,
        node: Node,
        name: str,
        address: IPv4Interface | None,
        *,
        frag_needed: bool = True,
        mss_clamp: int | None = None,
    ) -> None:
        self.node = node
        self.name = name
        self.address = address
        self.frag_needed = frag_needed  # False: a PMTUD black hole on this interface
        self.mss_clamp = mss_clamp
        self.policies: list[Policy] = []
        self.mtu = 1500
        self.peer: Interface | None = None
        self._channel: Channel | None = None
        self._send: Callable[[bytes], None] | None = None

    def attach(self, channel: Channel, mtu: int, peer: Interface | None = None) -> None:
        self._channel = channel
        self._send = channel.send
        self.mtu = mtu
        self.peer = peer

    def attach_callable(self, send: Callable[[bytes], None], mtu: int) -> None:
        """Attach to something that is not a Channel (a subscriber port's deliver)."""
        self._channel = None
        self._send = send
        self.mtu = mtu

    def detach(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self._channel = None
        self._send = None

    def transmit(self, data: bytes) -> None:
        if self._send is None:
            self.node.drop("interface down", self.name)
            return
        self._send(data)

    def receive(self, data: bytes) -> None:
        self.node.receive(self, data)

    def __str__(self) -> str:
        return f"{self.node.name}/{self.name}"


class Node:
    """An IPv4 node. Hosts leave ``forwarding`` off; routers turn it on."""

    def __init__(
        self,
        clock: IReactorTime,
        name: str,
        *,
        forwarding: bool = False,
        rng: random.Random | None = None,
        ttl: int = DEFAULT_TTL,
    ) -> None:
        self.clock = clock
        self.name = name
        self.forwarding = forwarding
        self.rng = rng if rng is not None else random.Random(name)
        self.ttl = ttl
        self.interfaces: dict[str, Interface] = {}
        self.routes = RoutingTable()
        self.addresses: set[IPv4Address] = set()
        self.loopbacks: list[IPv4Address] = []
        self.accept_any = False  # deliver every datagram locally (a transparent gateway)
        self.answer_echo = True
        self.handlers: dict[int, Callable[[Datagram, Interface], None]] = {}
        self.error_handlers: dict[int, Callable[[IcmpRepr, Ipv4Repr, bytes], None]] = {}
        self.drops: Counter[str] = Counter()
        self.reassembler = Reassembler()
        # lazy: a later fragment's deadline is later; the call stays at the earliest
        self._reassembly_timer = DeadlineTimer(self.clock, self._expire_fragments, lazy=True)
        self._ident = self.rng.randrange(0x10000)
        self._pmtu: dict[IPv4Address, tuple[int, float]] = {}
        self.handlers[ICMP] = self._icmp_input

    # --- configuration ---------------------------------------------------------------

    def add_interface(
        self, name: str, address: IPv4Interface | str | None = None, **options: object
    ) -> Interface:
        if name in self.interfaces:
            raise ValueError(f"{self.name} already has an interface {name!r}")
        addr = IPv4Interface(address) if address is not None else None
        iface = Interface(self, name, addr, **options)  # type: ignore[arg-type]
        self.interfaces[name] = iface
        if addr is not None:
            self.addresses.add(addr.ip)
            if addr.network.prefixlen < 32:
                self.routes.add(Route(addr.network, iface))
        return iface

    def add_address(self, address: IPv4Address | str) -> None:
        """An extra address of the node itself (a loopback), reachable on any interface."""
        self.addresses.add(IPv4Address(address))
        self.loopbacks.append(IPv4Address(address))

    def remove_interface(self, iface: Interface) -> None:
        iface.detach()
        self.interfaces.pop(iface.name, None)
        self.routes.remove_interface(iface)
        if iface.address is not None and not any(
            i.address is not None and i.address.ip == iface.address.ip
            for i in self.interfaces.values()
        ):
            self.addresses.discard(iface.address.ip)

    def add_route(
        self,
        network: IPv4Network | str,
        iface: Interface,
        via: IPv4Address | str | None = None,
        metric: int = 0,
    ) -> None:
        self.routes.add(
            Route(IPv4Network(network), iface, IPv4Address(via) if via else None, metric)
        )

    @property
    def address(self) -> IPv4Address:
        """The node's main address: its first loopback, else its first interface address."""
        if self.loopbacks:
            return self.loopbacks[0]
        for iface in self.interfaces.values():
            if iface.address is not None:
                return iface.address.ip
        raise LookupError(f"{self.name} has no address")

    def networks(self) -> Iterable[IPv4Network]:
        """The networks this node is directly on (for automatic routing)."""
        for iface in self.interfaces.values():
            if iface.address is not None:
                yield iface.address.network
        for address in self.loopbacks:
            yield IPv4Network(address)

    def drop(self, reason: str, detail: object = "") -> None:
        self.drops[reason] += 1
        log.debug(
            "{node}: dropped: {reason} {detail}", node=self.name, reason=reason, detail=detail
        )

    # --- input ---------------------------------------------------------------------------

    def receive(self, iface: Interface, data: bytes) -> None:
        try:
            view = ipv4.Ipv4View(data)
            header = Ipv4Repr.parse(view)
        except WireError as e:
            self.drop("undecodable", e)
            return
        payload = view.payload
        if len(data) != view.total_len:
            data = bytes(data[: view.total_len])
        dg = Datagram(header, bytes(payload))
        for policy in iface.policies:
            result = policy.inbound(self, iface, dg)
            if result is None:
                return
            if result is not dg:
                dg = result
                data = b""  # rewritten: emit again when forwarding
        dst = dg.header.dst
        if (
            dst in self.addresses
            or self.accept_any
            or (dst.packed[3] == 255 and (self._is_broadcast(dst)))
        ):
            self._deliver(dg, iface, data)
        elif self.forwarding:
            self._forward(dg, iface, data)
        else:
            self.drop("not for us", dst)

    def _is_broadcast(self, dst: IPv4Address) -> bool:
        if dst == IPv4Address("255.255.255.255"):
            return True
        return any(
            i.address is not None
            and i.address.network.prefixlen < 31  # RFC 3021: /31 links have no broadcast
            and i.address.network.broadcast_address == dst
            for i in self.interfaces.values()
        )

    def _deliver(self, dg: Datagram, iface: Interface, data: bytes) -> None:
        header = dg.header
        if header.mf or header.frag_offset:
            whole = self.reassembler.add(
                header, dg.payload, self.clock.seconds(), data or dg.emit()
            )
            self._arm_reassembly()
            if whole is None:
                return
            dg = Datagram(*whole)
        handler = self.handlers.get(header.proto)
        if handler is None:
            self.drop("no such protocol", header.proto)
            self.send_icmp_error(dg, IcmpRepr.unreachable, UnreachableCode.PROTOCOL)
            return
        handler(dg, iface)

    def _arm_reassembly(self) -> None:
        self._reassembly_timer.at(self.reassembler.deadline())

    def _expire_fragments(self, _deadline: float) -> None:
        for expired in self.reassembler.expire(self.clock.seconds()):
            self.drop("reassembly timeout", expired.key)
            if expired.first_fragment:
                header, payload = ipv4.parse(expired.first_fragment)
                self.send_icmp_error(
                    Datagram(header, bytes(payload)),
                    IcmpRepr.time_exceeded,
                    TimeExceededCode.REASSEMBLY,
                )
        self._arm_reassembly()

    # --- forwarding ----------------------------------------------------------------------

    def _forward(self, dg: Datagram, in_iface: Interface, data: bytes) -> None:
        header = dg.header
        if header.ttl <= 1:
            self.drop("ttl exceeded", header.dst)
            self.send_icmp_error(dg, IcmpRepr.time_exceeded, TimeExceededCode.TTL)
            return
        route = self.routes.lookup(header.dst)
        if route is None:
            self.drop("no route", header.dst)
            self.send_icmp_error(dg, IcmpRepr.unreachable, UnreachableCode.NET)
            return
        out = route.interface
        clamp = _min_clamp(in_iface.mss_clamp, out.mss_clamp)
        if clamp is not None and header.proto == TCP:
            clamped = clamp_mss(dg, clamp)
            if clamped is not dg:
                dg, data = clamped, b""
        for policy in out.policies:
            result = policy.outbound(self, out, dg)
            if result is None:
                return
            if result is not dg:
                dg, data = result, b""
        header = dg.header
        if data:
            data = _decrement_ttl(data)
        else:
            dg = Datagram(_with_ttl(header, header.ttl - 1), dg.payload)
            data = dg.emit()
        if len(data) > out.mtu:
            self._too_big(dg, out, data)
            return
        out.transmit(data)

    def _too_big(self, dg: Datagram, out: Interface, data: bytes) -> None:
        header = dg.header
        if header.df:
            if out.frag_needed:
                self.drop("fragmentation needed", f"{len(data)} > {out.mtu}")
                self.send_icmp_error(
                    dg, IcmpRepr.unreachable, UnreachableCode.FRAG_NEEDED, next_hop_mtu=out.mtu
                )
            else:
                self.drop("black hole: DF datagram too big, no ICMP", f"{len(data)} > {out.mtu}")
            return
        parsed, payload = ipv4.parse(data, verify_checksum=False)
        for piece in fragment(parsed, payload, out.mtu):
            out.transmit(piece)

    # --- output --------------------------------------------------------------------------

    def next_ident(self) -> int:
        self._ident = (self._ident + 1) & 0xFFFF
        return self._ident

    def source_for(self, dst: IPv4Address) -> IPv4Address:
        """The source address for a datagram to *dst*: the node's first loopback if it has
        one (like Linux's ``ip route ... src``), else the outgoing interface's address."""
        if self.loopbacks:
            return self.loopbacks[0]
        route = self.routes.lookup(dst)
        if route is not None and route.interface.address is not None:
            return route.interface.address.ip
        return self.address

    def path_mtu(self, dst: IPv4Address) -> int:
        """The MTU towards *dst*: the outgoing interface, lowered by ICMP (RFC 1191)."""
        route = self.routes.lookup(dst)
        mtu = route.interface.mtu if route is not None else 576
        cached = self._pmtu.get(dst)
        if cached is not None:
            if cached[1] > self.clock.seconds():
                return min(mtu, cached[0])
            del self._pmtu[dst]
        return mtu

    def learn_path_mtu(self, dst: IPv4Address, mtu: int) -> None:
        self._pmtu[dst] = (max(ipv4.MIN_MTU, mtu), self.clock.seconds() + PMTU_TIMEOUT)

    def send(
        self,
        proto: int,
        dst: IPv4Address,
        payload: bytes,
        *,
        src: IPv4Address | None = None,
        df: bool = False,
        ttl: int | None = None,
    ) -> bool:
        """Send a transport payload from this node; False if it could not leave."""
        header = Ipv4Repr(
            src if src is not None else self.source_for(dst),
            dst,
            proto,
            ttl if ttl is not None else self.ttl,
            self.next_ident(),
            df,
        )
        return self.send_datagram(Datagram(header, payload))

    def send_datagram(self, dg: Datagram) -> bool:
        header = dg.header
        if header.dst in self.addresses:
            # Loopback: delivered through the clock so the sender is never re-entered.
            self.clock.callLater(0, self._deliver, dg, _LOOPBACK, b"")
            return True
        route = self.routes.lookup(header.dst)
        if route is None:
            self.drop("no route (local)", header.dst)
            return False
        out = route.interface
        for policy in out.policies:
            result = policy.outbound(self, out, dg)
            if result is None:
                return False
            dg = result
        data = dg.emit()
        if len(data) <= out.mtu:
            out.transmit(data)
            return True
        if dg.header.df:
            self.drop("message too long for DF", f"{len(data)} > {out.mtu}")
            self.learn_path_mtu(header.dst, out.mtu)
            return False
        for piece in fragment(dg.header, dg.payload, out.mtu):
            out.transmit(piece)
        return True

    # --- ICMP ----------------------------------------------------------------------------

    def send_icmp_error(
        self, dg: Datagram, build: Callable[..., IcmpRepr], code: int, **kw: int
    ) -> None:
        """Answer *dg* with an ICMP error, unless RFC 1122 3.2.2 forbids it."""
        header = dg.header
        if header.frag_offset:
            return  # only about the first fragment
        if header.proto == ICMP and dg.payload[:1] and dg.payload[0] not in _INFO_TYPES:
            return  # never an error about an error
        if (
            header.src.packed[0] in (0, 127)
            or header.src.is_multicast
            or self._is_broadcast(header.dst)
        ):
            return
        original = dg.header.emit(dg.payload[:_QUOTE])
        icmp = build(code, original, **kw)
        self.send(ICMP, header.src, icmp.emit())

    def _icmp_input(self, dg: Datagram, iface: Interface) -> None:
        try:
            icmp = IcmpRepr.parse(dg.payload)
        except WireError as e:
            self.drop("undecodable icmp", e)
            return
        if icmp.type == IcmpType.ECHO_REQUEST:
            if self.answer_echo:
                reply = IcmpRepr(IcmpType.ECHO_REPLY, 0, icmp.rest, icmp.data)
                self.send(ICMP, dg.header.src, reply.emit(), src=dg.header.dst)
            return
        if not icmp.is_error:
            handler = self.error_handlers.get(-1)  # echo replies and other queries
            if handler is not None:
                handler(icmp, dg.header, b"")
            return
        try:
            inner, inner_payload, original_len = _parse_quoted(icmp.data)
        except WireError as e:
            self.drop("undecodable icmp quote", e)
            return
        if icmp.type == IcmpType.DEST_UNREACHABLE and icmp.code == UnreachableCode.FRAG_NEEDED:
            mtu = icmp.next_hop_mtu or _plateau_below(original_len)
            self.learn_path_mtu(inner.dst, mtu)
        handler = self.error_handlers.get(inner.proto)
        if handler is not None:
            handler(icmp, inner, inner_payload)


_QUOTE = 576 - 20 - 8 - 20  # quote as much as fits in a 576-byte ICMP datagram
_INFO_TYPES = frozenset({0, 8, 13, 14, 15, 16, 17, 18})
# RFC 1191 7.1: MTU plateaus, for routers that send fragmentation-needed without an MTU.
_PLATEAUS = (65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68)


def _plateau_below(size: int) -> int:
    return next((p for p in _PLATEAUS if p < size), 68)


class _Loopback:
    """The pseudo-interface of datagrams a node sends to itself."""

    name = "lo"
    policies: tuple[()] = ()
    mss_clamp = None
    address = None


_LOOPBACK: Interface = _Loopback()  # type: ignore[assignment]


def _parse_quoted(data: bytes) -> tuple[Ipv4Repr, bytes, int]:
    """The header, leading payload and original length of the datagram quoted in an ICMP
    error (the quote is usually truncated)."""
    if len(data) < 20:
        raise WireError("icmp", "quoted datagram shorter than an IPv4 header", 8)
    header_len = (data[0] & 0x0F) * 4
    total = int.from_bytes(data[2:4], "big")
    # The quote is truncated: fix the total length so the view accepts it.
    fixed = data[:2] + min(total, len(data)).to_bytes(2, "big") + data[4:]
    view = ipv4.Ipv4View(fixed)
    header = Ipv4Repr.parse(view, verify_checksum=False)
    return header, bytes(fixed[header_len:]), total


def _min_clamp(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _with_ttl(header: Ipv4Repr, ttl: int) -> Ipv4Repr:
    return replace(header, ttl=ttl)


def _decrement_ttl(data: bytes) -> bytes:
    """TTL minus one with the checksum updated incrementally (RFC 1624, eqn. 3)."""
    buf = bytearray(data)
    buf[8] -= 1
    # The TTL is the high byte of its 16-bit word: the word decreased by 0x0100.
    csum = ((buf[10] << 8) | buf[11]) + 0x0100
    csum = (csum & 0xFFFF) + (csum >> 16)
    buf[10] = csum >> 8
    buf[11] = csum & 0xFF
    return bytes(buf)
