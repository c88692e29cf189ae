"""Topologies of the virtual internet as TOML, loaded through ``dcsim.config``.

A topology names its nodes, wires them with point-to-point links and sets per-interface
policies. ``configs/topologies/revival.toml`` is the default (the address plan of
``docs/architecture.md``); see ``docs/net.md`` for every key. In short::

    seed = 0
    default = "gateway"                 # the node that stands for "the rest of the world"

    [nodes.nas]
    kind = "nas"                        # host, router, nas or gateway
    address = "198.51.100.1"
    pool = "198.51.100.128/25"

    [nodes.sega-dns]
    addresses = ["192.0.2.53"]          # service addresses (loopbacks)

    [[links]]
    ends = ["nas", "core"]
    addresses = ["198.51.100.4/31", "198.51.100.5/31"]
    mtu = 1500
    latency = 0.005

    [[interfaces]]                      # policies on one end of a link
    node = "core"
    link = "nas-core"
    frag_needed = false                 # a PMTUD black hole

Loading checks names, addresses and values and reports the first problem as one
:class:`ConfigError` line. :func:`build` turns a :class:`Topology` into a
:class:`~dcsim.net.network.Network` on a given clock; code can also build networks
directly with ``Network`` (both are used by tests and scenarios).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any, Literal, Self

from dcsim import config
from dcsim.address import Listen
from dcsim.config import ConfigError, setting
from dcsim.net.link import LinkProfile
from dcsim.net.nat import DnsIntercept, Nat
from dcsim.net.network import Network
from dcsim.net.node import TCP, UDP, Node
from dcsim.net.policy import Filter
from dcsim.net.settings import NetSettings
from dcsim.net.tcp import TcpConfig

_PROTO_NUMBERS = {"tcp": TCP, "udp": UDP}


class InterfaceAddress(IPv4Interface):
    """an IPv4 address with its prefix length, for example 198.51.100.1/24"""

    @classmethod
    def from_text(cls, text: str) -> Self:
        if "/" not in text:
            raise ValueError("expected address/prefix-length, for example 198.51.100.1/24")
        try:
            return cls(text)
        except ValueError:
            raise ValueError("expected an IPv4 address with prefix length") from None


@dataclass(frozen=True, slots=True)
class Forward:
    """a port forward, proto:outside-port=inside-address:port, e.g. tcp:9100=192.168.0.2:9100"""

    proto: str
    port: int
    inside: IPv4Address
    inside_port: int

    @classmethod
    def from_text(cls, text: str) -> Forward:
        try:
            head, target = text.split("=")
            proto, port = head.split(":")
            inside, inside_port = target.rsplit(":", 1)
            if proto not in _PROTO_NUMBERS:
                raise ValueError
            forward = cls(proto, int(port), IPv4Address(inside), int(inside_port))
        except ValueError:
            raise ValueError(
                "expected proto:port=address:port, for example tcp:9100=192.168.0.2:9100"
            ) from None
        if not (0 < forward.port < 65536 and 0 < forward.inside_port < 65536):
            raise ValueError("ports must be in [1, 65535]")
        return forward

    def __str__(self) -> str:
        return f"{self.proto}:{self.port}={self.inside}:{self.inside_port}"


@dataclass(frozen=True)
class NatSettings:
    inside: list[IPv4Network] = setting(
        default_factory=list, doc="Inside networks; empty: every source but the outside address."
    )
    external: IPv4Address | None = setting(None, "Outside address; unset: the interface's own.")
    filtering: Literal["endpoint-independent", "address-dependent"] = setting(
        "endpoint-independent",
        "endpoint-independent: a mapping accepts anyone (full cone);\n"
        "address-dependent: only hosts the inside host has sent to.",
    )
    forwards: list[Forward] = setting(default_factory=list, doc="Static port forwards.")


@dataclass(frozen=True)
class InterfaceSettings:
    node: str = setting(doc="The node that owns the interface.")
    link: str = setting(doc="The link the interface is on (its name).")
    frag_needed: bool = setting(
        True,
        "On a DF datagram too big for this interface: true sends ICMP fragmentation-needed,\n"
        "false drops it silently (the PMTUD black hole of RFC 2923).",
    )
    mss_clamp: int | None = setting(None, "Clamp the MSS of SYNs crossing here.", min=88, max=65495)
    nat: NatSettings | None = setting(None, "Translate addresses on this (outside) interface.")
    dns_intercept: IPv4Address | None = setting(
        None, "Send every UDP/53 datagram arriving here to this resolver instead."
    )
    filters: list[Filter] = setting(default_factory=list, doc="Drop or reject datagrams.")


@dataclass(frozen=True)
class TcpSettings:
    """A host's TCP knobs (the rest keep RFC defaults)."""

    pmtud: bool = setting(True, "Set DF and follow fragmentation-needed (RFC 1191).")
    honour_frag_needed: bool = setting(True, "false: ignore ICMP fragmentation-needed.")
    rto_min: float = setting(1.0, "Lowest retransmission timeout, s (RFC 6298: 1).", min=0.001)
    delayed_ack: float = setting(0.2, "Delayed-ACK timer, s (at most 0.5).", min=0.0, max=0.5)
    nagle: bool = setting(True, "Nagle's algorithm (protocols may turn it off).")
    rcv_buf: int = setting(65535, "Receive buffer = largest window, bytes.", min=1, max=65535)
    mss: int | None = setting(
        None,
        "The stack's own MSS ceiling, advertised and sent (unset: the MTU's, MTU - 40).",
        min=1,
        max=65495,
    )

    def config(self) -> TcpConfig:
        return TcpConfig(
            pmtud=self.pmtud,
            honour_frag_needed=self.honour_frag_needed,
            rto_min=self.rto_min,
            delayed_ack=self.delayed_ack,
            nagle=self.nagle,
            rcv_buf=self.rcv_buf,
            mss=self.mss,
        )


@dataclass(frozen=True)
class NodeSettings:
    kind: Literal["host", "router", "nas", "gateway"] = setting("host", "What the node is.")
    addresses: list[IPv4Address] = setting(
        default_factory=list,
        doc="The node's own service addresses (loopbacks), announced to the routing.",
    )
    address: IPv4Address | None = setting(None, "nas: the NAS's own address.")
    pool: IPv4Network | None = setting(None, "nas: the subscribers' address pool.")
    mss_clamp: int | None = setting(
        None, "nas: clamp the MSS on subscriber interfaces.", min=88, max=65495
    )
    frag_needed: bool = setting(True, "nas: false makes subscriber interfaces black holes.")
    dns_intercept: IPv4Address | None = setting(
        None, "nas: send subscribers' UDP/53 to this resolver whatever they asked."
    )
    filters: list[Filter] = setting(default_factory=list, doc="nas: subscriber filters.")
    allow: list[Listen] = setting(
        default_factory=list,
        doc="gateway: real destinations allowed, as tcp:127.0.0.1:9100 (default: none).",
    )
    routes: list[str] = setting(
        default_factory=list,
        doc='Static routes, "network via next-hop", e.g. "0.0.0.0/0 via 10.0.0.1".',
    )
    hosts: dict[str, IPv4Address] = setting(
        default_factory=dict, doc="Names connectTCP and resolve know (an /etc/hosts)."
    )
    tcp: TcpSettings = setting(default_factory=TcpSettings, doc="TCP knobs.")


@dataclass(frozen=True)
class LinkSettings:
    ends: list[str] = setting(doc="The two nodes the link joins.")
    addresses: list[InterfaceAddress] = setting(doc="Their interface addresses, in order.")
    name: str = setting("", "Unique name; default: a-b from the ends.")
    mtu: int = setting(1500, "Largest datagram, bytes.", min=68, max=65535)
    latency: float = setting(0.0, "One-way delay, seconds.", min=0.0)
    bandwidth: float | None = setting(None, "Bits per second; unset: unlimited.", min=1.0)
    loss: float = setting(0.0, "Probability a datagram is lost.", min=0.0, max=1.0)
    queue_limit: int = setting(100, "Datagrams waiting for the wire before tail drop.", min=1)

    def link_name(self) -> str:
        return self.name or "-".join(self.ends)

    def profile(self) -> LinkProfile:
        return LinkProfile(self.mtu, self.latency, self.bandwidth, self.loss, self.queue_limit)


@dataclass(frozen=True)
class Topology:
    seed: int = setting(0, "Seed of every random choice (loss, ISNs, ports).")
    default: str = setting("", "The node every other node routes unknown destinations to.")
    nodes: dict[str, NodeSettings] = setting(default_factory=dict, doc="The nodes, by name.")
    links: list[LinkSettings] = setting(default_factory=list, doc="Point-to-point links.")
    interfaces: list[InterfaceSettings] = setting(
        default_factory=list, doc="Policies on link ends."
    )


def load_topology(path: str | Path) -> Topology:
    """Read and check a topology file; any problem raises one :class:`ConfigError`."""
    topology = config.load(path, Topology)
    check(topology, str(path))
    return topology


def loads_topology(text: str, source: str = "<string>") -> Topology:
    topology = config.loads(text, Topology, source)
    check(topology, source)
    return topology


def check(topology: Topology, source: str) -> None:
    """Cross-field checks the loader cannot make: names, addresses, kinds."""

    def fail(key: str, message: str) -> None:
        raise ConfigError(source, key, message)

    nodes = topology.nodes
    for name, node in nodes.items():
        key = f"nodes.{name}"
        if node.kind == "nas" and (node.address is None or node.pool is None):
            fail(key, "a nas needs address and pool")
        if node.kind != "nas":
            for option in ("address", "pool", "mss_clamp", "dns_intercept"):
                if getattr(node, option) is not None:
                    fail(f"{key}.{option}", f"only a nas has {option}")
        if node.kind != "gateway" and node.allow:
            fail(f"{key}.allow", "only a gateway has an allowlist")
        for i, route in enumerate(node.routes):
            try:
                _parse_route(route)
            except ValueError as e:
                fail(f"{key}.routes[{i}]", f'{e}, got "{route}"')
    if topology.default and topology.default not in nodes:
        fail("default", f"no node named {topology.default!r}")
    names = set()
    for i, link in enumerate(topology.links):
        key = f"links[{i}]"
        if len(link.ends) != 2:
            fail(f"{key}.ends", f"expected two node names, got {len(link.ends)}")
        if len(link.addresses) != 2:
            fail(f"{key}.addresses", f"expected two addresses, got {len(link.addresses)}")
        for j, end in enumerate(link.ends):
            if end not in nodes:
                fail(f"{key}.ends[{j}]", f"no node named {end!r}")
        if link.ends[0] == link.ends[1]:
            fail(f"{key}.ends", "a link joins two different nodes")
        a, b = link.addresses
        if a.network != b.network:
            fail(f"{key}.addresses", f"{a} and {b} are not on the same network")
        if a.ip == b.ip:
            fail(f"{key}.addresses", f"both ends have {a.ip}")
        name = link.link_name()
        if name in names:
            fail(f"{key}.name", f"a second link named {name!r}; give it a name")
        names.add(name)
    for i, iface in enumerate(topology.interfaces):
        key = f"interfaces[{i}]"
        if iface.node not in nodes:
            fail(f"{key}.node", f"no node named {iface.node!r}")
        match = [link for link in topology.links if link.link_name() == iface.link]
        if not match:
            fail(f"{key}.link", f"no link named {iface.link!r}; links: {', '.join(sorted(names))}")
        if iface.node not in match[0].ends:
            fail(f"{key}.node", f"{iface.node!r} is not an end of link {iface.link!r}")


def from_settings(settings: NetSettings, clock: Any, real_reactor: Any = None) -> Network:
    """The network the ``[net]`` settings describe, on *clock* (``dcsim up`` passes the
    reactor as both)."""
    return build(
        load_topology(settings.topology_path()),
        clock,
        real_reactor=real_reactor,
        capture_dir=settings.capture_dir.expanduser() if settings.capture_dir else None,
        allow=settings.allow,
    )


def _parse_route(text: str) -> tuple[IPv4Network, IPv4Address]:
    parts = text.split()
    if len(parts) != 3 or parts[1] != "via":
        raise ValueError('expected "network via next-hop"')
    try:
        return IPv4Network(parts[0]), IPv4Address(parts[2])
    except ValueError:
        raise ValueError("expected an IPv4 network and a next-hop address") from None


def build(
    topology: Topology,
    clock: Any,
    *,
    real_reactor: Any = None,
    capture_dir: Path | None = None,
    epoch: float = 0.0,
    allow: Iterable[Listen] = (),
) -> Network:
    """Make the network on *clock*. The gateway relays only with *real_reactor*, to the
    destinations its node allows plus *allow*."""
    allow = tuple(allow)
    net = Network(clock, seed=topology.seed, capture_dir=capture_dir, epoch=epoch)
    for name, spec in topology.nodes.items():
        tcp = spec.tcp.config()
        node: Node
        if spec.kind == "nas":
            assert spec.address is not None and spec.pool is not None
            policies: list[Any] = list(spec.filters)
            if spec.dns_intercept is not None:
                policies.append(DnsIntercept(clock, spec.dns_intercept))
            node = net.add_nas(
                name,
                spec.address,
                spec.pool,
                tcp=tcp,
                mss_clamp=spec.mss_clamp,
                frag_needed=spec.frag_needed,
                policies=policies,
            )
        elif spec.kind == "router":
            node = net.add_router(name, tcp=tcp)
        elif spec.kind == "gateway":
            if not spec.addresses:
                raise ConfigError("topology", f"nodes.{name}.addresses", "a gateway needs one")
            # Without the real reactor (a task.Clock simulation) nothing can be relayed.
            allowed = (*spec.allow, *allow) if real_reactor is not None else ()
            node = net.add_gateway(name, spec.addresses[0], real_reactor, allowed, tcp=tcp)
        else:
            node = net.add_host(name, tcp=tcp)
        for address in spec.addresses:
            if address not in node.addresses:
                node.add_address(address)
        for host_name, address in spec.hosts.items():
            node.hosts_table[host_name.lower()] = address  # type: ignore[attr-defined]
    for link in topology.links:
        a, b = (net.node(end) for end in link.ends)
        net.link(
            a,
            b,
            link.addresses[0],
            link.addresses[1],
            name=link.link_name(),
            profile=link.profile(),
        )
    for spec_iface in topology.interfaces:
        node = net.node(spec_iface.node)
        link_obj = net.links[spec_iface.link]
        iface = link_obj.a if link_obj.a.node is node else link_obj.b
        iface.frag_needed = spec_iface.frag_needed
        iface.mss_clamp = spec_iface.mss_clamp
        for f in spec_iface.filters:
            iface.policies.append(f)
        if spec_iface.dns_intercept is not None:
            iface.policies.append(DnsIntercept(clock, spec_iface.dns_intercept))
        if spec_iface.nat is not None:
            nat = spec_iface.nat
            iface.policies.append(
                Nat(
                    clock,
                    inside=list(nat.inside) or None,
                    external=nat.external,
                    filtering=nat.filtering,
                    forwards={
                        (_PROTO_NUMBERS[f.proto], f.port): (f.inside, f.inside_port)
                        for f in nat.forwards
                    },
                    rng=net.rng(f"nat:{spec_iface.node}:{spec_iface.link}"),
                )
            )
    for name, spec in topology.nodes.items():
        node = net.node(name)
        for route in spec.routes:
            network, via = _parse_route(route)
            out = node.routes.lookup(via)
            if out is None:
                raise ConfigError(
                    "topology", f"nodes.{name}.routes", f"next hop {via} is not on any link"
                )
            node.add_route(network, out.interface, via)
    if topology.default:
        net.set_default(net.node(topology.default))
    net.build_routes()
    return net


__all__ = ["Topology", "build", "check", "from_settings", "load_topology", "loads_topology"]
