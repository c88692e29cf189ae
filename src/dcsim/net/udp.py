"""UDP ports on a virtual host: Twisted's ``IUDPTransport`` and ``IListeningPort``."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from twisted.internet import address, defer, error
from twisted.internet.abstract import isIPAddress
from twisted.internet.interfaces import IListeningPort, IUDPTransport
from twisted.internet.protocol import AbstractDatagramProtocol
from twisted.logger import Logger
from zope.interface import implementer

from dcsim.net.node import UDP
from dcsim.net.wire.udp import HEADER_LEN, UdpRepr

if TYPE_CHECKING:
    from dcsim.net.host import VirtualHost

log = Logger()

MAX_PAYLOAD = 65535 - 20 - HEADER_LEN


@implementer(IUDPTransport, IListeningPort)
class UdpPort:
    """A bound UDP socket; the protocol sees the same calls as on Twisted's ``udp.Port``."""

    def __init__(
        self,
        host: VirtualHost,
        port: int,
        protocol: AbstractDatagramProtocol,
        interface: str,
        max_packet_size: int,
    ) -> None:
        self.host = host
        self.port = port
        self.protocol = protocol
        self.interface = interface
        self.local_ip = IPv4Address(interface) if interface else None
        self.maxPacketSize = max_packet_size
        self.connected_addr: tuple[str, int] | None = None
        self._broadcast = False
        self.listening = False

    def startListening(self) -> None:
        self.host.bind_udp(self)
        self.listening = True
        log.debug("{host}: UDP port {port} listening", host=self.host.name, port=self.port)
        self.protocol.makeConnection(self)

    def stopListening(self) -> defer.Deferred[None]:
        self.loseConnection()
        return defer.succeed(None)

    def loseConnection(self) -> None:
        if not self.listening:
            return
        self.listening = False
        self.host.unbind_udp(self)
        self.protocol.doStop()

    def connectionLost(self, reason: object = None) -> None:
        self.loseConnection()

    def write(self, datagram: bytes, addr: tuple[str, int] | None = None) -> None:
        if self.connected_addr is not None:
            if addr not in (None, self.connected_addr):
                raise error.InvalidAddressError(addr, "this port is connected")
            addr = self.connected_addr
        elif addr is None:
            raise error.InvalidAddressError(addr, "a destination address is required")
        host, port = addr
        if host == "<broadcast>":
            host = "255.255.255.255"
        if not isIPAddress(host):
            raise error.InvalidAddressError(
                host, "write() only accepts IP addresses, not hostnames"
            )
        if len(datagram) > MAX_PAYLOAD:
            raise error.MessageLengthError(f"{len(datagram)} bytes is more than UDP carries")
        dst = IPv4Address(host)
        src = self.local_ip or self.host.source_for(dst)
        payload = UdpRepr(self.port, port, bytes(datagram)).emit(src, dst)
        self.host.send(UDP, dst, payload, src=src)

    def writeSequence(self, seq: list[bytes], addr: tuple[str, int] | None = None) -> None:
        self.write(b"".join(seq), addr)

    def connect(self, host: str, port: int) -> None:
        if self.connected_addr is not None:
            raise RuntimeError("already connected, reconnecting is not currently supported")
        if not isIPAddress(host):
            raise error.InvalidAddressError(host, "not an IPv4 address.")
        self.connected_addr = (host, port)

    def getHost(self) -> address.IPv4Address:
        return address.IPv4Address("UDP", self.interface or "0.0.0.0", self.port)

    def setBroadcastAllowed(self, enabled: bool) -> None:
        self._broadcast = bool(enabled)

    def getBroadcastAllowed(self) -> bool:
        return self._broadcast

    def logPrefix(self) -> str:
        return f"{self.host.name}:udp:{self.port}"

    # --- from the host -------------------------------------------------------------------

    def deliver(self, payload: bytes, src: IPv4Address, sport: int) -> None:
        peer = (str(src), sport)
        if self.connected_addr is not None and peer != self.connected_addr:
            return
        try:
            self.protocol.datagramReceived(payload[: self.maxPacketSize], peer)
        except Exception:
            log.failure("{host}: unhandled error in datagramReceived", host=self.host.name)

    def refused(self) -> None:
        """ICMP port unreachable for our connected peer."""
        if self.connected_addr is None:
            return
        try:
            self.protocol.connectionRefused()  # type: ignore[attr-defined]
        except Exception:
            log.failure("{host}: unhandled error in connectionRefused", host=self.host.name)

    def __repr__(self) -> str:
        return f"<UdpPort {self.host.name}:{self.port}>"
