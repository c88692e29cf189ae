"""Routers, and the access router (NAS) that subscribers' PPP or Ethernet links attach to.

A :class:`Router` is a :class:`VirtualHost` that forwards, so it can also run services
(a DNS proxy on a broadband router, for instance). Per interface it has the policies of
``dcsim.net.policy`` and ``dcsim.net.nat``, an MSS clamp and the choice, for an
oversize DF datagram, between ICMP fragmentation-needed and silence (the black hole).

:class:`Nas` adds :meth:`Nas.attach_subscriber`: the PPP engineer's IPCP-negotiated
address and MRU become a :class:`SubscriberPort`, an interface of the NAS whose far end is
a callable instead of a simulated link.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv4Network

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from dcsim.net.host import VirtualHost
from dcsim.net.node import Datagram, Interface, Policy
from dcsim.net.routing import Route
from dcsim.net.tcp import TcpConfig
from dcsim.net.wire.icmp import IcmpRepr, UnreachableCode
from dcsim.net.wire.ipv4 import MIN_MTU
from dcsim.pcap import PcapWriter

log = Logger()


class Router(VirtualHost):
    def __init__(
        self,
        clock: IReactorTime,
        name: str,
        *,
        rng: random.Random | None = None,
        tcp: TcpConfig | None = None,
    ) -> None:
        super().__init__(clock, name, forwarding=True, rng=rng, tcp=tcp)


class SubscriberPort:
    """One subscriber's attachment to a :class:`Nas`.

    ``send`` takes a raw IPv4 datagram from the subscriber into the network; datagrams for
    the subscriber go to the ``deliver`` callable given to ``attach_subscriber``, always
    from a clock callback (never from inside ``send``). ``pcap``, when set, records both
    directions (raw IPv4) with the clock's timestamps.
    """

    def __init__(
        self,
        nas: Nas,
        address: IPv4Address,
        interface: Interface,
        deliver: Callable[[bytes], None],
        name: str,
    ) -> None:
        self.nas = nas
        self.address = address
        self.interface = interface
        self.name = name
        self.pcap: PcapWriter | None = None
        self._deliver = deliver
        self.closed = False

    def send(self, datagram: bytes) -> None:
        """A datagram from the subscriber; bad ones are counted and logged by the NAS."""
        if self.closed:
            raise RuntimeError(f"subscriber port {self.name} is closed")
        if self.pcap is not None:
            self.pcap.write(self.nas.seconds(), datagram)
        self.interface.receive(bytes(datagram))

    def _to_subscriber(self, datagram: bytes) -> None:
        self.nas.callLater(0, self._deliver_now, datagram)

    def _deliver_now(self, datagram: bytes) -> None:
        if self.closed:
            return
        if self.pcap is not None:
            self.pcap.write(self.nas.seconds(), datagram)
        self._deliver(datagram)

    def close(self) -> None:
        """Detach: the address's route goes, datagrams for it are answered as unreachable."""
        if self.closed:
            return
        self.closed = True
        self.nas.detach_subscriber(self)

    def __repr__(self) -> str:
        return f"<SubscriberPort {self.name} {self.address} on {self.nas.name}>"


class Nas(Router):
    """An ISP's access router: subscribers attach with an address from ``pool``.

    ``policies`` (filters, NAT, DNS interception), ``mss_clamp`` and ``frag_needed``
    apply to every subscriber interface as it is attached.
    """

    def __init__(
        self,
        clock: IReactorTime,
        name: str,
        *,
        address: IPv4Address,
        pool: IPv4Network,
        rng: random.Random | None = None,
        tcp: TcpConfig | None = None,
        mss_clamp: int | None = None,
        frag_needed: bool = True,
        policies: Iterable[Policy] = (),
    ) -> None:
        super().__init__(clock, name, rng=rng, tcp=tcp)
        self.nas_address = address
        self.add_address(address)
        self.pool = pool
        self.mss_clamp = mss_clamp
        self.frag_needed = frag_needed
        self.subscriber_policies: list[Policy] = list(policies)
        self.subscribers: dict[IPv4Address, SubscriberPort] = {}
        self._count = 0

    def attach_subscriber(
        self,
        address: IPv4Address,
        *,
        mtu: int,
        deliver: Callable[[bytes], None],
        name: str,
    ) -> SubscriberPort:
        """Attach a subscriber at *address* whose link carries *mtu*-byte datagrams."""
        address = IPv4Address(address)
        if address not in self.pool:
            raise ValueError(f"{address} is outside {self.name}'s pool {self.pool}")
        if address in self.subscribers:
            raise ValueError(f"{address} is already attached to {self.name}")
        if address == self.nas_address:
            raise ValueError(f"{address} is the NAS's own address")
        if not MIN_MTU <= mtu <= 65535:
            raise ValueError(f"mtu {mtu} is outside [{MIN_MTU}, 65535]")
        self._count += 1
        iface = self.add_interface(
            f"sub{self._count}-{name}",
            None,
            frag_needed=self.frag_needed,
            mss_clamp=self.mss_clamp,
        )
        iface.policies.extend(self.subscriber_policies)
        port = SubscriberPort(self, address, iface, deliver, name)
        iface.attach_callable(port._to_subscriber, mtu)
        self.routes.add(Route(IPv4Network(address), iface))
        self.subscribers[address] = port
        log.info(
            "{nas}: subscriber {name} attached at {address}, MTU {mtu}",
            nas=self.name,
            name=name,
            address=address,
            mtu=mtu,
        )
        return port

    def _forward(self, dg: Datagram, in_iface: Interface, data: bytes) -> None:
        dst = dg.header.dst
        if dst in self.pool and dst not in self.subscribers:
            self.drop("no such subscriber", dst)
            self.send_icmp_error(dg, IcmpRepr.unreachable, UnreachableCode.HOST)
            return
        super()._forward(dg, in_iface, data)

    def detach_subscriber(self, port: SubscriberPort) -> None:
        if self.subscribers.get(port.address) is port:
            del self.subscribers[port.address]
        self.remove_interface(port.interface)
        log.info("{nas}: subscriber {name} detached", nas=self.name, name=port.name)
