"""The virtual internet as one object: its clock, nodes, links, routes and captures.

Build in code::

    net = Network(clock)                       # task.Clock in tests, the reactor live
    console = net.add_host("console")
    nas = net.add_router("nas")
    dns = net.add_host("dns")
    net.link(console, nas, "198.51.100.130/24", "198.51.100.1/24", mtu=576, latency=0.1)
    net.link(nas, dns, "192.0.2.1/24", "192.0.2.53/24")
    net.build_routes()                         # shortest paths to every network
    dns.listenUDP(53, DnsProtocol())           # any Twisted service, reactor=dns

or from TOML with :func:`dcsim.net.topology.load_topology`.
"""

from __future__ import annotations

import random
from collections import deque
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet.interfaces import IReactorTime

from dcsim.net.link import Link, LinkProfile
from dcsim.net.node import Interface, Node
from dcsim.net.routing import Route
from dcsim.net.tcp import TcpConfig
from dcsim.pcap import LinkType, PcapWriter

if TYPE_CHECKING:
    from dcsim.address import Listen
    from dcsim.net.gateway import Gateway
    from dcsim.net.host import VirtualHost
    from dcsim.net.router import Nas, Router

N = TypeVar("N", bound=Node)


class Network:
    """All nodes and links of one simulation, sharing one clock (``IReactorTime``)."""

    def __init__(
        self,
        clock: IReactorTime,
        *,
        seed: int = 0,
        capture_dir: Path | None = None,
        epoch: float = 0.0,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.capture_dir = capture_dir
        self.epoch = epoch
        self.nodes: dict[str, Node] = {}
        self.links: dict[str, Link] = {}
        self.announced: dict[str, list[IPv4Network]] = {}
        self.default_node: Node | None = None
        self.gateway: Gateway | None = None
        self._captures: list[PcapWriter] = []

    def rng(self, purpose: str) -> random.Random:
        """A generator for *purpose*, derived from the network's seed (reproducible)."""
        return random.Random(f"{self.seed}:{purpose}")

    # --- nodes ---------------------------------------------------------------------------

    def add(self, node: N) -> N:
        if node.name in self.nodes:
            raise ValueError(f"there is already a node named {node.name!r}")
        self.nodes[node.name] = node
        return node

    def add_host(self, name: str, *, tcp: TcpConfig | None = None) -> VirtualHost:
        from dcsim.net.host import VirtualHost

        return self.add(VirtualHost(self.clock, name, rng=self.rng(f"node:{name}"), tcp=tcp))

    def add_router(self, name: str, *, tcp: TcpConfig | None = None) -> Router:
        from dcsim.net.router import Router

        return self.add(Router(self.clock, name, rng=self.rng(f"node:{name}"), tcp=tcp))

    def add_nas(
        self, name: str, address: IPv4Address | str, pool: IPv4Network | str, **kw: Any
    ) -> Nas:
        """An access router whose subscribers get addresses from *pool*."""
        from dcsim.net.router import Nas

        nas = self.add(
            Nas(
                self.clock,
                name,
                address=IPv4Address(address),
                pool=IPv4Network(pool),
                rng=self.rng(f"node:{name}"),
                **kw,
            )
        )
        self.announce(nas, nas.pool)
        return nas

    def add_gateway(
        self,
        name: str,
        address: IPv4Address | str,
        reactor: Any = None,
        allow: tuple[Listen, ...] = (),
        *,
        tcp: TcpConfig | None = None,
    ) -> VirtualHost:
        """The gateway to real sockets (see ``dcsim.net.gateway``), the default route."""
        from dcsim.net.gateway import Gateway

        host = self.add_host(name, tcp=tcp)
        host.add_address(address)
        self.gateway = Gateway(host, reactor, allow)
        self.set_default(host)
        return host

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f"no node named {name!r}") from None

    def announce(self, node: Node, network: IPv4Network | str) -> None:
        """Make *network* reachable through *node* in :meth:`build_routes`."""
        self.announced.setdefault(node.name, []).append(IPv4Network(network))

    def set_default(self, node: Node) -> None:
        """Route every destination outside the simulation towards *node* (the gateway)."""
        self.default_node = node

    # --- links ---------------------------------------------------------------------------

    def link(
        self,
        a: Node,
        b: Node,
        a_address: IPv4Interface | str,
        b_address: IPv4Interface | str,
        *,
        name: str | None = None,
        profile: LinkProfile | None = None,
        **properties: float | int | None,
    ) -> Link:
        """Connect *a* and *b* with a point-to-point link; ``properties`` are
        :class:`LinkProfile` fields (mtu, latency, bandwidth, loss, queue_limit)."""
        name = name or f"{a.name}-{b.name}"
        if name in self.links:
            raise ValueError(f"there is already a link named {name!r}")
        profile = profile or LinkProfile(**properties)  # type: ignore[arg-type]
        ia = a.add_interface(self._iface_name(a, b), a_address)
        ib = b.add_interface(self._iface_name(b, a), b_address)
        link = Link(self.clock, ia, ib, profile, rng=self.rng(f"link:{name}"), name=name)
        self.links[name] = link
        if self.capture_dir is not None:
            self.capture(link, self.capture_dir / f"{name}.pcap")
        return link

    @staticmethod
    def _iface_name(node: Node, other: Node) -> str:
        base = f"to-{other.name}"
        name, n = base, 1
        while name in node.interfaces:
            n += 1
            name = f"{base}-{n}"
        return name

    def capture(self, link: Link, path: Path) -> PcapWriter:
        """Write *link*'s traffic to the pcap file *path* (raw IPv4)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = PcapWriter.open(path, LinkType.RAW, epoch=self.epoch)
        link.capture(writer)
        self._captures.append(writer)
        return writer

    def close(self) -> None:
        """Close every capture file."""
        for writer in self._captures:
            writer.close()
        self._captures.clear()

    # --- routing -------------------------------------------------------------------------

    def build_routes(self) -> None:
        """Give every node routes to every network in the simulation along shortest paths
        (hop count), plus a default route towards :meth:`set_default`'s node.

        Static routes added by hand stay: automatic ones get metric 100 and never replace
        a route to the same network."""
        origins: dict[IPv4Network, list[Node]] = {}
        for node in self.nodes.values():
            for net in node.networks():
                origins.setdefault(net, []).append(node)
            for net in self.announced.get(node.name, []):
                origins.setdefault(net, []).append(node)
        for node in self.nodes.values():
            first_hop = self._first_hops(node)
            connected = set(node.networks())
            for net, owners in origins.items():
                if net in connected:
                    continue
                best = min(
                    (first_hop[o.name] for o in owners if o.name in first_hop),
                    default=None,
                    key=lambda hop: hop[0],
                )
                if best is not None and best[0] > 0:
                    node.routes.add(Route(net, best[1], best[2], 100 + best[0]))
            default = self.default_node
            if default is not None and default is not node and default.name in first_hop:
                dist, iface, via = first_hop[default.name]
                node.routes.add(Route(IPv4Network("0.0.0.0/0"), iface, via, 100 + dist))

    def _first_hops(self, start: Node) -> dict[str, tuple[int, Interface, IPv4Address | None]]:
        """Breadth-first from *start*: for each reachable node, the distance and the
        (interface, next hop) of the first step. Only routers are crossed."""
        hops: dict[str, tuple[int, Interface, IPv4Address | None]] = {}
        queue: deque[tuple[Node, int, Interface | None, IPv4Address | None]] = deque(
            [(start, 0, None, None)]
        )
        seen = {start.name}
        while queue:
            node, dist, iface, via = queue.popleft()
            if iface is not None:
                hops[node.name] = (dist, iface, via)
            if node is not start and not node.forwarding:
                continue
            for out in node.interfaces.values():
                peer = out.peer
                if peer is None or peer.node.name in seen:
                    continue
                seen.add(peer.node.name)
                if iface is None:
                    first, nh = out, peer.address.ip if peer.address is not None else None
                else:
                    first, nh = iface, via
                queue.append((peer.node, dist + 1, first, nh))
        return hops
