"""The virtual internet the DCNet front ends attach consoles to.

It is the ``[net]`` topology (by default the revival plan of docs/architecture.md); the
front ends attach to its NAS (``[ppp] nas``), and ``dcsim dcnet`` serves the ``[dns]``
zones on the nodes that own the DNS addresses handed to consoles, so a console that
dials in can resolve names. ``dcsim up`` composes every other service as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from twisted.logger import Logger

from dcsim.address import Listen
from dcsim.config import ConfigError
from dcsim.dns.authority import Authority
from dcsim.dns.server import DnsController, DnsServer
from dcsim.net.host import VirtualHost
from dcsim.net.network import Network
from dcsim.net.router import Nas
from dcsim.net.topology import from_settings
from dcsim.settings import Settings

log = Logger()

DNS_PORT = 53


@dataclass
class Internet:
    network: Network
    nas: Nas
    dns_servers: list[DnsServer] = field(default_factory=list)


def find_nas(network: Network, name: str) -> Nas:
    """The topology's NAS called *name*; a wrong name is a configuration error."""
    node = network.nodes.get(name)
    if not isinstance(node, Nas):
        nases = sorted(n for n, node in network.nodes.items() if isinstance(node, Nas))
        what = "no node" if node is None else "not a NAS"
        raise ConfigError("[ppp]", "nas", f"{name!r} is {what} of the topology; NAS nodes: {nases}")
    return node


def owner(network: Network, address: IPv4Address) -> VirtualHost | None:
    for node in network.nodes.values():
        if address in node.addresses and isinstance(node, VirtualHost):
            return node
    return None


def serve_dns(
    network: Network,
    addresses: Iterable[IPv4Address],
    controller: DnsController,
    *,
    tcp: bool = True,
) -> list[DnsServer]:
    """Answer through *controller* at each address, on the node that owns it."""
    servers = []
    for address in dict.fromkeys(addresses):
        host = owner(network, address)
        if host is None:
            log.warn(
                "no node of the topology has {address}: DNS queries to it go unanswered",
                address=str(address),
            )
            continue
        servers.append(serve_dns_on(host, str(address), controller, tcp=tcp))
    return servers


def serve_dns_on(
    host: VirtualHost, address: str, controller: DnsController, *, tcp: bool = True
) -> DnsServer:
    """Answer through *controller* at *address* of *host*: UDP port 53, and TCP if *tcp*."""
    server = DnsServer(host, controller)
    server.listen(Listen("udp", address, DNS_PORT))
    if tcp:
        server.listen(Listen("tcp", address, DNS_PORT))
    return server


def build_internet(
    clock: Any, settings: Settings, authority: Authority | None, *, real_reactor: Any = None
) -> Internet:
    """The topology on *clock* with DNS served at the addresses consoles are given."""
    network = from_settings(settings.net, clock, real_reactor)
    nas = find_nas(network, settings.ppp.nas)
    internet = Internet(network, nas)
    if authority is not None:
        tcp = settings.dns.transport != "udp"
        controller = DnsController(authority)
        internet.dns_servers = serve_dns(network, settings.ppp.dns, controller, tcp=tcp)
    return internet
