"""Who answers a call: built-in answerers and the ``tcp:HOST:PORT`` relay.

An answerer is any Twisted ``IProtocolFactory``; the modem builds its protocol after
CONNECT. Built in: ``echo`` (a loopback that sends every byte back) and
``tcp:HOST:PORT`` (relays the call to a real TCP service, as DreamPi hands the line to
pppd). The PPP access server is registered by whoever wires ``dcsim up``, in one line::

    answerers = {**builtin_answerers(), "ppp": ppp_factory}
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint
from twisted.internet.interfaces import IProtocolFactory, IReactorTCP, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.wire import Echo
from twisted.python.failure import Failure

from dcsim.address import Listen

RELAY_BUFFER = 64 * 1024  # bytes held while the relay's TCP connection is being made

log = Logger()


def builtin_answerers() -> dict[str, IProtocolFactory]:
    return {"echo": Factory.forProtocol(Echo)}


def parse_tcp(name: str) -> tuple[str, int] | None:
    """``tcp:HOST:PORT`` (numeric host, IPv6 in brackets, port 1-65535 in ASCII digits) as
    (host, port), else None."""
    try:
        listen = Listen.from_text(name)
    except ValueError:
        return None
    port_text = name.rpartition(":")[2]
    if listen.transport != "tcp" or listen.port == 0 or not port_text.isascii():
        return None
    return listen.host, listen.port


def known(name: str, answerers: Mapping[str, IProtocolFactory]) -> bool:
    return name in answerers or parse_tcp(name) is not None


def resolve(
    name: str, answerers: Mapping[str, IProtocolFactory], reactor: object
) -> IProtocolFactory | None:
    """The factory for answerer *name*, or None if there is none."""
    factory = answerers.get(name)
    if factory is not None:
        return factory
    target = parse_tcp(name)
    if target is None:
        return None
    return TcpRelayFactory(reactor, *target)  # type: ignore[arg-type]


class TcpRelayFactory(Factory):
    def __init__(self, reactor: IReactorTCP | IReactorTime, host: str, port: int) -> None:
        self.reactor = reactor
        self.host = host
        self.port = port

    def buildProtocol(self, addr: object) -> TcpRelay:
        return TcpRelay(self)


class TcpRelay(Protocol):
    """The call's side of a relay: what the console sends goes to HOST:PORT and back."""

    def __init__(self, factory: TcpRelayFactory) -> None:
        self.factory = factory
        self._pending: list[bytes] = []
        self._held = 0
        self._outbound: _Outbound | None = None
        self._ended = False

    def connectionMade(self) -> None:
        f = self.factory
        ip = ipaddress.ip_address(f.host)
        endpoint_type = TCP4ClientEndpoint if ip.version == 4 else TCP6ClientEndpoint
        endpoint = endpoint_type(f.reactor, f.host, f.port)
        d = endpoint.connect(Factory.forProtocol(lambda: _Outbound(self)))
        d.addCallbacks(self._connected, self._failed)

    def _connected(self, outbound: _Outbound) -> None:
        if self._ended:
            outbound.transport.loseConnection()
            return
        self._outbound = outbound
        for chunk in self._pending:
            outbound.transport.write(chunk)
        self._pending.clear()
        self.transport.registerProducer(outbound.transport, True)

    def _failed(self, reason: Failure) -> None:
        f = self.factory
        log.warn(
            "relay to {host}:{port} failed: {error}; the far end hangs up",
            host=f.host,
            port=f.port,
            error=reason.getErrorMessage(),
        )
        if not self._ended:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        if self._outbound is not None:
            self._outbound.transport.write(data)
        elif self._held + len(data) <= RELAY_BUFFER:
            self._pending.append(data)
            self._held += len(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self._ended = True
        if self._outbound is not None:
            self._outbound.transport.loseConnection()


class _Outbound(Protocol):
    def __init__(self, relay: TcpRelay) -> None:
        self.relay = relay

    def dataReceived(self, data: bytes) -> None:
        if not self.relay._ended:
            self.relay.transport.write(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if not self.relay._ended:
            self.relay.transport.loseConnection()
