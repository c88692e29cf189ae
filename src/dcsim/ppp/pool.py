"""The addresses an access server hands out (IPCP Naks, DHCP offers)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network


class AddressPool:
    """The lowest free address first, so runs are repeatable."""

    def __init__(self, network: IPv4Network, exclude: Iterable[IPv4Address] = ()) -> None:
        self.network = network
        excluded = {int(a) for a in exclude}
        self._free = [
            int(a) for a in network.hosts() if int(a) not in excluded
        ]  # already sorted: a valid heap
        self._used: set[int] = set()

    def allocate(self) -> IPv4Address | None:
        """A free address, or None when the pool is exhausted."""
        if not self._free:
            return None
        value = heapq.heappop(self._free)
        self._used.add(value)
        return IPv4Address(value)

    def reserve(self, address: IPv4Address) -> bool:
        """Take this particular address (a console configured by hand); False if taken."""
        value = int(address)
        if value in self._used or address not in self.network:
            return False
        try:
            self._free.remove(value)
        except ValueError:
            return False  # excluded or not a host address
        heapq.heapify(self._free)
        self._used.add(value)
        return True

    def release(self, address: IPv4Address) -> None:
        value = int(address)
        if value in self._used:
            self._used.remove(value)
            heapq.heappush(self._free, value)

    def __contains__(self, address: object) -> bool:
        return isinstance(address, IPv4Address) and int(address) in self._used

    @property
    def in_use(self) -> int:
        return len(self._used)
