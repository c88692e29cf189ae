"""Per-interface policies: MSS clamping and simple filters (drop UDP, drop ICMP...).

NAT and the DNS interception live in ``dcsim.net.nat``; all of them follow the
``dcsim.net.node.Policy`` shape.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from twisted.logger import Logger

from dcsim.net.wire.base import WireError
from dcsim.net.wire.icmp import IcmpRepr, UnreachableCode
from dcsim.net.wire.ipv4 import IpProto
from dcsim.net.wire.tcp import SYN, TcpRepr

if TYPE_CHECKING:
    from dcsim.net.node import Datagram, Interface, Node

log = Logger()


def clamp_mss(dg: Datagram, clamp: int) -> Datagram:
    """Lower the MSS option of a SYN to *clamp* (what ``iptables TCPMSS`` does).

    Returns *dg* itself when nothing changes. A SYN without the option is given one,
    since its sender would otherwise assume 536 only if it is a careful host.
    """
    header = dg.header
    if header.frag_offset or len(dg.payload) < 14 or not dg.payload[13] & SYN:
        return dg
    try:
        seg = TcpRepr.parse(dg.payload, header.src, header.dst)
    except WireError:
        return dg
    if seg.mss is not None and seg.mss <= clamp:
        return dg
    return replace(dg, payload=replace(seg, mss=clamp).emit(header.src, header.dst))


class Direction(Enum):
    INBOUND = "in"
    OUTBOUND = "out"
    BOTH = "both"


class Action(Enum):
    DROP = "drop"  # silently
    REJECT = "reject"  # ICMP administratively prohibited


_PROTOS = {"icmp": int(IpProto.ICMP), "tcp": int(IpProto.TCP), "udp": int(IpProto.UDP)}


@dataclass(frozen=True)
class Filter:
    """Drop or reject datagrams matching every given field (None matches anything).

    ``dst_ports`` applies to TCP and UDP; ``icmp_types`` to ICMP.
    """

    proto: str | None = None  # "icmp", "tcp" or "udp"
    direction: Direction = Direction.INBOUND
    action: Action = Action.DROP
    src: IPv4Network | None = None
    dst: IPv4Network | None = None
    dst_ports: tuple[int, ...] = ()
    icmp_types: tuple[int, ...] = ()
    name: str = "filter"

    def __post_init__(self) -> None:
        if self.proto is not None and self.proto not in _PROTOS:
            raise ValueError(f"proto {self.proto!r}: expected icmp, tcp or udp")

    def matches(self, dg: Datagram) -> bool:
        header = dg.header
        if self.proto is not None and header.proto != _PROTOS[self.proto]:
            return False
        if self.src is not None and header.src not in self.src:
            return False
        if self.dst is not None and header.dst not in self.dst:
            return False
        payload = dg.payload
        if self.dst_ports:
            if (
                header.proto not in (IpProto.TCP, IpProto.UDP)
                or len(payload) < 4
                or header.frag_offset
            ):
                return False
            if int.from_bytes(payload[2:4], "big") not in self.dst_ports:
                return False
        return not self.icmp_types or (
            header.proto == IpProto.ICMP and bool(payload) and payload[0] in self.icmp_types
        )

    def _apply(self, node: Node, iface: Interface, dg: Datagram, way: Direction) -> Datagram | None:
        if self.direction not in (way, Direction.BOTH) or not self.matches(dg):
            return dg
        node.drop(f"{self.name}: {self.action.value}", f"{dg.header.src}>{dg.header.dst}")
        if self.action is Action.REJECT:
            node.send_icmp_error(dg, IcmpRepr.unreachable, UnreachableCode.ADMIN_PROHIBITED)
        return None

    def inbound(self, node: Node, iface: Interface, dg: Datagram) -> Datagram | None:
        return self._apply(node, iface, dg, Direction.INBOUND)

    def outbound(self, node: Node, iface: Interface, dg: Datagram) -> Datagram | None:
        return self._apply(node, iface, dg, Direction.OUTBOUND)
