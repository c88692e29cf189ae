"""One DNS exchange with one server over UDP or TCP, on any reactor (real or virtual).

The recursive resolver asks through this. Each UDP query uses its own connected port, so
only the server's address is accepted and an ICMP port-unreachable fails the query at
once; each TCP query its own connection (the resolver's queries go to many servers). A
reply must match the query's ID and question (RFC 5452 §4.1), otherwise it is ignored and
the exchange keeps waiting until the timeout.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from dnslib import DNSRecord
from twisted.internet import error as net_error
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import ClientFactory, DatagramProtocol, Protocol
from twisted.logger import Logger

from dcsim.dns import message, names
from dcsim.dns.message import Malformed
from dcsim.dns.tcpframing import MessageReceived, StreamConnection

log = Logger()

Server = tuple[str, int]


class Failure(enum.Enum):
    TIMEOUT = "timeout"
    REFUSED = "refused"  # ICMP port unreachable (UDP) or RST (TCP)
    UNREACHABLE = "unreachable"  # no route, or the connection broke
    BAD_REPLY = "bad reply"  # a TCP reply that does not parse or match


class ExchangeError(Exception):
    def __init__(self, failure: Failure, server: Server, transport: str, detail: str = "") -> None:
        super().__init__(failure, server, transport, detail)
        self.failure = failure
        self.server = server
        self.transport = transport
        self.detail = detail

    def __str__(self) -> str:
        where = f"{self.server[0]}:{self.server[1]} over {self.transport}"
        return f"{self.failure.value} from {where}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True, slots=True)
class Reply:
    message: DNSRecord
    transport: str  # "udp" or "tcp"


def matches(query: DNSRecord, reply: DNSRecord) -> bool:
    """The reply answers this query: same ID, QR set, same question (any case)."""
    if reply.header.id != query.header.id or not reply.header.qr:
        return False
    if not reply.questions:  # FORMERR/NOTIMP replies may omit the question
        return reply.header.rcode != 0
    q, r = query.q, reply.q
    return (q.qtype, q.qclass) == (r.qtype, r.qclass) and names.key(q.qname) == names.key(r.qname)


class _UdpExchange(DatagramProtocol):
    noisy = False

    def __init__(self, query: DNSRecord, server: Server, done: Deferred[Reply]) -> None:
        self.query = query
        self.data = bytes(query.pack())
        self.server = server
        self.done = done

    def startProtocol(self) -> None:
        self.transport.connect(*self.server)
        self.transport.write(self.data)

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        try:
            reply = message.decode(data)
        except Malformed as e:
            log.debug("unreadable reply from {server}: {e}", server=self.server, e=e)
            return
        if matches(self.query, reply) and not self.done.called:
            self.done.callback(Reply(reply, "udp"))

    def connectionRefused(self) -> None:
        if not self.done.called:
            self.done.errback(ExchangeError(Failure.REFUSED, self.server, "udp"))


class _TcpExchange(Protocol):
    def __init__(self, query: DNSRecord, server: Server, done: Deferred[Reply], clock: Any):
        self.query = query
        self.server = server
        self.done = done
        self.core = StreamConnection(clock.seconds(), None)
        self.clock = clock

    def connectionMade(self) -> None:
        self.core.send(bytes(self.query.pack()), self.clock.seconds())
        self.transport.write(self.core.data_to_send())

    def dataReceived(self, data: bytes) -> None:
        self.core.receive_data(data, self.clock.seconds())
        for event in self.core.events():
            if not isinstance(event, MessageReceived) or self.done.called:
                continue
            try:
                reply = message.decode(event.data)
            except Malformed as e:
                self._fail(Failure.BAD_REPLY, str(e))
                return
            if matches(self.query, reply):
                self.done.callback(Reply(reply, "tcp"))
                self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        if not self.done.called:
            self._fail(Failure.UNREACHABLE, "the connection closed before a reply")

    def _fail(self, failure: Failure, detail: str) -> None:
        if not self.done.called:
            self.done.errback(ExchangeError(failure, self.server, "tcp", detail))
        self.transport.abortConnection()


class _TcpFactory(ClientFactory):
    noisy = False

    def __init__(self, query: DNSRecord, server: Server, done: Deferred[Reply], clock: Any):
        self.query, self.server, self.done, self.clock = query, server, done, clock

    def buildProtocol(self, addr: Any) -> _TcpExchange:
        return _TcpExchange(self.query, self.server, self.done, self.clock)

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        if self.done.called:
            return
        if reason.check(net_error.ConnectionRefusedError):
            self.done.errback(ExchangeError(Failure.REFUSED, self.server, "tcp"))
        elif reason.check(net_error.TimeoutError, net_error.UserError):
            self.done.errback(ExchangeError(Failure.TIMEOUT, self.server, "tcp", "connect"))
        else:
            detail = reason.getErrorMessage()
            self.done.errback(ExchangeError(Failure.UNREACHABLE, self.server, "tcp", detail))


class Exchanger:
    """Sends one query to one server and waits, with a timeout, on *reactor*."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def udp(self, query: DNSRecord, server: Server, timeout: float) -> Deferred[Reply]:
        done: Deferred[Reply] = Deferred()
        protocol = _UdpExchange(query, server, done)
        try:
            port = self.reactor.listenUDP(0, protocol)
        except net_error.CannotListenError as e:
            done.errback(ExchangeError(Failure.UNREACHABLE, server, "udp", str(e)))
            return done
        return self._with_timeout(done, timeout, server, "udp", port.stopListening)

    def tcp(self, query: DNSRecord, server: Server, timeout: float) -> Deferred[Reply]:
        done: Deferred[Reply] = Deferred()
        factory = _TcpFactory(query, server, done, self.reactor)
        connector = self.reactor.connectTCP(server[0], server[1], factory, timeout=timeout)
        return self._with_timeout(done, timeout, server, "tcp", connector.disconnect)

    def _with_timeout(
        self, done: Deferred[Reply], timeout: float, server: Server, transport: str, cleanup: Any
    ) -> Deferred[Reply]:
        def expire() -> None:
            if not done.called:
                done.errback(ExchangeError(Failure.TIMEOUT, server, transport))

        timer: IDelayedCall = self.reactor.callLater(timeout, expire)

        def finish(result: Any) -> Any:
            if timer.active():
                timer.cancel()
            cleanup()
            return result

        return done.addBoth(finish)
