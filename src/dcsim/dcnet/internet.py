"""The small virtual internet the DCNet front ends attach consoles to.

A NAS (the ``[ppp]`` access server's address and pool) with, behind it, one host per
DNS address handed out to consoles, each serving the ``[dns]`` zones (authoritative only,
like ``dcsim dns``). ``dcsim up`` composes the full topology; this is what ``dcsim dcnet``
runs on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from dcsim.address import Listen
from dcsim.dns.authority import Authority
from dcsim.dns.server import DnsController, DnsServer
from dcsim.net.host import VirtualHost
from dcsim.net.network import Network
from dcsim.net.router import Nas
from dcsim.ppp.settings import PppSettings

DNS_PORT = 53


@dataclass
class Internet:
    network: Network
    nas: Nas
    dns_hosts: list[VirtualHost] = field(default_factory=list)
    dns_servers: list[DnsServer] = field(default_factory=list)


def _link_addresses(server: IPv4Address) -> tuple[IPv4Interface, IPv4Interface]:
    """A /30 holding *server* and, beside it, the NAS's end of the link."""
    net = IPv4Network(f"{server}/30", strict=False)
    hosts = list(net.hosts())
    nas_end = hosts[1] if hosts[0] == server else hosts[0]
    if server not in hosts:
        raise ValueError(f"DNS server address {server} cannot be a host on a /30")
    return IPv4Interface(f"{nas_end}/30"), IPv4Interface(f"{server}/30")


def build_internet(
    reactor: Any, ppp: PppSettings, authority: Authority | None, *, seed: int = 0
) -> Internet:
    """The NAS and the DNS hosts on *reactor*'s clock (the real reactor, or a Clock)."""
    network = Network(reactor, seed=seed)
    nas = network.add_nas("nas", ppp.nas_address, ppp.pool)
    internet = Internet(network, nas)
    for n, address in enumerate(dict.fromkeys(ppp.dns)):
        host = network.add_host(f"dns{n + 1}")
        nas_end, host_end = _link_addresses(address)
        network.link(nas, host, nas_end, host_end)
        internet.dns_hosts.append(host)
        if authority is not None:
            server = DnsServer(host, DnsController(authority))
            server.listen(Listen("udp", str(address), DNS_PORT))
            server.listen(Listen("tcp", str(address), DNS_PORT))
            internet.dns_servers.append(server)
    network.build_routes()
    return internet
