"""The gateway from the virtual internet to real sockets on this machine.

The gateway host (100.64.0.1 in the address plan) takes every flow routed to it,
whatever the destination, and relays it through the real reactor when the real
destination is on its allowlist. The gateway's own address stands for this machine: a
flow to ``100.64.0.1:P`` goes to ``127.0.0.1:P``; a flow to any other address ``A:P``
goes to ``A:P`` itself. Everything not allowed is refused as a real network would
refuse it (TCP: RST; UDP: ICMP communication administratively prohibited) and logged.
The default allowlist is empty: nothing leaves the simulation.

TCP: the virtual SYN is answered only once the real connection is up, so a real
refusal or timeout reaches the virtual client as RST. Data flows both ways with
producer/consumer back-pressure. UDP: each virtual (source, destination) pair gets a real
socket, closed after ``udp_idle`` seconds without traffic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from twisted.internet import protocol
from twisted.internet.interfaces import IReactorTCP, IReactorTime, IReactorUDP
from twisted.logger import Logger
from twisted.python.failure import Failure

from dcsim.address import Listen
from dcsim.net.host import VirtualHost
from dcsim.net.node import UDP, Datagram
from dcsim.net.tcp_transport import TcpConnection
from dcsim.net.wire.icmp import IcmpRepr, UnreachableCode
from dcsim.net.wire.tcp import TcpRepr
from dcsim.net.wire.udp import UdpRepr

log = Logger()

LOCALHOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class _Flow:
    src: IPv4Address
    sport: int
    dst: IPv4Address
    dport: int


class Gateway:
    """Relay allowed flows arriving at *host* to real sockets through *reactor* (None in a
    simulation without real sockets: then *allow* must be empty and everything is refused).
    """

    def __init__(
        self,
        host: VirtualHost,
        reactor: Any | None,
        allow: Iterable[Listen] = (),
        *,
        connect_timeout: float = 10.0,
        udp_idle: float = 60.0,
    ) -> None:
        allow = tuple(allow)
        if reactor is None:
            if allow:
                raise ValueError("the gateway needs the real reactor to allow anything")
        elif not (IReactorTCP.providedBy(reactor) and IReactorUDP.providedBy(reactor)):
            raise TypeError("the gateway needs a reactor with real TCP and UDP")
        self.host = host
        self.reactor = reactor
        self.allow = frozenset((a.transport, a.host, a.port) for a in allow)
        self.connect_timeout = connect_timeout
        self.udp_idle = udp_idle
        self.refused: list[tuple[str, str, int]] = []
        self._pending: dict[_Flow, tuple[Datagram, TcpRepr]] = {}
        self._udp: dict[_Flow, _UdpRelay] = {}
        host.accept_any = True
        host.tcp_intercept = self._tcp_syn
        host.udp_intercept = self._udp_datagram

    def real_destination(self, dst: IPv4Address, port: int) -> tuple[str, int]:
        if dst in self.host.addresses:
            return LOCALHOST, port
        return str(dst), port

    def allowed(self, transport: str, dst: IPv4Address, port: int) -> bool:
        real_host, real_port = self.real_destination(dst, port)
        return (transport, real_host, real_port) in self.allow

    def _refuse(self, transport: str, flow: _Flow) -> None:
        real = self.real_destination(flow.dst, flow.dport)
        self.refused.append((transport, *real))
        log.warn(
            "gateway: refused {transport} from {src}:{sport} to {host}:{port} (not allowed)",
            transport=transport,
            src=flow.src,
            sport=flow.sport,
            host=real[0],
            port=real[1],
        )

    # --- TCP -----------------------------------------------------------------------------

    def _tcp_syn(self, dg: Datagram, seg: TcpRepr) -> bool:
        flow = _Flow(dg.header.src, seg.src_port, dg.header.dst, seg.dst_port)
        if not self.allowed("tcp", flow.dst, flow.dport):
            self._refuse("tcp", flow)
            return False  # the host answers RST
        if flow in self._pending:
            self._pending[flow] = (dg, seg)  # a retransmitted SYN: keep the latest
            return True
        self._pending[flow] = (dg, seg)
        real_host, real_port = self.real_destination(flow.dst, flow.dport)
        log.info(
            "gateway: {src}:{sport} -> real {host}:{port}",
            src=flow.src,
            sport=flow.sport,
            host=real_host,
            port=real_port,
        )
        self.reactor.connectTCP(
            real_host, real_port, _RealFactory(self, flow), timeout=self.connect_timeout
        )
        return True

    def _real_connected(self, flow: _Flow, real: _RealSide) -> None:
        pending = self._pending.pop(flow, None)
        if pending is None:
            real.transport.loseConnection()
            return
        dg, seg = pending
        self.host.accept_tcp(None, _VirtualFactory(real), dg, seg)

    def _real_failed(self, flow: _Flow, reason: Failure) -> None:
        pending = self._pending.pop(flow, None)
        log.info(
            "gateway: real {dst}:{port} failed: {reason}",
            dst=flow.dst,
            port=flow.dport,
            reason=reason.getErrorMessage(),
        )
        if pending is not None:
            self.host._reset(*pending)

    # --- UDP -----------------------------------------------------------------------------

    def _udp_datagram(self, dg: Datagram, udp: UdpRepr) -> bool:
        flow = _Flow(dg.header.src, udp.src_port, dg.header.dst, udp.dst_port)
        relay = self._udp.get(flow)
        if relay is None:
            if not self.allowed("udp", flow.dst, flow.dport):
                self._refuse("udp", flow)
                self.host.send_icmp_error(
                    dg, IcmpRepr.unreachable, UnreachableCode.ADMIN_PROHIBITED
                )
                return True
            relay = _UdpRelay(self, flow)
            self._udp[flow] = relay
            real_host, real_port = self.real_destination(flow.dst, flow.dport)
            # A loopback destination gets a loopback socket: nothing is opened to the LAN.
            interface = LOCALHOST if real_host.startswith("127.") else ""
            relay.port = self.reactor.listenUDP(0, relay, interface=interface)
            relay.transport.connect(real_host, real_port)
        relay.to_real(udp.payload)
        return True

    def _udp_closed(self, flow: _Flow) -> None:
        self._udp.pop(flow, None)


class _RealSide(protocol.Protocol):
    """The real socket's protocol; relays to the virtual connection once it exists."""

    def __init__(self, gateway: Gateway, flow: _Flow) -> None:
        self.gateway = gateway
        self.flow = flow
        self.virtual: TcpConnection | None = None
        self._early: list[bytes] = []

    def connectionMade(self) -> None:
        self.transport.pauseProducing()  # until the virtual side is established
        self.gateway._real_connected(self.flow, self)

    def attach(self, virtual: TcpConnection) -> None:
        self.virtual = virtual
        virtual.registerProducer(self.transport, True)
        self.transport.registerProducer(virtual, True)
        for data in self._early:
            virtual.write(data)
        self._early.clear()
        self.transport.resumeProducing()

    def dataReceived(self, data: bytes) -> None:
        if self.virtual is not None:
            self.virtual.write(data)
        else:
            self._early.append(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self.virtual is not None:
            self.virtual.unregisterProducer()
            self.virtual.loseConnection()


class _RealFactory(protocol.ClientFactory):
    def __init__(self, gateway: Gateway, flow: _Flow) -> None:
        self.gateway = gateway
        self.flow = flow

    def buildProtocol(self, addr: Any) -> _RealSide:
        return _RealSide(self.gateway, self.flow)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.gateway._real_failed(self.flow, reason)


class _VirtualSide(protocol.Protocol):
    def __init__(self, real: _RealSide) -> None:
        self.real = real

    def connectionMade(self) -> None:
        self.real.attach(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self.real.transport.write(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.real.transport.unregisterProducer()
        self.real.transport.loseConnection()


class _VirtualFactory(protocol.Factory):
    def __init__(self, real: _RealSide) -> None:
        self.real = real

    def buildProtocol(self, addr: Any) -> _VirtualSide:
        return _VirtualSide(self.real)


class _UdpRelay(protocol.DatagramProtocol):
    def __init__(self, gateway: Gateway, flow: _Flow) -> None:
        self.gateway = gateway
        self.flow = flow
        self.port: Any = None
        clock: IReactorTime = gateway.reactor
        self._idle = clock.callLater(gateway.udp_idle, self._close)

    def to_real(self, payload: bytes) -> None:
        self._idle.reset(self.gateway.udp_idle)
        self.transport.write(payload)

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self._idle.reset(self.gateway.udp_idle)
        flow = self.flow
        host = self.gateway.host
        payload = UdpRepr(flow.dport, flow.sport, data).emit(flow.dst, flow.src)
        host.send(UDP, flow.src, payload, src=flow.dst)

    def connectionRefused(self) -> None:
        log.info("gateway: real UDP {dst}:{port} refused", dst=self.flow.dst, port=self.flow.dport)

    def _close(self) -> None:
        self.gateway._udp_closed(self.flow)
        if self.port is not None:
            self.port.stopListening()
