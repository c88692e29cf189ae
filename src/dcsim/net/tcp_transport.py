"""Twisted transports over the user-space TCP: the edge between ``TcpSocket`` and protocols.

A :class:`TcpConnection` is what a protocol sees as ``self.transport``: ``ITCPTransport``
(write, writeSequence, loseConnection, abortConnection, loseWriteConnection, getPeer,
getHost, setTcpNoDelay...), ``IConsumer`` (registerProducer) and ``IPushProducer``
(pauseProducing stops delivering data, so the receive window closes). It behaves as
Twisted's ``tcp.Connection`` does: writes are buffered and go out on the next turn of the
clock, ``connectionLost`` follows ``loseConnection`` once the buffer is handed to TCP,
and a streaming producer is paused above 64 KiB of buffered data.

:class:`TcpPort` is a listening port (``IListeningPort``) and :class:`TcpConnector` an
``IConnector`` (Twisted's own ``BaseConnector``, so client factories and
``ReconnectingClientFactory`` behave as usual).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from twisted.internet import address, base, defer, error
from twisted.internet.interfaces import (
    IConsumer,
    IDelayedCall,
    IHalfCloseableProtocol,
    IListeningPort,
    IProtocol,
    IPushProducer,
    ITCPTransport,
)
from twisted.internet.protocol import ClientFactory, Factory
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from dcsim.edge import DeadlineTimer
from dcsim.net.tcp import Closed, CloseReason, Established, PeerClosed, TcpSocket, TcpState
from dcsim.net.wire.tcp import TcpRepr

if TYPE_CHECKING:
    from dcsim.net.host import VirtualHost

log = Logger()

BUFFER_HIGH = 65536  # Twisted's FileDescriptor.bufferSize: pause a streaming producer above

Endpoint = tuple[IPv4Address, int]


def _tcp_address(endpoint: Endpoint) -> address.IPv4Address:
    return address.IPv4Address("TCP", str(endpoint[0]), endpoint[1])


def _failure(reason: CloseReason, detail: str, connected: bool) -> Failure:
    if reason is CloseReason.DONE:
        return Failure(error.ConnectionDone())
    if reason is CloseReason.REFUSED:
        return Failure(error.ConnectionRefusedError(detail or None))
    if reason is CloseReason.RESET:
        return Failure(error.ConnectionLost("Connection reset by peer"))
    if reason is CloseReason.TIMED_OUT:
        return Failure(error.TCPTimedOutError(None, detail or None))
    if reason is CloseReason.UNREACHABLE:
        if "port" in detail:
            return Failure(error.ConnectionRefusedError(detail))
        return Failure(error.NoRouteError(detail))
    if connected:
        return Failure(error.ConnectionAborted())
    return Failure(error.UserError())


@implementer(ITCPTransport, IConsumer, IPushProducer)
class TcpConnection:
    """One TCP connection on a virtual host, seen by its protocol as a transport."""

    def __init__(
        self,
        host: VirtualHost,
        core: TcpSocket,
        local: Endpoint,
        remote: Endpoint,
        *,
        factory: Factory | None = None,
        connector: TcpConnector | None = None,
        port: TcpPort | None = None,
    ) -> None:
        self.host = host
        self.core = core
        self.local = local
        self.remote = remote
        self.factory = factory
        self.connector = connector
        self.listening_port = port
        self.protocol: IProtocol | None = None
        self.connected = 0
        self.disconnecting = False
        self.disconnected = False
        self._lost = False
        self._queue: list[bytes] = []
        self._queued = 0
        self._write_closing = False
        self._write_closed = False
        self._reading_paused = False
        self.producer: Any = None
        self._streaming = False
        self._producer_paused = False
        # lazy: each ACK pushes the retransmission deadline later; an early wake-up that
        # re-polls costs less than moving the call for every segment
        self._timer = DeadlineTimer(host, self._on_timer, lazy=True)
        self._flush_call: IDelayedCall | None = None
        self._pumping = False
        self._again = False
        self.keepalive = False

    # --- ITransport ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not isinstance(data, bytes):
            raise TypeError(f"Data must be bytes, not {type(data).__name__}")
        if self.disconnected or self._write_closing or self._lost or not data:
            return
        self._queue.append(data)
        self._queued += len(data)
        if (
            self.producer is not None
            and self._streaming
            and self._queued > BUFFER_HIGH
            and not self._producer_paused
        ):
            self._producer_paused = True
            self.producer.pauseProducing()
        self._schedule_flush()

    def writeSequence(self, data: list[bytes]) -> None:
        for item in data:
            if not isinstance(item, bytes):
                raise TypeError(f"Data must be bytes, not {type(item).__name__}")
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if self.disconnecting or self._lost:
            return
        self.disconnecting = True
        self._reading_paused = True
        self._schedule_flush()

    def abortConnection(self) -> None:
        if self._lost:
            return
        self._queue.clear()
        self._queued = 0
        self.core.abort()
        self._pump()

    def loseWriteConnection(self) -> None:
        self._write_closing = True
        self._schedule_flush()

    def getPeer(self) -> address.IPv4Address:
        return _tcp_address(self.remote)

    def getHost(self) -> address.IPv4Address:
        return _tcp_address(self.local)

    def getTcpNoDelay(self) -> bool:
        return not self.core.nagle

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.core.nagle = not enabled

    def getTcpKeepAlive(self) -> bool:
        return self.keepalive

    def setTcpKeepAlive(self, enabled: bool) -> None:
        self.keepalive = bool(enabled)
        self.core.set_keepalive(self.keepalive, self.host.seconds())
        self._pump()

    def logPrefix(self) -> str:
        return f"{self.host.name}:tcp:{self.local[1]}<>{self.remote[0]}:{self.remote[1]}"

    # --- IConsumer -----------------------------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self.producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}, because producer "
                f"{self.producer!r} was never unregistered."
            )
        if self.disconnected or self._lost:
            producer.stopProducing()
            return
        self.producer = producer
        self._streaming = streaming
        self._producer_paused = False
        if not streaming:
            producer.resumeProducing()

    def unregisterProducer(self) -> None:
        self.producer = None
        if self.disconnecting or self._write_closing:
            self._schedule_flush()

    # --- IPushProducer (the transport's reading side) ------------------------------------

    def pauseProducing(self) -> None:
        self._reading_paused = True

    def resumeProducing(self) -> None:
        if self.disconnecting:
            return
        self._reading_paused = False
        self._schedule_flush()

    def stopProducing(self) -> None:
        self.loseConnection()

    # --- the engine ------------------------------------------------------------------------

    def segment(self, seg: TcpRepr) -> None:
        """A segment for this connection arrived."""
        self.core.process(self.host.seconds(), seg)
        self._pump()

    def icmp_frag_needed(self, mtu: int) -> None:
        self.core.frag_needed(mtu, self.host.seconds())
        self._pump()

    def icmp_unreachable(self, detail: str) -> None:
        self.core.unreachable(detail)
        self._pump()

    def failIfNotConnected(self, err: Exception) -> None:
        """Used by :class:`TcpConnector` for its timeout and stopConnecting."""
        if self.connected or self._lost:
            return
        self.core.abort()
        self._lost = True
        self._pump()
        self._connect_failed(Failure(err))

    def start(self) -> None:
        self._pump()

    def _schedule_flush(self) -> None:
        if self._pumping:
            self._again = True
        elif self._flush_call is None:
            self._flush_call = self.host.callLater(0, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        self._pump()

    def _pump(self) -> None:
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        core = self.core
        host = self.host
        try:
            for _ in range(1000):
                self._again = False
                self._feed_core()
                now = host.seconds()
                for seg in core.dispatch(now):
                    host.send_tcp(self.local, self.remote, seg)
                for event in core.events():
                    self._event(event)
                if (
                    core.recv_available
                    and not self._reading_paused
                    and self.protocol is not None
                    and not self._lost
                ):
                    self._deliver(core.recv())
                    self._again = True
                due = core.poll_at()
                if not self._again and (due is None or due > now):
                    break
            else:
                log.error("{conn}: TCP pump did not settle", conn=self.logPrefix())
        finally:
            self._pumping = False
        if core.finished:
            self._timer.cancel()
            host.forget_tcp(self)
        else:
            self._timer.at(due)

    def _feed_core(self) -> None:
        core = self.core
        while self._queue and core.send_space:
            data = self._queue[0]
            taken = core.send(data)
            self._queued -= taken
            if taken == len(data):
                self._queue.pop(0)
            else:
                self._queue[0] = data[taken:]
                break
        if self._queue:
            return
        if self.producer is not None:
            if self._streaming and self._producer_paused:
                self._producer_paused = False
                self.producer.resumeProducing()
            elif not self._streaming and not self._lost:
                self.producer.resumeProducing()
            if self._queue:
                return
        if self.disconnecting and not self._lost and self.producer is None:
            self.core.close()
            self._connection_lost(Failure(error.ConnectionDone()))
        elif self._write_closing and not self._write_closed and self.producer is None:
            self._write_closed = True
            self.core.close(reading=False)
            if IHalfCloseableProtocol.providedBy(self.protocol):
                self._call(self.protocol.writeConnectionLost)

    def _event(self, event: object) -> None:
        if isinstance(event, Established):
            self._established()
        elif isinstance(event, PeerClosed):
            if self._lost:
                return
            if self._write_closed:
                self._connection_lost(Failure(error.ConnectionDone()))
            elif IHalfCloseableProtocol.providedBy(self.protocol) and not self.disconnecting:
                if self.core.recv_available and not self._reading_paused:
                    self._deliver(self.core.recv())
                self._call(self.protocol.readConnectionLost)
            else:
                if self.core.recv_available:
                    self._deliver(self.core.recv())
                self._queue.clear()
                self._queued = 0
                self.core.close()
                self._connection_lost(Failure(error.ConnectionDone()))
        elif isinstance(event, Closed):
            if self._lost:
                return
            if self.protocol is not None and self.core.recv_available:
                self._deliver(self.core.recv())
            failure = _failure(event.reason, event.detail, bool(self.connected))
            if self.connected:
                self._connection_lost(failure)
            else:
                self._lost = True
                self._connect_failed(failure)

    def _established(self) -> None:
        peer = self.getPeer()
        if self.connector is not None:
            protocol = self.connector.buildProtocol(peer)
        else:
            assert self.factory is not None
            protocol = self.factory.buildProtocol(peer)
            if self.listening_port is not None:
                self.listening_port.accepted(self)
        if protocol is None:
            log.info("{conn}: factory built no protocol, closing", conn=self.logPrefix())
            self._lost = True
            self.core.abort()
            if self.connector is not None:
                self.connector.connectionLost(Failure(error.ConnectionDone()))
            return
        self.protocol = protocol
        self.connected = 1
        try:
            protocol.makeConnection(self)
        except Exception:
            log.failure("{conn}: error in connectionMade", conn=self.logPrefix())
            self.abortConnection()

    def _deliver(self, data: bytes) -> None:
        protocol = self.protocol
        if protocol is None or not data:
            return
        try:
            protocol.dataReceived(data)
        except Exception:
            log.failure("{conn}: error in dataReceived, closing", conn=self.logPrefix())
            self.loseConnection()

    def _call(self, method: Any, *args: Any) -> None:
        try:
            method(*args)
        except Exception:
            log.failure("{conn}: error in {m}", conn=self.logPrefix(), m=method.__name__)

    def _connection_lost(self, reason: Failure) -> None:
        if self._lost:
            return
        self._lost = True
        self.connected = 0
        self.disconnected = True
        self._reading_paused = True
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        producer, self.producer = self.producer, None
        if producer is not None:
            self._call(producer.stopProducing)
        if self.protocol is not None:
            self._call(self.protocol.connectionLost, reason)
        if self.connector is not None:
            self.connector.connectionLost(reason)

    def _connect_failed(self, reason: Failure) -> None:
        if self.connector is not None and self.connector.state == "connecting":
            self.connector.connectionFailed(reason)

    def _on_timer(self, _deadline: float) -> None:
        self._pump()

    def __repr__(self) -> str:
        return f"<TcpConnection {self.logPrefix()} {self.core.state.name}>"


@implementer(IListeningPort)
class TcpPort:
    """A listening TCP port on a virtual host."""

    def __init__(
        self, host: VirtualHost, port: int, factory: Factory, backlog: int, interface: str
    ) -> None:
        self.host = host
        self.port = port
        self.factory = factory
        self.backlog = backlog
        self.interface = interface
        self.local_ip = IPv4Address(interface) if interface else None
        self.pending: set[TcpConnection] = set()  # connections in SYN-RECEIVED
        self.listening = False

    def startListening(self) -> None:
        self.host.bind_tcp(self)
        self.listening = True
        self.factory.doStart()
        log.debug("{host}: TCP port {port} listening", host=self.host.name, port=self.port)

    def stopListening(self) -> defer.Deferred[None]:
        if self.listening:
            self.listening = False
            self.host.unbind_tcp(self)
            self.factory.doStop()
        return defer.succeed(None)

    def loseConnection(self) -> defer.Deferred[None]:
        return self.stopListening()

    def getHost(self) -> address.IPv4Address:
        return address.IPv4Address("TCP", self.interface or "0.0.0.0", self.port)

    def accepted(self, conn: TcpConnection) -> None:
        """*conn* left SYN-RECEIVED (established or gone): its backlog slot is free."""
        self.pending.discard(conn)

    def __repr__(self) -> str:
        return f"<TcpPort {self.host.name}:{self.port}>"


class TcpConnector(base.BaseConnector):
    """``IConnector`` for :meth:`VirtualHost.connectTCP`."""

    def __init__(
        self,
        host: VirtualHost,
        dst: str,
        port: int,
        factory: ClientFactory,
        timeout: float,
        bind_address: tuple[str, int] | None,
    ) -> None:
        super().__init__(factory, timeout, host)  # type: ignore[arg-type]
        self.host = host
        self.dst = dst
        self.port = port
        self.bind_address = bind_address

    def _makeTransport(self) -> Any:
        return self.host._open_tcp(self)

    def getDestination(self) -> address.IPv4Address:
        return address.IPv4Address("TCP", self.dst, self.port)


class _FailedAttempt:
    """The transport of a connection attempt that failed before any segment was sent."""

    def __init__(self, connector: TcpConnector, reason: Exception) -> None:
        self.connector = connector
        self._call = connector.host.callLater(0, self._fail, reason)

    def _fail(self, reason: Exception) -> None:
        if self.connector.state == "connecting":
            self.connector.connectionFailed(Failure(reason))

    def failIfNotConnected(self, err: Exception) -> None:
        if self._call.active():
            self._call.cancel()
        self._fail(err)


__all__ = ["TcpConnection", "TcpConnector", "TcpPort", "TcpState"]
