"""Address rewriting policies: NAT (address and port translation) and DNS interception.

Both rewrite datagrams in place of a real middlebox and fix checksums incrementally
(RFC 1624), so they work on the first fragment of a fragmented datagram too.

:class:`Nat` sits on a router's outside interface (a home broadband router, a carrier
NAT). It keeps endpoint-independent mappings (RFC 4787 REQ-1: one outside port per inside
address and port, whatever the destination) and, unless ``filtering`` is
``"address-dependent"``, lets any outside host use a mapping once it exists (a "full cone"
NAT, as many 2000s home routers were). ICMP echo identifiers are mapped like ports, and
ICMP errors about translated datagrams are translated back, quoted header included (so
fragmentation-needed reaches the inside host and PMTUD works through the NAT).
Static ``forwards`` open inside services to the outside ("port forwarding").

:class:`DnsIntercept` is the transparent DNS proxy of §6.1 of the research notes: every
UDP datagram to port 53 arriving on the interface is sent to ``resolver`` instead,
whatever address the client chose, and the answers come back with the address the client
asked, so the client cannot tell.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Literal

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from dcsim.net.node import ICMP, TCP, UDP, Datagram, _parse_quoted
from dcsim.net.wire.base import WireError
from dcsim.net.wire.checksum import finish, ones_sum
from dcsim.net.wire.icmp import ERROR_TYPES, IcmpRepr, IcmpType

if TYPE_CHECKING:
    from dcsim.net.node import Interface, Node

log = Logger()

# RFC 4787 REQ-5: UDP mappings last at least 2 minutes (5 recommended); RFC 5382 REQ-5:
# established TCP at least 2 h 4 min; ICMP query mappings 60 s (RFC 5508 REQ-1).
TIMEOUTS = {UDP: 300.0, TCP: 7440.0, ICMP: 60.0}
_CHECKSUM_AT = {TCP: 16, UDP: 6, ICMP: 2}


def _adjust(checksum: int, old: bytes, new: bytes) -> int:
    """RFC 1624 eqn. 3: the checksum after *old* bytes (even length) became *new*."""
    total = (0xFFFF - checksum) + 0xFFFF * 2 - ones_sum(old) + ones_sum(new)
    return finish(total)


def rewrite(
    dg: Datagram,
    *,
    src: IPv4Address | None = None,
    sport: int | None = None,
    dst: IPv4Address | None = None,
    dport: int | None = None,
) -> Datagram:
    """*dg* with new addresses and/or ports (for ICMP queries, ``sport`` is the
    identifier); transport checksums are adjusted, the IP header is emitted afresh."""
    header = dg.header
    payload = bytearray(dg.payload)
    proto = header.proto
    new_src = src if src is not None else header.src
    new_dst = dst if dst is not None else header.dst
    first = header.frag_offset == 0
    at = _CHECKSUM_AT.get(proto)
    if first and at is not None and len(payload) >= at + 2:
        old_csum = int.from_bytes(payload[at : at + 2], "big")
        if not (proto == UDP and old_csum == 0):
            old_bytes = bytearray()
            new_bytes = bytearray()
            if proto != ICMP:  # the pseudo-header
                old_bytes += header.src.packed + header.dst.packed
                new_bytes += new_src.packed + new_dst.packed
            if proto == ICMP:  # a query: the identifier
                if sport is not None:
                    payload[4:6] = sport.to_bytes(2, "big")
                old_bytes += dg.payload[4:6]
                new_bytes += payload[4:6]
            else:
                old_bytes += dg.payload[0:4]
                if sport is not None:
                    payload[0:2] = sport.to_bytes(2, "big")
                if dport is not None:
                    payload[2:4] = dport.to_bytes(2, "big")
                new_bytes += payload[0:4]
            csum = _adjust(old_csum, bytes(old_bytes), bytes(new_bytes))
            if proto == UDP and csum == 0:
                csum = 0xFFFF
            payload[at : at + 2] = csum.to_bytes(2, "big")
        elif proto == UDP:
            if sport is not None:
                payload[0:2] = sport.to_bytes(2, "big")
            if dport is not None:
                payload[2:4] = dport.to_bytes(2, "big")
    return Datagram(replace(header, src=new_src, dst=new_dst), bytes(payload))


def _ports(dg: Datagram) -> tuple[int, int] | None:
    """(source port, destination port), or (identifier, identifier) for an ICMP query."""
    p = dg.payload
    if dg.header.frag_offset:
        return None
    if dg.header.proto in (TCP, UDP) and len(p) >= 4:
        return int.from_bytes(p[0:2], "big"), int.from_bytes(p[2:4], "big")
    if dg.header.proto == ICMP and len(p) >= 8 and p[0] in _QUERIES:
        ident = int.from_bytes(p[4:6], "big")
        return ident, ident
    return None


_QUERIES = {IcmpType.ECHO_REQUEST, IcmpType.ECHO_REPLY}


def _quoted(dg: Datagram) -> Datagram | None:
    """The datagram quoted in an ICMP error, if *dg* is one and it parses."""
    p = dg.payload
    if dg.header.proto != ICMP or len(p) < 28 or p[0] not in ERROR_TYPES:
        return None
    try:
        header, payload, _ = _parse_quoted(bytes(p[8:]))
    except WireError:
        return None
    return Datagram(header, payload)


def _with_quote(dg: Datagram, quoted: Datagram, outer: dict[str, IPv4Address]) -> Datagram:
    """*dg* (an ICMP error) with its quote replaced, checksum recomputed."""
    icmp = IcmpRepr.parse(dg.payload, verify_checksum=False)
    data = quoted.header.emit(quoted.payload)
    # Keep the quoted total length as it was (the quote is truncated).
    data = data[:2] + dg.payload[8 + 2 : 8 + 4] + data[4:]
    fixed = bytearray(data)
    fixed[10:12] = b"\0\0"
    fixed[10:12] = finish(ones_sum(fixed[:20])).to_bytes(2, "big")
    header = replace(dg.header, **outer)
    return Datagram(header, replace(icmp, data=bytes(fixed)).emit())


@dataclass
class _Mapping:
    proto: int
    inside: IPv4Address
    inside_port: int
    outside_port: int
    last_used: float
    peers: set[IPv4Address]


class Nat:
    """Address and port translation on an outside interface (``Policy``)."""

    def __init__(
        self,
        clock: IReactorTime,
        *,
        inside: list[IPv4Network] | None = None,
        external: IPv4Address | None = None,
        filtering: Literal["endpoint-independent", "address-dependent"] = ("endpoint-independent"),
        forwards: dict[tuple[int, int], tuple[IPv4Address, int]] | None = None,
        timeouts: dict[int, float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.inside = inside
        self.external = external
        self.filtering = filtering
        self.forwards: dict[tuple[int, int], tuple[IPv4Address, int]] = {}
        self._forwarded: dict[tuple[int, IPv4Address, int], int] = {}
        for (proto, port), (inside, inside_port) in (forwards or {}).items():
            self.forward(proto, port, inside, inside_port)
        self.timeouts = {**TIMEOUTS, **(timeouts or {})}
        self.rng = rng or random.Random(0)
        self._out: dict[tuple[int, IPv4Address, int], _Mapping] = {}
        self._in: dict[tuple[int, int], _Mapping] = {}
        self._fragments: dict[tuple[IPv4Address, int], IPv4Address] = {}

    def _external(self, iface: Interface) -> IPv4Address:
        if self.external is not None:
            return self.external
        if iface.address is None:
            raise ValueError(f"NAT on {iface} needs an external address")
        return iface.address.ip

    def _is_inside(self, address: IPv4Address, external: IPv4Address) -> bool:
        if address == external:
            return False
        if self.inside is None:
            return True
        return any(address in net for net in self.inside)

    def forward(self, proto: int, port: int, inside: IPv4Address, inside_port: int) -> None:
        """Send what arrives at the outside *port* to *inside*:*inside_port*."""
        self.forwards[(proto, port)] = (inside, inside_port)
        self._forwarded[(proto, inside, inside_port)] = port

    def mappings(self) -> list[tuple[str, str, int, int]]:
        """(protocol, inside address, inside port, outside port) of the live mappings."""
        names = {TCP: "tcp", UDP: "udp", ICMP: "icmp"}
        return [
            (names[m.proto], str(m.inside), m.inside_port, m.outside_port)
            for m in self._out.values()
        ]

    # --- outbound: inside -> outside -------------------------------------------------------

    def outbound(self, node: Node, iface: Interface, dg: Datagram) -> Datagram | None:
        external = self._external(iface)
        header = dg.header
        if not self._is_inside(header.src, external):
            return dg
        quoted = _quoted(dg)
        if quoted is not None:  # an inside host's ICMP error about an inbound datagram
            return self._outbound_error(dg, quoted, external)
        if header.frag_offset:
            return rewrite(dg, src=external)
        ports = _ports(dg)
        if ports is None:
            return rewrite(dg, src=external)
        forwarded = self._forwarded.get((header.proto, header.src, ports[0]))
        if forwarded is not None:  # a reply from a port-forwarded inside service
            return rewrite(dg, src=external, sport=forwarded)
        now = self.clock.seconds()
        mapping = self._map(header.proto, header.src, ports[0], now)
        if mapping is None:
            node.drop("nat: no free port", header.src)
            return None
        mapping.peers.add(header.dst)
        if header.mf:
            self._fragments[(header.dst, header.ident)] = header.src
        return rewrite(dg, src=external, sport=mapping.outside_port)

    def _outbound_error(self, dg: Datagram, quoted: Datagram, external: IPv4Address) -> Datagram:
        ports = _ports(quoted)
        inner = quoted
        if ports is not None:
            mapping = self._out.get((quoted.header.proto, quoted.header.dst, ports[1]))
            if mapping is not None:
                inner = rewrite(quoted, dst=external, dport=mapping.outside_port)
        return _with_quote(dg, inner, {"src": external})

    def _map(self, proto: int, inside: IPv4Address, port: int, now: float) -> _Mapping | None:
        key = (proto, inside, port)
        mapping = self._out.get(key)
        if mapping is not None and now - mapping.last_used <= self.timeouts[proto]:
            mapping.last_used = now
            return mapping
        if mapping is not None:
            self._forget(mapping)
        outside = self._free_port(proto, port, now)
        if outside is None:
            return None
        mapping = _Mapping(proto, inside, port, outside, now, set())
        self._out[key] = mapping
        self._in[(proto, outside)] = mapping
        log.debug("nat: {inside}:{port} -> :{outside}", inside=inside, port=port, outside=outside)
        return mapping

    def _free_port(self, proto: int, wanted: int, now: float) -> int | None:
        def free(port: int) -> bool:
            if (proto, port) in self.forwards:
                return False
            old = self._in.get((proto, port))
            if old is None:
                return True
            if now - old.last_used > self.timeouts[proto]:
                self._forget(old)
                return True
            return False

        if wanted >= 1024 and free(wanted):  # keep the port when it is free, as most do
            return wanted
        start = self.rng.randrange(1024, 65536)
        for i in range(65536 - 1024):
            port = 1024 + (start - 1024 + i) % (65536 - 1024)
            if free(port):
                return port
        return None

    def _forget(self, mapping: _Mapping) -> None:
        self._out.pop((mapping.proto, mapping.inside, mapping.inside_port), None)
        self._in.pop((mapping.proto, mapping.outside_port), None)

    # --- inbound: outside -> inside ---------------------------------------------------------

    def inbound(self, node: Node, iface: Interface, dg: Datagram) -> Datagram | None:
        external = self._external(iface)
        header = dg.header
        if header.dst != external:
            return dg
        quoted = _quoted(dg)
        if quoted is not None:
            return self._inbound_error(dg, quoted, external)
        if header.frag_offset:
            inside = self._fragments.get((header.src, header.ident))
            return rewrite(dg, dst=inside) if inside is not None else dg
        ports = _ports(dg)
        if ports is None:
            return dg
        forward = self.forwards.get((header.proto, ports[1]))
        if forward is not None:
            return rewrite(dg, dst=forward[0], dport=forward[1])
        mapping = self._in.get((header.proto, ports[1]))
        now = self.clock.seconds()
        if mapping is None or now - mapping.last_used > self.timeouts[header.proto]:
            return dg  # for the router itself, or an expired mapping: it answers
        if self.filtering == "address-dependent" and header.src not in mapping.peers:
            node.drop("nat: filtered", f"{header.src} -> :{ports[1]}")
            return None
        mapping.last_used = now
        if header.mf:
            self._fragments[(header.src, header.ident)] = mapping.inside
        if header.proto == ICMP:
            return rewrite(dg, dst=mapping.inside, sport=mapping.inside_port)
        return rewrite(dg, dst=mapping.inside, dport=mapping.inside_port)

    def _inbound_error(self, dg: Datagram, quoted: Datagram, external: IPv4Address) -> Datagram:
        ports = _ports(quoted)
        if quoted.header.src != external or ports is None:
            return dg
        mapping = self._in.get((quoted.header.proto, ports[0]))
        if mapping is None:
            return dg
        inner = rewrite(quoted, src=mapping.inside, sport=mapping.inside_port)
        return _with_quote(dg, inner, {"dst": mapping.inside})


class DnsIntercept:
    """Send every UDP/53 datagram arriving on the interface to ``resolver`` (``Policy``)."""

    def __init__(self, clock: IReactorTime, resolver: IPv4Address, *, timeout: float = 60.0):
        self.clock = clock
        self.resolver = resolver
        self.timeout = timeout
        self._asked: dict[tuple[IPv4Address, int], tuple[IPv4Address, float]] = {}
        self.intercepted = 0

    def inbound(self, node: Node, iface: Interface, dg: Datagram) -> Datagram | None:
        header = dg.header
        if header.proto != UDP or header.dst == self.resolver:
            return dg
        ports = _ports(dg)
        if ports is None or ports[1] != 53:
            return dg
        self._asked[(header.src, ports[0])] = (header.dst, self.clock.seconds())
        self.intercepted += 1
        log.debug(
            "dns intercept: {client} asked {dst}, sent to {resolver}",
            client=header.src,
            dst=header.dst,
            resolver=self.resolver,
        )
        return rewrite(dg, dst=self.resolver)

    def outbound(self, node: Node, iface: Interface, dg: Datagram) -> Datagram | None:
        header = dg.header
        if header.proto != UDP or header.src != self.resolver:
            return dg
        ports = _ports(dg)
        if ports is None or ports[0] != 53:
            return dg
        asked = self._asked.get((header.dst, ports[1]))
        if asked is None:
            return dg
        if self.clock.seconds() - asked[1] > self.timeout:
            del self._asked[(header.dst, ports[1])]
            return dg
        return rewrite(dg, src=asked[0])
