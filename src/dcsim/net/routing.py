"""A routing table: longest-prefix match over (network, next hop, interface) routes."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dcsim.net.node import Interface


@dataclass(frozen=True, slots=True)
class Route:
    network: IPv4Network
    interface: Interface
    via: IPv4Address | None = None  # None: the destination is on the link itself
    metric: int = 0

    def __str__(self) -> str:
        via = f" via {self.via}" if self.via else ""
        return f"{self.network}{via} dev {self.interface.name} metric {self.metric}"


class RoutingTable:
    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._cache: dict[IPv4Address, Route | None] = {}

    def add(self, route: Route) -> None:
        """Add *route*; a route to the same network with a higher metric is replaced."""
        for i, old in enumerate(self._routes):
            if old.network == route.network:
                if old.metric <= route.metric:
                    return
                del self._routes[i]
                break
        self._routes.append(route)
        self._routes.sort(key=lambda r: (-r.network.prefixlen, r.metric))
        self._cache.clear()

    def remove(self, network: IPv4Network) -> None:
        self._routes = [r for r in self._routes if r.network != network]
        self._cache.clear()

    def remove_interface(self, interface: Interface) -> None:
        self._routes = [r for r in self._routes if r.interface is not interface]
        self._cache.clear()

    def lookup(self, dst: IPv4Address) -> Route | None:
        try:
            return self._cache[dst]
        except KeyError:
            pass
        found = None
        for route in self._routes:
            if dst in route.network:
                found = route
                break
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[dst] = found
        return found

    def __iter__(self):
        return iter(list(self._routes))
