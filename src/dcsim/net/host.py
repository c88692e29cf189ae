"""A machine on the virtual internet that services run on as if it were the reactor.

:class:`VirtualHost` offers Twisted's ``listenTCP``, ``connectTCP`` and ``listenUDP``
with their signatures, and ``IReactorTime`` (``callLater``, ``seconds``,
``getDelayedCalls``) delegated to the simulation's clock, so a service built with
``reactor=host`` cannot tell it from the real reactor. Names given to ``connectTCP`` and
``resolve`` are looked up in :attr:`VirtualHost.hosts_table` (an ``/etc/hosts``); DNS
proper is the job of the DNS services running on the virtual internet.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address
from typing import Any

from twisted.internet import defer, error
from twisted.internet._resolver import SimpleResolverComplexifier
from twisted.internet.abstract import isIPAddress
from twisted.internet.interfaces import (
    IDelayedCall,
    IHostnameResolver,
    IReactorPluggableNameResolver,
    IReactorTCP,
    IReactorTime,
    IReactorUDP,
    IResolverSimple,
)
from twisted.internet.protocol import AbstractDatagramProtocol, ClientFactory, Factory
from twisted.logger import Logger
from zope.interface import implementer

from dcsim.net.node import TCP, UDP, Datagram, Interface, Node
from dcsim.net.tcp import TcpConfig, TcpSocket, TcpState
from dcsim.net.tcp_transport import TcpConnection, TcpConnector, TcpPort, _FailedAttempt
from dcsim.net.udp import UdpPort
from dcsim.net.wire.base import WireError
from dcsim.net.wire.icmp import IcmpRepr, IcmpType, UnreachableCode
from dcsim.net.wire.ipv4 import Ipv4Repr
from dcsim.net.wire.tcp import ACK, RST, SYN, TcpRepr
from dcsim.net.wire.udp import UdpRepr

log = Logger()

EPHEMERAL_PORTS = range(32768, 61000)  # Linux net.ipv4.ip_local_port_range
Endpoint = tuple[IPv4Address, int]
ConnKey = tuple[IPv4Address, int, IPv4Address, int]


@implementer(IReactorTime, IReactorTCP, IReactorUDP, IResolverSimple, IReactorPluggableNameResolver)
class VirtualHost(Node):
    """A simulated machine: the IP layer plus UDP and TCP, offered as a reactor."""

    def __init__(
        self,
        clock: IReactorTime,
        name: str,
        *,
        forwarding: bool = False,
        rng: random.Random | None = None,
        tcp: TcpConfig | None = None,
    ) -> None:
        super().__init__(clock, name, forwarding=forwarding, rng=rng)
        self.tcp_config = tcp or TcpConfig()
        self.hosts_table: dict[str, IPv4Address] = {}
        self._udp: dict[tuple[IPv4Address | None, int], UdpPort] = {}
        self._tcp_ports: dict[tuple[IPv4Address | None, int], TcpPort] = {}
        self._tcp_conns: dict[ConnKey, TcpConnection] = {}
        self._next_port = {UDP: EPHEMERAL_PORTS.start, TCP: EPHEMERAL_PORTS.start}
        self.handlers[UDP] = self._udp_input
        self.handlers[TCP] = self._tcp_input
        self.error_handlers[UDP] = self._udp_error
        self.error_handlers[TCP] = self._tcp_error
        # The gateway's hooks for flows to addresses that are not ours (with accept_any):
        # called with (datagram, segment or UDP repr); True means "taken care of".
        self.tcp_intercept: Any = None
        self.udp_intercept: Any = None
        self.rst_for_closed_ports = True
        self._name_resolver: IHostnameResolver = SimpleResolverComplexifier(self)

    # --- IReactorTime, delegated to the simulation clock ---------------------------------

    def callLater(self, delay: float, callable: Any, *args: Any, **kw: Any) -> IDelayedCall:
        return self.clock.callLater(delay, callable, *args, **kw)

    def seconds(self) -> float:
        return self.clock.seconds()

    def getDelayedCalls(self) -> list[IDelayedCall]:
        return self.clock.getDelayedCalls()

    # --- names ---------------------------------------------------------------------------

    def resolve(self, name: str, timeout: Any = (1, 3, 11, 45)) -> defer.Deferred[str]:
        """``IResolverSimple``: numeric addresses and :attr:`hosts_table` names."""
        if isIPAddress(name):
            return defer.succeed(name)
        found = self._lookup_host(name)
        if found is None:
            return defer.fail(error.DNSLookupError(f"{name} is not in {self.name}'s hosts table"))
        return defer.succeed(str(found))

    getHostByName = resolve

    def _lookup_host(self, name: str) -> IPv4Address | None:
        """*name*'s address in :attr:`hosts_table` (any case, a trailing dot allowed)."""
        return self.hosts_table.get(name.lower().rstrip("."))

    @property
    def nameResolver(self) -> IHostnameResolver:
        """``IReactorPluggableNameResolver``, so ``HostnameEndpoint`` and ``Agent`` work."""
        return self._name_resolver

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        old, self._name_resolver = self._name_resolver, resolver
        return old

    # --- UDP -----------------------------------------------------------------------------

    def listenUDP(
        self,
        port: int,
        protocol: AbstractDatagramProtocol,
        interface: str = "",
        maxPacketSize: int = 8192,
    ) -> UdpPort:
        self._check_interface(interface)
        udp = UdpPort(self, port, protocol, interface, maxPacketSize)
        udp.startListening()
        return udp

    def bind_udp(self, port: UdpPort) -> None:
        self._bind(UDP, self._udp, port)

    def unbind_udp(self, port: UdpPort) -> None:
        self._udp.pop((port.local_ip, port.port), None)

    def _udp_input(self, dg: Datagram, iface: Interface) -> None:
        header = dg.header
        try:
            udp = UdpRepr.parse(dg.payload, header.src, header.dst)
        except WireError as e:
            self.drop("bad udp", e)
            return
        port = self._udp.get((header.dst, udp.dst_port)) or self._udp.get((None, udp.dst_port))
        if port is None and self.udp_intercept is not None and self.udp_intercept(dg, udp):
            return
        if port is None:
            self.drop("udp port closed", udp.dst_port)
            self.send_icmp_error(dg, IcmpRepr.unreachable, UnreachableCode.PORT)
            return
        port.deliver(udp.payload, header.src, udp.src_port)

    def _udp_error(self, icmp: IcmpRepr, inner: Ipv4Repr, inner_payload: bytes) -> None:
        if len(inner_payload) < 4 or icmp.type != IcmpType.DEST_UNREACHABLE:
            return
        sport = int.from_bytes(inner_payload[0:2], "big")
        port = self._udp.get((inner.src, sport)) or self._udp.get((None, sport))
        if port is not None and port.connected_addr is not None:
            dport = int.from_bytes(inner_payload[2:4], "big")
            if port.connected_addr == (str(inner.dst), dport):
                port.refused()

    # --- TCP -----------------------------------------------------------------------------

    def listenTCP(
        self, port: int, factory: Factory, backlog: int = 50, interface: str = ""
    ) -> TcpPort:
        self._check_interface(interface)
        listener = TcpPort(self, port, factory, backlog, interface)
        listener.startListening()
        return listener

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: ClientFactory,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> TcpConnector:
        connector = TcpConnector(self, host, port, factory, timeout, bindAddress)
        connector.connect()
        return connector

    def bind_tcp(self, listener: TcpPort) -> None:
        self._bind(TCP, self._tcp_ports, listener)

    def _bind(self, proto: int, table: dict[Any, Any], port: UdpPort | TcpPort) -> None:
        """Give *port* its number (an ephemeral one for 0) unless it is taken, as bind()
        would: a wildcard and a specific address may not share a port."""
        if port.port == 0:
            port.port = self._ephemeral(proto, table)
        number = port.port
        taken = (port.local_ip, number) in table or (None, number) in table
        if port.local_ip is None:
            taken = taken or any(key[1] == number for key in table)
        if taken:
            raise error.CannotListenError(
                port.interface, number, OSError(98, "Address already in use")
            )
        table[(port.local_ip, number)] = port

    def unbind_tcp(self, listener: TcpPort) -> None:
        self._tcp_ports.pop((listener.local_ip, listener.port), None)

    def _open_tcp(self, connector: TcpConnector) -> TcpConnection | _FailedAttempt:
        """Start an active open for *connector* (called by ``connector.connect()``)."""
        try:
            dst = IPv4Address(connector.dst)
        except ValueError:
            found = self._lookup_host(connector.dst)
            if found is None:
                return _FailedAttempt(
                    connector, error.DNSLookupError(f"{connector.dst}: not a known host")
                )
            dst = found
        if self.routes.lookup(dst) is None and dst not in self.addresses:
            return _FailedAttempt(connector, error.NoRouteError(f"no route to {dst}"))
        if connector.bind_address is not None:
            src = IPv4Address(connector.bind_address[0] or str(self.source_for(dst)))
            sport = connector.bind_address[1]
        else:
            src, sport = self.source_for(dst), 0
        if sport == 0:
            sport = self._ephemeral(TCP, None)
        key = (src, sport, dst, connector.port)
        if key in self._tcp_conns:
            return _FailedAttempt(connector, error.ConnectBindError(OSError(98, "in use")))
        core = TcpSocket.connect(
            self.tcp_config,
            self._iss(),
            self._mss_for(dst),
            self.path_mtu(dst),
        )
        conn = TcpConnection(self, core, (src, sport), (dst, connector.port), connector=connector)
        self._tcp_conns[key] = conn
        conn.start()
        return conn

    def accept_tcp(
        self, listener: TcpPort | None, factory: Factory, dg: Datagram, seg: TcpRepr
    ) -> TcpConnection:
        """Answer a SYN with a new connection in SYN-RECEIVED (used by listeners and the
        gateway)."""
        header = dg.header
        core = TcpSocket.accept(
            self.tcp_config,
            self._iss(),
            self._mss_for(header.src),
            self.path_mtu(header.src),
            seg,
        )
        conn = TcpConnection(
            self,
            core,
            (header.dst, seg.dst_port),
            (header.src, seg.src_port),
            factory=factory,
            port=listener,
        )
        self._tcp_conns[(header.dst, seg.dst_port, header.src, seg.src_port)] = conn
        conn.start()
        return conn

    def forget_tcp(self, conn: TcpConnection) -> None:
        key = (conn.local[0], conn.local[1], conn.remote[0], conn.remote[1])
        if self._tcp_conns.get(key) is conn:
            del self._tcp_conns[key]
            if conn.listening_port is not None:
                conn.listening_port.accepted(conn)

    def send_tcp(self, local: Endpoint, remote: Endpoint, seg: TcpRepr) -> None:
        """Send a segment built by a TcpSocket (ports filled in here)."""
        seg = TcpRepr(
            local[1], remote[1], seg.seq, seg.ack, seg.flags, seg.window, seg.payload, seg.mss
        )
        payload = seg.emit(local[0], remote[0])
        self.send(TCP, remote[0], payload, src=local[0], df=self.tcp_config.pmtud)

    def _tcp_input(self, dg: Datagram, iface: Interface) -> None:
        header = dg.header
        try:
            seg = TcpRepr.parse(dg.payload, header.src, header.dst)
        except WireError as e:
            self.drop("bad tcp", e)
            return
        conn = self._tcp_conns.get((header.dst, seg.dst_port, header.src, seg.src_port))
        if conn is not None:
            conn.segment(seg)
            return
        flags = seg.flags
        if flags & SYN and not flags & (ACK | RST):
            listener = self._tcp_ports.get((header.dst, seg.dst_port)) or self._tcp_ports.get(
                (None, seg.dst_port)
            )
            if listener is not None and header.dst in self.addresses:
                if len(listener.pending) >= listener.backlog:
                    self.drop("listen queue full", seg.dst_port)
                    return
                listener.pending.add(self.accept_tcp(listener, listener.factory, dg, seg))
                return
            if self.tcp_intercept is not None and self.tcp_intercept(dg, seg):
                return
        if flags & RST:
            return
        self.drop("tcp port closed", seg.dst_port)
        if self.rst_for_closed_ports:
            self._reset(dg, seg)

    def _reset(self, dg: Datagram, seg: TcpRepr) -> None:
        """RFC 9293 3.10.7.1: answer a segment for no connection with RST."""
        if seg.flags & ACK:
            rst = TcpRepr(seg.dst_port, seg.src_port, seg.ack, 0, RST, 0)
        else:
            rst = TcpRepr(
                seg.dst_port, seg.src_port, 0, (seg.seq + seg.seq_len) & 0xFFFFFFFF, RST | ACK, 0
            )
        header = dg.header
        self.send(TCP, header.src, rst.emit(header.dst, header.src), src=header.dst)

    def _tcp_error(self, icmp: IcmpRepr, inner: Ipv4Repr, inner_payload: bytes) -> None:
        if len(inner_payload) < 4 or icmp.type != IcmpType.DEST_UNREACHABLE:
            return
        sport = int.from_bytes(inner_payload[0:2], "big")
        dport = int.from_bytes(inner_payload[2:4], "big")
        conn = self._tcp_conns.get((inner.src, sport, inner.dst, dport))
        if conn is None:
            return
        if icmp.code == UnreachableCode.FRAG_NEEDED:
            conn.icmp_frag_needed(self.path_mtu(inner.dst))
        else:
            try:
                detail = f"ICMP {UnreachableCode(icmp.code).name.lower()} unreachable"
            except ValueError:
                detail = f"ICMP unreachable code {icmp.code}"
            conn.icmp_unreachable(detail)

    def tcp_connections(self) -> list[TcpConnection]:
        return list(self._tcp_conns.values())

    # --- helpers -------------------------------------------------------------------------

    def _iss(self) -> int:
        return self.rng.getrandbits(32)

    def _mss_for(self, dst: IPv4Address) -> int:
        mss = self.path_mtu(dst) - 40
        ceiling = self.tcp_config.mss
        return mss if ceiling is None else min(mss, ceiling)

    def _ephemeral(self, proto: int, table: dict[Any, Any] | None) -> int:
        span = len(EPHEMERAL_PORTS)
        for _ in range(span):
            port = self._next_port[proto]
            self._next_port[proto] = (
                EPHEMERAL_PORTS.start + (port + 1 - EPHEMERAL_PORTS.start) % span
            )
            if proto == UDP:
                used = (None, port) in self._udp or any(k[1] == port for k in self._udp)
            else:
                used = any(k[1] == port for k in self._tcp_conns) or any(
                    k[1] == port for k in self._tcp_ports
                )
            if not used:
                return port
        raise error.CannotListenError("", 0, OSError(98, "no free ephemeral port"))

    def _check_interface(self, interface: str) -> None:
        if interface and IPv4Address(interface) not in self.addresses:
            raise error.CannotListenError(
                interface, 0, OSError(99, f"{interface} is not an address of {self.name}")
            )

    def __repr__(self) -> str:
        return f"<VirtualHost {self.name}>"


__all__ = ["TcpState", "VirtualHost"]
