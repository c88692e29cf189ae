"""The DNS server's Twisted edges: one controller, a UDP protocol and a TCP factory.

The controller (:class:`DnsController`) turns a query's bytes into reply bytes with the
pure :class:`~dcsim.dns.authority.Authority`, hands names outside the zones to a resolver
for the clients allowed recursion, and keeps packed replies: a reply that every client
would get for the same bytes is stored under the query's bytes minus its ID, so the next
identical query is answered by copying (a dictionary lookup instead of a parse and a
pack). The protocols only frame and write.

Everything here takes the reactor as an argument and uses only ``listenUDP``,
``listenTCP``, ``callLater`` and ``seconds`` on it, so the server runs unchanged on real
sockets and on a virtual host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from typing import Protocol as TypingProtocol

from dnslib import DNSRecord
from twisted.internet import udp as twisted_udp
from twisted.internet.defer import Deferred, gatherResults, maybeDeferred
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.logger import Logger

from dcsim.address import Listen
from dcsim.dns import message
from dcsim.dns.authority import (
    Authority,
    Drop,
    IPNetwork,
    Recurse,
    Respond,
    Transfer,
    Transport,
    add_opt,
    reply_to,
)
from dcsim.dns.message import MAX_TCP_MESSAGE, Rcode
from dcsim.dns.tcpframing import (
    FramingError,
    IdleTimeout,
    MessageReceived,
    PeerClosed,
    StreamConnection,
)
from dcsim.edge import DeadlineTimer

log = Logger()

CACHE_ENTRIES = 10_000
CACHE_MAX_QUERY = 512  # longer queries are not kept (they are rare and would bloat keys)
_DROPPED = b""  # a cached decision to send nothing


class Resolver(TypingProtocol):
    """What the controller needs from a recursive resolver (see dcsim.dns.recursive)."""

    def answer(self, query: DNSRecord) -> Deferred[DNSRecord]: ...


@dataclass(frozen=True, slots=True)
class TcpLimits:
    idle_timeout: float = 10.0  # RFC 7766 §6.2.3 leaves it to the server; BIND uses 30 s
    max_connections: int = 100
    max_per_client: int = 10
    max_queries: int = 1000  # per connection, then the server closes it (RFC 7766 §6.2.3)


class DnsController:
    """Shared by the UDP and TCP edges: bytes in, bytes (or a Deferred, or nothing) out."""

    def __init__(
        self,
        authority: Authority,
        resolver: Resolver | None = None,
        recursion_clients: Sequence[IPNetwork] = (),
        cache_entries: int = CACHE_ENTRIES,
    ) -> None:
        self.authority = authority
        self.resolver = resolver
        self.recursion_clients = tuple(recursion_clients)
        self.cache_entries = cache_entries
        # packed replies by query bytes minus the ID: b"" means "send nothing"
        self.caches: dict[Transport, dict[bytes, bytes]] = {t: {} for t in Transport}
        self.udp_cache = self.caches[Transport.UDP]
        self.queries = 0  # messages received, over both transports
        self.hits = 0  # of which answered from the reply cache
        #: Told every query with its (first) reply, None for no answer, cached or not
        #: (``dcsim up`` feeds its status page).
        self.watch: Callable[[str, bytes, bytes | None], None] | None = None

    def may_recurse(self, client: str) -> bool:
        if self.resolver is None or not self.recursion_clients:
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in net for net in self.recursion_clients)

    def answer_udp(self, data: bytes, client: str) -> bytes | Deferred[bytes | None] | None:
        """The reply datagram for *data*, or None to send nothing."""
        self.queries += 1
        hit = self.udp_cache.get(data[2:])
        if hit is not None:
            self.hits += 1
            result = data[:2] + hit if hit else None
        else:
            result = self._answer(data, client, Transport.UDP)
        if self.watch is not None:
            self._tell(data, client, result)
        return result

    def answer_tcp(self, data: bytes, client: str) -> list[bytes] | Deferred[list[bytes]]:
        """The reply messages for *data* (several for a zone transfer, none for a drop)."""
        result = self._answer_tcp(data, client)
        if self.watch is not None:
            self._tell(data, client, result)
        return result

    def _tell(self, data: bytes, client: str, result: Any) -> None:
        watch = self.watch
        assert watch is not None

        def tell(reply: Any) -> Any:
            first = reply[0] if isinstance(reply, list) and reply else reply
            watch(client, data, first if isinstance(first, bytes) else None)
            return reply

        if isinstance(result, Deferred):
            result.addCallback(tell)
        else:
            tell(result)

    def _answer_tcp(self, data: bytes, client: str) -> list[bytes] | Deferred[list[bytes]]:
        self.queries += 1
        hit = self.caches[Transport.TCP].get(data[2:])
        if hit is not None:
            self.hits += 1
            return [data[:2] + hit] if hit else []
        result = self._answer(data, client, Transport.TCP)
        if isinstance(result, Deferred):
            return result.addCallback(lambda r: [r] if isinstance(r, bytes) else (r or []))
        if result is None:
            return []
        return [result] if isinstance(result, bytes) else result

    def _answer(self, data: bytes, client: str, transport: Transport) -> Any:
        recursion = self.may_recurse(client)
        decision = self.authority.decide(data, client, transport, recursion)
        if isinstance(decision, Respond):
            if decision.note:
                log.debug("{note} (from {client})", note=decision.note, client=client)
            limit = self._limit(decision.query, transport)
            out = message.encode(decision.message, limit)
            if decision.cacheable:
                self._store(transport, data, out[2:])
            return out
        if isinstance(decision, Drop):
            log.debug("no answer to {client}: {reason}", client=client, reason=decision.reason)
            if not recursion:
                self._store(transport, data, _DROPPED)
            return None
        if isinstance(decision, Transfer):
            log.info("zone transfer of {zone} to {client}", zone=decision.zone, client=client)
            return [message.encode(m, MAX_TCP_MESSAGE) for m in decision.messages]
        assert isinstance(decision, Recurse) and self.resolver is not None
        return self._recurse(decision.query, transport)

    def _recurse(self, query: DNSRecord, transport: Transport) -> Deferred[bytes]:
        def failed(failure: Any) -> DNSRecord:
            log.failure("resolving {name} failed", failure, name=query.q.qname)
            return reply_to(query, Rcode.SERVFAIL, ra=True)

        def encode(reply: DNSRecord) -> bytes:
            if message.opt_records(query):
                add_opt(reply, query, self.authority.policy.edns_payload)
            return message.encode(reply, self._limit(query, transport))

        return self.resolver.answer(query).addErrback(failed).addCallback(encode)

    def _limit(self, query: DNSRecord | None, transport: Transport) -> int:
        if transport is Transport.TCP:
            return MAX_TCP_MESSAGE
        if query is None:
            return message.UDP_LIMIT
        return message.udp_limit(query, self.authority.policy.edns_payload)

    def _store(self, transport: Transport, query: bytes, reply_tail: bytes) -> None:
        if len(query) > CACHE_MAX_QUERY or len(query) < message.HEADER_SIZE:
            return
        cache = self.caches[transport]
        if len(cache) >= self.cache_entries:
            del cache[next(iter(cache))]  # the oldest entry
        cache[query[2:]] = reply_tail


class DnsDatagramProtocol(DatagramProtocol):
    """DNS over UDP: one datagram, one answer (or none).

    A query whose reply is in the controller's cache is answered here without a call
    into the controller: this is the path a busy server spends its time on."""

    noisy = False

    def __init__(self, controller: DnsController) -> None:
        self.controller = controller
        self._cache = controller.udp_cache
        self._send: Callable[[bytes, Any], None] = self._write

    def startProtocol(self) -> None:
        self._send = _sender(self.transport, self._write)

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        controller = self.controller
        # the reply cache inline (the busy path), unless every query is to be told
        hit = self._cache.get(data[2:]) if controller.watch is None else None
        if hit is not None:
            controller.queries += 1
            controller.hits += 1
            if hit:
                self._send(data[:2] + hit, addr)
            return
        out = controller.answer_udp(data, addr[0])
        if out is None:
            return
        if isinstance(out, bytes):
            self._send(out, addr)
        else:
            out.addCallback(self._send_later, addr)

    def _write(self, data: bytes, addr: Any) -> None:
        self.transport.write(data, addr)

    def _send_later(self, out: bytes | None, addr: Any) -> None:
        if out is not None and self.transport is not None:
            self._send(out, addr)


def _sender(transport: Any, fallback: Callable[[bytes, Any], None]) -> Callable[[bytes, Any], None]:
    """How to send a datagram on *transport*. On Twisted's own UDP port, its socket's
    ``sendto``: the port's ``write`` checks the address's syntax three times on every
    call, which costs as much as answering from the cache. A send that fails (a full
    socket buffer) loses that one datagram, as UDP may. Anything else (a virtual host's
    port): its ``write``."""
    sock = getattr(transport, "socket", None)
    if not isinstance(transport, twisted_udp.Port) or sock is None:
        return fallback
    sendto = sock.sendto

    def send(data: bytes, addr: Any) -> None:
        try:
            sendto(data, addr)
        except OSError as e:
            log.debug("reply to {addr} not sent: {e}", addr=addr, e=e)

    return send


class DnsStreamProtocol(Protocol):
    """DNS over TCP for one connection (RFC 7766): framing, pipelining, idle timeout,
    and flow control (when the client stops reading, we stop reading its queries)."""

    def __init__(self, factory: DnsStreamFactory) -> None:
        self.factory = factory
        self.clock = factory.reactor
        self.core = StreamConnection(self.clock.seconds(), factory.limits.idle_timeout)
        self._timer = DeadlineTimer(self.clock, self._expire)
        self._queries = 0
        self.client = ""

    def connectionMade(self) -> None:
        self.client = self.transport.getPeer().host
        if not self.factory.admit(self):
            self.transport.abortConnection()
            return
        self.transport.registerProducer(self, True)
        self._rearm()

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.forget(self)
        self._timer.cancel()

    def dataReceived(self, data: bytes) -> None:
        self.core.receive_data(data, self.clock.seconds())
        self._pump()

    def _pump(self) -> None:
        for event in self.core.events():
            if isinstance(event, MessageReceived):
                self._query(event.data)
            elif isinstance(event, IdleTimeout):
                log.debug("closing idle DNS/TCP connection from {client}", client=self.client)
                self.transport.loseConnection()
            elif isinstance(event, FramingError):
                log.info("DNS/TCP from {client}: {reason}", client=self.client, reason=event.reason)
                self.transport.abortConnection()
            elif isinstance(event, PeerClosed):
                self.transport.loseConnection()
        self._flush()
        self._rearm()

    def _query(self, data: bytes) -> None:
        self._queries += 1
        if self._queries > self.factory.limits.max_queries:
            log.info("DNS/TCP from {client}: query limit reached", client=self.client)
            self.core.closed = True
            self.transport.loseConnection()
            return
        out = self.factory.controller.answer_tcp(data, self.client)
        if isinstance(out, Deferred):
            out.addCallback(self._answered)
        else:
            self._answered(out, flush=False)

    def _answered(self, replies: list[bytes], flush: bool = True) -> None:
        now = self.clock.seconds()
        for reply in replies:
            self.core.send(reply, now)
        self.core.done(now)
        if flush:
            self._flush()
            self._rearm()

    def _flush(self) -> None:
        out = self.core.data_to_send()
        if out and self.transport is not None and self.connected:
            self.transport.write(out)

    def _rearm(self) -> None:
        self._timer.at(self.core.deadline() if self.connected else None)

    def _expire(self, _deadline: float) -> None:
        self.core.handle_timer(self.clock.seconds())
        self._pump()

    # IPushProducer: the transport tells us when its write buffer is full
    def pauseProducing(self) -> None:
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        self.transport.abortConnection()


class DnsStreamFactory(Factory):
    """Makes :class:`DnsStreamProtocol`\\ s and enforces the connection limits."""

    noisy = False

    def __init__(self, controller: DnsController, reactor: Any, limits: TcpLimits) -> None:
        self.controller = controller
        self.reactor = reactor
        self.limits = limits
        self.connections: dict[str, set[DnsStreamProtocol]] = {}

    def buildProtocol(self, addr: Any) -> DnsStreamProtocol:
        return DnsStreamProtocol(self)

    @property
    def open_connections(self) -> int:
        return sum(len(c) for c in self.connections.values())

    def admit(self, proto: DnsStreamProtocol) -> bool:
        mine = self.connections.get(proto.client, set())
        if self.open_connections >= self.limits.max_connections:
            log.info("DNS/TCP from {client} refused: server connection limit", client=proto.client)
            return False
        if len(mine) >= self.limits.max_per_client:
            log.info("DNS/TCP from {client} refused: per-client limit", client=proto.client)
            return False
        self.connections.setdefault(proto.client, set()).add(proto)
        return True

    def forget(self, proto: DnsStreamProtocol) -> None:
        mine = self.connections.get(proto.client)
        if mine is not None:
            mine.discard(proto)
            if not mine:
                del self.connections[proto.client]


class DnsServer:
    """Listens on the given addresses of *reactor* (real or virtual) with one controller."""

    def __init__(
        self, reactor: Any, controller: DnsController, tcp: TcpLimits | None = None
    ) -> None:
        self.reactor = reactor
        self.controller = controller
        self.tcp_factory = DnsStreamFactory(controller, reactor, tcp or TcpLimits())
        self.listening: list[tuple[Listen, IListeningPort]] = []

    def listen(self, address: Listen) -> IListeningPort:
        if address.transport == "udp":
            port = self.reactor.listenUDP(
                address.port, DnsDatagramProtocol(self.controller), interface=address.host
            )
        else:
            port = self.reactor.listenTCP(address.port, self.tcp_factory, interface=address.host)
        self.listening.append((address, port))
        return port

    def stop(self) -> Deferred[Any]:
        return gatherResults([maybeDeferred(p.stopListening) for _, p in self.listening])
