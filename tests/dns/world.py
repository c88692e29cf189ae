"""The DNS of the 2006 internet on dcsim's virtual internet, for tests.

One router joins the hosts of the address plan (docs/architecture.md): the root, the
``jp.`` and ``com.``/``net.`` servers, Sega's public servers, Sega's island server, the
ISP's resolver and a Dreamcast. Every server is dcsim's own, on a VirtualHost.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from twisted.internet import task

from dcsim.address import Listen
from dcsim.dns.authority import Authority, Policy
from dcsim.dns.recursive import RecursiveResolver, ResolverConfig
from dcsim.dns.server import DnsController, DnsServer
from dcsim.dns.zone import Zones, load_hints
from dcsim.net.clock import run
from dcsim.net.network import Network
from tests.dns.helpers import ZONES

ROOT, JP, GTLD, PUBLIC = "203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"
SEGA, ISP, DC = "192.0.2.53", "198.51.100.53", "198.51.100.130"
ISP_CLIENTS = ipaddress.ip_network("198.51.100.0/24")
HINTS = load_hints(ZONES / "2006" / "root.hints")

SERVERS = {
    "root": (ROOT, "2006/root"),
    "jp": (JP, "2006/jp"),
    "gtld": (GTLD, "2006/gtld"),
    "public": (PUBLIC, "2006/public"),
    "sega": (SEGA, "2006/sega"),
}


@dataclass
class World:
    clock: task.Clock
    net: Network
    hosts: dict = field(default_factory=dict)
    servers: dict[str, DnsServer] = field(default_factory=dict)
    resolver: RecursiveResolver | None = None

    def run(self, seconds: float = 60.0, until=None) -> bool:
        return run(self.clock, seconds, until=until)

    def wait(self, d, seconds: float = 120.0):
        """Run the simulation until Deferred *d* fires; its result (or raise its error)."""
        box: list = []
        d.addBoth(box.append)
        self.run(seconds, until=lambda: bool(box))
        assert box, f"nothing after {seconds} simulated seconds"
        result = box[0]
        if hasattr(result, "raiseException"):
            result.raiseException()
        return result


def build(
    *,
    zones: dict[str, Zones] | None = None,
    policies: dict[str, Policy] | None = None,
    udp_only: tuple[str, ...] = (),
    tcp_drop: tuple[str, ...] = (),
    public: str = "2006/public",
    resolver: ResolverConfig | None = None,
    latency: float = 0.02,
) -> World:
    """The world; *zones*/*policies* override a server's, *udp_only* servers do not listen
    on TCP (and *tcp_drop* ones also send no RST: a firewall)."""
    clock = task.Clock()
    net = Network(clock, seed=7)
    core = net.add_router("internet")
    world = World(clock, net)
    addresses = {name: address for name, (address, _) in SERVERS.items()}
    addresses |= {"isp": ISP, "dc": DC}
    for i, (name, address) in enumerate(addresses.items()):
        host = net.add_host(name)
        net.link(host, core, f"{address}/32", f"10.254.{i}.1/32", latency=latency)
        world.hosts[name] = host
    net.build_routes()
    for name, (address, directory) in SERVERS.items():
        if zones and name in zones:
            served = zones[name]
        else:
            served = Zones.load(ZONES / (public if name == "public" else directory))
        policy = (policies or {}).get(name, Policy())
        host = world.hosts[name]
        server = DnsServer(host, DnsController(Authority(served, policy)))
        server.listen(Listen("udp", address, 53))
        if name in udp_only or name in tcp_drop:
            host.rst_for_closed_ports = name not in tcp_drop
        else:
            server.listen(Listen("tcp", address, 53))
        world.servers[name] = server
    config = resolver or ResolverConfig(root_hints=HINTS)
    world.resolver = RecursiveResolver(world.hosts["isp"], config, random.Random(1))
    isp = DnsServer(
        world.hosts["isp"],
        DnsController(Authority(Zones()), world.resolver, [ISP_CLIENTS]),
    )
    isp.listen(Listen("udp", ISP, 53))
    isp.listen(Listen("tcp", ISP, 53))
    world.servers["isp"] = isp
    return world
