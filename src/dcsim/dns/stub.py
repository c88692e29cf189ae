"""The Dreamcast's stub resolver: a sans-IO core for one lookup, and a thin Twisted edge.

What is known (failure2006.md §3): the Dreamcast asks over UDP only and never retries
over TCP; it asks its primary server and turns to the secondary only when the primary
does not answer at all (an NXDOMAIN or SERVFAIL from the primary is final); KallistiOS
tries 4 times, 500 ms apart, with RD set. The official Sega/ACCESS/PlanetWeb stack's
number of tries and timeout are **unknown**: they are parameters here, defaulting to
KallistiOS's values. The TC bit is ignored, as KallistiOS ignores it: whatever addresses
a truncated reply holds are used.

The core never reads a clock or touches a socket: ``start(now)``, ``receive_datagram``,
``handle_timer`` in; ``datagrams_to_send``, ``events`` and ``deadline`` out.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dnslib import QTYPE, DNSHeader, DNSLabel, DNSQuestion, DNSRecord
from twisted.internet.defer import Deferred
from twisted.internet.protocol import DatagramProtocol

from dcsim.dns import message, names
from dcsim.dns.client import matches
from dcsim.dns.message import Malformed, Rcode
from dcsim.edge import DeadlineTimer

DNS_PORT = 53
KOS_TRIES = 4  # KallistiOS kernel/libc/koslib/getaddrinfo.c DNS_ATTEMPTS
KOS_TIMEOUT = 0.5  # KallistiOS DNS_TIMEOUT, 500 ms


@dataclass(frozen=True)
class StubConfig:
    servers: tuple[str, ...]  # primary, then secondary: what flash, IPCP or DHCP gave
    tries: int = KOS_TRIES  # per server; the official stack's value is unknown
    timeout: float = KOS_TIMEOUT  # seconds per try; the official stack's value is unknown
    port: int = DNS_PORT

    def __post_init__(self) -> None:
        if not self.servers:
            raise ValueError("a stub resolver needs at least one server")
        if self.tries < 1 or self.timeout <= 0:
            raise ValueError("tries must be at least 1 and timeout positive")


class StubFailure(enum.Enum):
    NXDOMAIN = "nxdomain"  # the name does not exist (EAI_NONAME)
    NODATA = "nodata"  # the name exists but has no address
    SERVFAIL = "servfail"  # the server could not answer (EAI_AGAIN)
    REFUSED = "refused"  # the server would not answer (EAI_FAIL)
    ERROR = "error"  # FORMERR, NOTIMP or another RCODE (EAI_FAIL)
    TIMEOUT = "timeout"  # no server answered (ETIMEDOUT)


_RCODE_FAILURES = {
    Rcode.NXDOMAIN: StubFailure.NXDOMAIN,
    Rcode.SERVFAIL: StubFailure.SERVFAIL,
    Rcode.REFUSED: StubFailure.REFUSED,
}


@dataclass(frozen=True, slots=True)
class QuerySent:
    server: str
    attempt: int  # 1-based, per server


@dataclass(frozen=True, slots=True)
class Resolved:
    name: str
    addresses: tuple[str, ...]
    server: str
    elapsed: float


@dataclass(frozen=True, slots=True)
class LookupFailed:
    name: str
    failure: StubFailure
    server: str | None  # who said so; None for a timeout
    elapsed: float
    rcode: int | None = None


Event = QuerySent | Resolved | LookupFailed


class StubLookup:
    """One A lookup, as the Dreamcast does it."""

    def __init__(self, name: str, config: StubConfig, rng: random.Random) -> None:
        self.name = name
        self.config = config
        label = names.from_text(name.rstrip(".") + ".")
        self.query = DNSRecord(DNSHeader(rng.getrandbits(16), rd=1), q=DNSQuestion(label, QTYPE.A))
        self._wire = bytes(self.query.pack())
        self._server_index = 0
        self._attempt = 0
        self._started = 0.0
        self._deadline: float | None = None
        self._out: list[tuple[bytes, tuple[str, int]]] = []
        self._events: list[Event] = []
        self._asked: set[tuple[str, int]] = set()
        self.done = False

    def start(self, now: float) -> None:
        self._started = now
        self._send(now)

    def _send(self, now: float) -> None:
        server = self.config.servers[self._server_index]
        self._attempt += 1
        address = (server, self.config.port)
        self._asked.add(address)
        self._out.append((self._wire, address))
        self._events.append(QuerySent(server, self._attempt))
        self._deadline = now + self.config.timeout

    def handle_timer(self, now: float) -> None:
        if self.done or self._deadline is None or now < self._deadline:
            return
        if self._attempt < self.config.tries:
            self._send(now)
        elif self._server_index + 1 < len(self.config.servers):
            self._server_index += 1
            self._attempt = 0
            self._send(now)
        else:
            self._finish(LookupFailed(self.name, StubFailure.TIMEOUT, None, now - self._started))

    def receive_datagram(self, data: bytes, source: tuple[str, int], now: float) -> None:
        if self.done or tuple(source) not in self._asked:
            return
        try:
            reply = message.decode(data)
        except Malformed:
            return  # like any stub: a datagram it cannot read is not an answer
        if not matches(self.query, reply):
            return
        server, elapsed = source[0], now - self._started
        rcode = reply.header.rcode
        if rcode != Rcode.NOERROR:
            failure = _RCODE_FAILURES.get(rcode, StubFailure.ERROR)
            self._finish(LookupFailed(self.name, failure, server, elapsed, rcode))
            return
        addresses = _addresses(reply, self.query.q.qname)
        if addresses:
            self._finish(Resolved(self.name, addresses, server, elapsed))
        else:
            self._finish(LookupFailed(self.name, StubFailure.NODATA, server, elapsed, rcode))

    def _finish(self, event: Event) -> None:
        self.done = True
        self._deadline = None
        self._events.append(event)

    def datagrams_to_send(self) -> list[tuple[bytes, tuple[str, int]]]:
        out, self._out = self._out, []
        return out

    def events(self) -> Iterator[Event]:
        while self._events:
            yield self._events.pop(0)

    def deadline(self) -> float | None:
        return self._deadline


def _addresses(reply: DNSRecord, qname: DNSLabel) -> tuple[str, ...]:
    """A records for *qname*, following CNAMEs inside the answer section."""
    current = names.key(qname)
    for _ in range(16):
        here = [rr for rr in reply.rr if names.key(rr.rname) == current]
        found = tuple(str(rr.rdata) for rr in here if rr.rtype == QTYPE.A)
        if found:
            return found
        cname = next((rr for rr in here if rr.rtype == QTYPE.CNAME), None)
        if cname is None:
            return ()
        current = names.key(cname.rdata.label)
    return ()


class StubLookupError(Exception):
    def __init__(self, event: LookupFailed) -> None:
        super().__init__(event)
        self.event = event

    def __str__(self) -> str:
        who = f" from {self.event.server}" if self.event.server else ""
        return f"{self.event.name}: {self.event.failure.value}{who}"


class _StubProtocol(DatagramProtocol):
    noisy = False

    def __init__(self, core: StubLookup, clock: Any, done: Deferred[Resolved]) -> None:
        self.core = core
        self.clock = clock
        self.done = done
        self.timer = DeadlineTimer(clock, self._expire)

    def startProtocol(self) -> None:
        self.core.start(self.clock.seconds())
        self._pump()

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.core.receive_datagram(data, addr, self.clock.seconds())
        self._pump()

    def _expire(self, _deadline: float) -> None:
        self.core.handle_timer(self.clock.seconds())
        self._pump()

    def _pump(self) -> None:
        for data, address in self.core.datagrams_to_send():
            self.transport.write(data, address)
        for event in self.core.events():
            if isinstance(event, Resolved):
                self._end()
                self.done.callback(event)
            elif isinstance(event, LookupFailed):
                self._end()
                self.done.errback(StubLookupError(event))
        self.timer.at(self.core.deadline())

    def _end(self) -> None:
        if self.transport is not None:
            self.transport.stopListening()


class DreamcastResolver:
    """The stub resolver on a reactor (a virtual Dreamcast's host, or the real one)."""

    def __init__(self, reactor: Any, config: StubConfig, rng: random.Random) -> None:
        self.reactor = reactor
        self.config = config
        self.rng = rng

    def lookup(self, name: str) -> Deferred[Resolved]:
        """Resolve *name* to its A records; fails with :class:`StubLookupError`."""
        done: Deferred[Resolved] = Deferred()
        core = StubLookup(name, self.config, self.rng)
        self.reactor.listenUDP(0, _StubProtocol(core, self.reactor, done))
        return done

    def getHostByName(self, name: str, timeout: Any = None) -> Deferred[str]:
        """``IResolverSimple``: the first address (*timeout* is the config's, not this)."""
        return self.lookup(name).addCallback(lambda r: r.addresses[0])
