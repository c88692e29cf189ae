"""The ISP's recursive resolver: iterates from the root (or asks forwarders), caches.

RFC 1034 §5.3.3 simplified to what a 2006 ISP resolver did: start at the closest zone
whose servers are known (the root hints at first), follow referrals down, follow CNAMEs,
cache positive and negative answers by TTL (RFC 2308), try the next server on a timeout,
an error or a lame answer, retry over TCP when a reply is truncated, and drop EDNS for a
server that answers FORMERR to it or, optionally, that times out with it (what BIND 9
did, and what makes an EDNS-dropping server slow rather than dead). Each client question
may cost a bounded number of upstream queries.

What to do with a reply is decided by the pure :func:`classify`; the I/O goes through
:class:`dcsim.dns.client.Exchanger` on the reactor given, real or virtual.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dnslib import EDNS0, QTYPE, RR, DNSHeader, DNSLabel, DNSQuestion, DNSRecord
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from dcsim.dns import names
from dcsim.dns.authority import CLASS_IN, reply_to
from dcsim.dns.cache import Cache, Negative, Rank
from dcsim.dns.client import ExchangeError, Exchanger, Failure, Reply
from dcsim.dns.message import Rcode
from dcsim.dns.names import Key

log = Logger()

Upstream = Literal["udp", "tcp-first", "tcp-only"]


@dataclass(frozen=True)
class ResolverConfig:
    root_hints: tuple[RR, ...] = ()  # NS records for the root and their A records
    forwarders: tuple[str, ...] = ()  # if set: ask these (RD=1) instead of iterating
    port: int = 53  # the port of every server asked (tests on loopback use another)
    timeout: float = 2.0  # per query
    tries: int = 2  # rounds over a zone's servers
    upstream: Upstream = "udp"  # tcp-first / tcp-only: resolvers told to prefer TCP
    tcp_fallback: bool = True  # on TC, ask again over TCP (RFC 1123 §6.1.3.2)
    edns: bool = True  # BIND 9 sent EDNS by default in 2006
    edns_payload: int = 4096
    edns_timeout_fallback: bool = True  # a timeout with EDNS: try once without
    max_queries: int = 40  # upstream queries per client question
    max_cname: int = 8
    max_ns_depth: int = 3  # resolving a name server's name may itself need resolving
    cache_entries: int = 10_000


@dataclass(frozen=True, slots=True)
class Resolution:
    rcode: int
    answer: tuple[RR, ...] = ()
    authority: tuple[RR, ...] = ()
    reason: str = ""  # why it failed (SERVFAIL), for logs and scenario reports


class Kind(enum.Enum):
    ANSWER = "answer"
    CNAME = "cname"  # the answer ends in a CNAME whose target has no data here
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    REFERRAL = "referral"
    LAME = "lame"  # an upward or sideways referral, or an empty non-answer
    FAIL = "fail"  # SERVFAIL, REFUSED, FORMERR, NOTIMP...


@dataclass(frozen=True, slots=True)
class Classified:
    kind: Kind
    chain: tuple[RR, ...] = ()  # CNAMEs and the final RRset for the name
    soa: RR | None = None
    child: Key | None = None  # for a referral: the zone it points to
    detail: str = ""


def classify(reply: DNSRecord, name: DNSLabel, qtype: int, zone: Key) -> Classified:
    """What *reply* (to *name*/*qtype*, asked of a server for *zone*) means."""
    rcode = reply.header.rcode
    if rcode not in (Rcode.NOERROR, Rcode.NXDOMAIN):
        return Classified(Kind.FAIL, detail=_rcode_name(rcode))
    chain: list[RR] = []
    current = names.key(name)
    for _ in range(16):
        here = [rr for rr in reply.rr if names.key(rr.rname) == current]
        wanted = [rr for rr in here if rr.rtype == qtype or qtype == QTYPE.ANY]
        if wanted:
            return Classified(Kind.ANSWER, (*chain, *wanted))
        cname = [rr for rr in here if rr.rtype == QTYPE.CNAME]
        if not cname or qtype == QTYPE.CNAME:
            break
        chain.append(cname[0])
        current = names.key(cname[0].rdata.label)
    soa = next((rr for rr in reply.auth if rr.rtype == QTYPE.SOA), None)
    if rcode == Rcode.NXDOMAIN:
        return Classified(Kind.NXDOMAIN, tuple(chain), soa)
    ns = [rr for rr in reply.auth if rr.rtype == QTYPE.NS]
    if soa is not None:
        return Classified(Kind.NODATA, tuple(chain), soa)
    if chain:
        return Classified(Kind.CNAME, tuple(chain))
    if reply.header.aa and not ns:
        return Classified(Kind.NODATA)
    if ns:
        owner = names.key(ns[0].rname)
        if owner != zone and names.under(owner, zone) and names.under(names.key(name), owner):
            return Classified(Kind.REFERRAL, child=owner)
        return Classified(
            Kind.LAME, detail=f"referral to {ns[0].rname} from a server for {_show(zone)}"
        )
    return Classified(Kind.LAME, detail="no answer, no referral")


def _rcode_name(rcode: int) -> str:
    try:
        return Rcode(rcode).name
    except ValueError:
        return f"RCODE {rcode}"


def _show(k: Key) -> str:
    return ".".join(label.decode("ascii", "replace") for label in k) + "." if k else "."


class ResolutionFailed(Exception):
    """No usable answer: becomes SERVFAIL, with the reasons."""


@dataclass
class _Budget:
    left: int
    reasons: list[str] = field(default_factory=list)

    def spend(self) -> None:
        if self.left <= 0:
            raise ResolutionFailed("too many upstream queries for one question")
        self.left -= 1


@dataclass(frozen=True, slots=True)
class _Question:
    """One upstream question and the client question's budget it is paid from."""

    name: DNSLabel
    qtype: int
    rd: bool
    budget: _Budget


class RecursiveResolver:
    """Resolves names on *reactor* (real or a virtual host) for the DNS server's clients."""

    def __init__(
        self,
        reactor: Any,
        config: ResolverConfig,
        rng: random.Random,
        cache: Cache | None = None,
    ) -> None:
        if not config.root_hints and not config.forwarders:
            raise ValueError("a recursive resolver needs root hints or forwarders")
        self.reactor = reactor
        self.config = config
        self.rng = rng
        self.cache = cache or Cache(config.cache_entries)
        self.exchanger = Exchanger(reactor)
        self.no_edns: set[str] = set()  # servers that did not take EDNS
        self.queries_sent = 0

    # --- the DNS server's interface ------------------------------------------------------

    def answer(self, query: DNSRecord) -> Deferred[DNSRecord]:
        def build(result: Resolution) -> DNSRecord:
            reply = reply_to(query, result.rcode, ra=True)
            reply.rr = list(result.answer)
            reply.auth = list(result.authority)
            return reply

        return self.resolve(query.q.qname, query.q.qtype).addCallback(build)

    def resolve(self, name: DNSLabel, qtype: int) -> Deferred[Resolution]:
        """Resolve *name*/*qtype*; never fails (a failure is a SERVFAIL resolution)."""
        budget = _Budget(self.config.max_queries)
        return Deferred.fromCoroutine(self._top(name, qtype, budget))

    async def _top(self, name: DNSLabel, qtype: int, budget: _Budget) -> Resolution:
        try:
            return await self._resolve(name, qtype, budget, 0)
        except ResolutionFailed as e:
            reason = "; ".join([str(e), *budget.reasons[-3:]])
            log.info(
                "SERVFAIL for {name} {qtype}: {reason}",
                name=name,
                qtype=QTYPE.get(qtype),
                reason=reason,
            )
            return Resolution(Rcode.SERVFAIL, reason=reason)

    # --- resolution ----------------------------------------------------------------------

    async def _resolve(self, name: DNSLabel, qtype: int, budget: _Budget, depth: int) -> Resolution:
        chain: list[RR] = []
        current = name
        for _ in range(self.config.max_cname + 1):
            result = self._from_cache(current, qtype)
            if result is None:
                result = await (self._forward if self.config.forwarders else self._iterate)(
                    current, qtype, budget, depth
                )
            chain += result.answer
            target = _dangling_cname(result.answer, current, qtype) if result.answer else None
            if result.rcode != Rcode.NOERROR or target is None:
                return Resolution(result.rcode, tuple(chain), result.authority)
            current = target
        raise ResolutionFailed(f"more than {self.config.max_cname} CNAMEs")

    def _from_cache(self, name: DNSLabel, qtype: int) -> Resolution | None:
        now = self.reactor.seconds()
        k = names.key(name)
        hit = self.cache.get(k, qtype, now)
        if hit is None and qtype != QTYPE.CNAME:
            hit = self.cache.get(k, QTYPE.CNAME, now)
            if hit is not None and hit.negative is not None:
                hit = None  # NODATA for CNAME says nothing about qtype
        if hit is None:
            return None
        if hit.negative is Negative.NXDOMAIN:
            return Resolution(Rcode.NXDOMAIN, (), (hit.soa,))
        if hit.negative is Negative.NODATA:
            return Resolution(Rcode.NOERROR, (), (hit.soa,))
        return Resolution(Rcode.NOERROR, hit.records)

    async def _forward(self, name: DNSLabel, qtype: int, budget: _Budget, depth: int) -> Resolution:
        result, _ = await self._ask(list(self.config.forwarders), (), name, qtype, budget, rd=True)
        return self._conclude(result, name, qtype, Rank.ANSWER)

    async def _iterate(self, name: DNSLabel, qtype: int, budget: _Budget, depth: int) -> Resolution:
        zone, servers = self._known_servers(names.key(name))
        for _ in range(len(names.key(name)) + 2):  # each referral goes at least a label down
            result, reply = await self._ask(servers, zone, name, qtype, budget, rd=False)
            if result.kind is not Kind.REFERRAL:
                return self._conclude(result, name, qtype, Rank.ANSWER)
            assert result.child is not None
            servers = await self._referral(result.child, reply, zone, budget, depth)
            zone = result.child
        raise ResolutionFailed("referrals do not get closer to the name")

    def _conclude(self, result: Classified, name: DNSLabel, qtype: int, rank: Rank) -> Resolution:
        now = self.reactor.seconds()
        for rrset in _rrsets(result.chain):
            self.cache.put(names.key(rrset[0].rname), rrset[0].rtype, rrset, rank, now)
        authority = (result.soa,) if result.soa is not None else ()
        if result.kind in (Kind.NXDOMAIN, Kind.NODATA):
            # a negative answer is about the name at the end of the CNAME chain
            last = names.key(result.chain[-1].rdata.label) if result.chain else names.key(name)
            if result.kind is Kind.NXDOMAIN:
                self.cache.put_negative(last, qtype, Negative.NXDOMAIN, result.soa, now)
                return Resolution(Rcode.NXDOMAIN, result.chain, authority)
            self.cache.put_negative(last, qtype, Negative.NODATA, result.soa, now)
        return Resolution(Rcode.NOERROR, result.chain, authority)

    async def _referral(
        self, child: Key, reply: DNSRecord, zone: Key, budget: _Budget, depth: int
    ) -> list[str]:
        """Cache the delegation to *child* and its glue; the addresses of its servers."""
        now = self.reactor.seconds()
        ns = [rr for rr in reply.auth if rr.rtype == QTYPE.NS]
        self.cache.put(child, QTYPE.NS, ns, Rank.GLUE, now)
        for rrset in _rrsets([rr for rr in reply.ar if rr.rtype in (QTYPE.A, QTYPE.AAAA)]):
            owner = names.key(rrset[0].rname)
            if names.under(owner, zone):  # glue only from within the referring zone's bailiwick
                self.cache.put(owner, rrset[0].rtype, rrset, Rank.GLUE, now)
        targets = [rr.rdata.label for rr in ns]
        addresses = self._cached_addresses(targets)
        if addresses:
            return addresses
        if depth >= self.config.max_ns_depth:
            raise ResolutionFailed(f"cannot find addresses of the servers for {_show(child)}")
        for target in targets:
            found = await self._resolve(target, QTYPE.A, budget, depth + 1)
            addresses += [str(rr.rdata) for rr in found.answer if rr.rtype == QTYPE.A]
            if addresses:
                return addresses
        raise ResolutionFailed(f"no address for any server of {_show(child)}")

    def _known_servers(self, k: Key) -> tuple[Key, list[str]]:
        """The closest enclosing zone whose servers' addresses are in the cache."""
        now = self.reactor.seconds()
        for depth in range(len(k), 0, -1):
            zone = k[len(k) - depth :]
            hit = self.cache.get(zone, QTYPE.NS, now)
            if hit is not None and hit.records:
                addresses = self._cached_addresses([rr.rdata.label for rr in hit.records])
                if addresses:
                    return zone, addresses
        hints = [str(rr.rdata) for rr in self.config.root_hints if rr.rtype == QTYPE.A]
        return (), hints

    def _cached_addresses(self, targets: Sequence[DNSLabel]) -> list[str]:
        now = self.reactor.seconds()
        out: list[str] = []
        for target in targets:
            hit = self.cache.get(names.key(target), QTYPE.A, now)
            if hit is not None:
                out += [str(rr.rdata) for rr in hit.records]
        return out

    # --- asking servers ------------------------------------------------------------------

    async def _ask(
        self, servers: list[str], zone: Key, name: DNSLabel, qtype: int, budget: _Budget, rd: bool
    ) -> tuple[Classified, DNSRecord]:
        """Ask the servers of *zone* in turn until one gives a usable reply."""
        if not servers:
            raise ResolutionFailed(f"no servers known for {_show(zone)}")
        order = list(servers)
        self.rng.shuffle(order)
        question = _Question(name, qtype, rd, budget)
        for _ in range(self.config.tries):
            for server in order:
                reply = await self._query(server, question)
                if reply is None:
                    continue
                result = classify(reply, name, qtype, zone)
                if result.kind in (Kind.FAIL, Kind.LAME):
                    budget.reasons.append(f"{server}: {result.detail}")
                    continue
                return result, reply
        raise ResolutionFailed(f"no server for {_show(zone)} gave an answer")

    async def _query(self, server: str, question: _Question) -> DNSRecord | None:
        """One server, with the TCP and EDNS fallbacks; None if it gave nothing usable."""
        edns = self.config.edns and server not in self.no_edns
        tcp_first = self.config.upstream != "udp"
        try:
            reply = await self._exchange(server, question, edns, tcp=tcp_first)
        except ExchangeError as e:
            question.budget.reasons.append(str(e))
            if tcp_first and self.config.upstream == "tcp-first":
                return await self._retry(server, question, edns, tcp=False)
            if edns and e.failure is Failure.TIMEOUT and self.config.edns_timeout_fallback:
                return await self._retry(server, question, False, tcp=tcp_first)
            return None
        if edns and reply.message.header.rcode in (Rcode.FORMERR, Rcode.NOTIMP):
            return await self._retry(server, question, False, tcp=tcp_first)
        if reply.message.header.tc and reply.transport == "udp":
            if not self.config.tcp_fallback:
                question.budget.reasons.append(f"{server}: truncated and TCP fallback is off")
                return None
            return await self._retry(server, question, edns, tcp=True)
        return reply.message

    async def _retry(
        self, server: str, question: _Question, edns: bool, tcp: bool
    ) -> DNSRecord | None:
        try:
            reply = await self._exchange(server, question, edns, tcp)
        except ExchangeError as e:
            question.budget.reasons.append(str(e))
            return None
        if not edns and self.config.edns:
            self.no_edns.add(server)
        if reply.message.header.tc:
            question.budget.reasons.append(f"{server}: truncated over {reply.transport}")
            return None
        return reply.message

    async def _exchange(self, server: str, question: _Question, edns: bool, tcp: bool) -> Reply:
        question.budget.spend()
        self.queries_sent += 1
        header = DNSHeader(self.rng.getrandbits(16), rd=int(question.rd))
        query = DNSRecord(header, q=DNSQuestion(question.name, question.qtype, CLASS_IN))
        if edns:
            query.add_ar(EDNS0(udp_len=self.config.edns_payload))
        address = (server, self.config.port)
        if tcp:
            return await self.exchanger.tcp(query, address, self.config.timeout)
        return await self.exchanger.udp(query, address, self.config.timeout)


def _dangling_cname(answer: Sequence[RR], name: DNSLabel, qtype: int) -> DNSLabel | None:
    """The CNAME target to chase if *answer* ends in a CNAME without the target's data."""
    last = answer[-1]
    if last.rtype != QTYPE.CNAME or qtype in (QTYPE.CNAME, QTYPE.ANY):
        return None
    return last.rdata.label


def _rrsets(records: Sequence[RR]) -> list[list[RR]]:
    groups: dict[tuple[Key, int], list[RR]] = {}
    for rr in records:
        groups.setdefault((names.key(rr.rname), rr.rtype), []).append(rr)
    return list(groups.values())
