"""The authoritative answerer: a query's bytes in, a decision out. Pure; no I/O.

:meth:`Authority.decide` checks the message (RFC 1035, 2181, 6891), applies the policy
(the knobs of failure2006.md §6.1: names outside the zones REFUSED, dropped or answered
with an upward referral; EDNS answered, FORMERR'd or dropped; zone transfers only to an
allowlist) and answers from the zones or from the revival override. The result says
whether to send a message, several (AXFR), nothing, or to hand the query to a resolver.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dnslib import EDNS0, QTYPE, RR, A, DNSHeader, DNSLabel, DNSRecord

from dcsim.dns import message, names
from dcsim.dns.message import AA, CD, QR, RA, RD, Malformed, Opcode, Rcode
from dcsim.dns.names import Key
from dcsim.dns.zone import Lookup, Outcome, Zones

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_OPT = QTYPE.OPT
_MAILB, _MAILA = 253, 254  # RFC 1035 §3.2.3, obsolete mail QTYPEs
_TSIG, _TKEY = 250, 249
CLASS_IN = 1
DEFAULT_EDNS_PAYLOAD = 1232  # the DNS flag day 2020 figure: fits every path unfragmented


class Transport(enum.Enum):
    UDP = "udp"
    TCP = "tcp"


class ForeignNames(enum.Enum):
    """What to do with a query for a name in none of the zones."""

    REFUSED = "refused"  # RCODE 5, what BIND 9.4+ does without recursion
    DROP = "drop"  # no answer: the client times out (Sylverant's pso_dns)
    UPWARD_REFERRAL = "upward_referral"  # NOERROR, root NS in authority (BIND <= 9.3)


class EdnsPolicy(enum.Enum):
    """What to do with a query carrying an OPT record (RFC 6891)."""

    ANSWER = "answer"
    FORMERR = "formerr"  # a server that does not know EDNS (RFC 6891 §7)
    DROP = "drop"  # a server or middlebox that discards it: the requester times out


@dataclass(frozen=True, slots=True)
class Revival:
    """Answer every A query for these suffixes (empty: for every name) with one address,
    as newserv's DNS server does."""

    address: ipaddress.IPv4Address
    suffixes: tuple[Key, ...] = ()
    ttl: int = 60

    def matches(self, k: Key) -> bool:
        return not self.suffixes or any(names.under(k, s) for s in self.suffixes)


@dataclass(frozen=True, slots=True)
class Policy:
    foreign_names: ForeignNames = ForeignNames.REFUSED
    edns: EdnsPolicy = EdnsPolicy.ANSWER
    edns_payload: int = DEFAULT_EDNS_PAYLOAD
    axfr_clients: tuple[IPNetwork, ...] = ()
    revival: Revival | None = None
    root_hints: tuple[RR, ...] = ()  # NS for the root and their addresses


# --- decisions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Respond:
    """Send *message*. *cacheable*: every client asking these exact bytes gets the same
    answer, so the server may keep the packed reply (see :mod:`dcsim.dns.server`)."""

    message: DNSRecord
    query: DNSRecord | None
    cacheable: bool = True
    note: str = ""  # why, when it is not a plain answer (for the log)


@dataclass(frozen=True, slots=True)
class Drop:
    reason: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """A zone transfer: several messages on one TCP connection (RFC 5936)."""

    messages: tuple[DNSRecord, ...]
    zone: DNSLabel


@dataclass(frozen=True, slots=True)
class Recurse:
    """A name outside the zones from a client allowed recursion: ask the resolver."""

    query: DNSRecord


Decision = Respond | Drop | Transfer | Recurse


# --- building replies ------------------------------------------------------------------


def reply_to(query: DNSRecord, rcode: int, *, aa: bool = False, ra: bool = False) -> DNSRecord:
    """An empty reply echoing the question, ID, opcode, RD and CD."""
    h = query.header
    bitmap = QR | (h.opcode << 11) | (h.bitmap & (RD | CD)) | (rcode & 0xF)
    if aa:
        bitmap |= AA
    if ra:
        bitmap |= RA
    return DNSRecord(DNSHeader(h.id, bitmap), list(query.questions))


def error_reply(header: DNSHeader, rcode: int) -> DNSRecord:
    """A reply carrying only the header, for a query whose body could not be read."""
    bitmap = QR | (header.opcode << 11) | (header.bitmap & RD) | rcode
    return DNSRecord(DNSHeader(header.id, bitmap))


def add_opt(reply: DNSRecord, query: DNSRecord, payload: int, rcode: int = 0) -> None:
    """Our OPT record (RFC 6891 §6.1.1), echoing the DO bit (RFC 3225 §3)."""
    do = "do" if message.opt_records(query)[0].edns_do else ""
    reply.add_ar(EDNS0(udp_len=payload, flags=do, ext_rcode=rcode >> 4))


def _lookup_reply(query: DNSRecord, result: Lookup, ra: bool) -> DNSRecord:
    rcode = Rcode.NXDOMAIN if result.outcome is Outcome.NXDOMAIN else Rcode.NOERROR
    reply = reply_to(query, rcode, aa=result.authoritative, ra=ra)
    reply.rr = list(result.answer)
    reply.auth = list(result.authority)
    reply.ar = list(result.additional)
    return reply


# --- the answerer ----------------------------------------------------------------------


@dataclass
class Authority:
    """Answers queries from *zones* under *policy*."""

    zones: Zones
    policy: Policy = field(default_factory=Policy)

    def decide(
        self, data: bytes, client: str, transport: Transport, recursion: bool = False
    ) -> Decision:
        """What to do with the datagram or TCP message *data* from *client* (an IP
        address). *recursion*: this server may recurse for this client (RA=1)."""
        try:
            header = message.read_header(data)
        except Malformed as e:
            return Drop(e.detail)  # too short to answer: RFC 1035 gives nothing to echo
        if header.qr:
            return Drop("a response, not a query")  # never answer answers (loops)
        if header.opcode != Opcode.QUERY:
            note = f"opcode {header.opcode} not implemented"
            return Respond(error_reply(header, Rcode.NOTIMP), None, True, note)
        # Checked before parsing: a query has one question (RFC 9619), no answers, at most
        # an IXFR's SOA in authority and an OPT in additional; more is not worth parsing.
        if header.q != 1 or header.a or header.auth > 1 or header.ar > 1:
            counts = f"{header.q}/{header.a}/{header.auth}/{header.ar}"
            return Respond(
                error_reply(header, Rcode.FORMERR), None, True, f"section counts {counts}"
            )
        try:
            query = message.decode(data)
        except Malformed as e:
            return Respond(error_reply(header, Rcode.FORMERR), None, True, f"FORMERR: {e}")
        return self._decide(query, client, transport, recursion)

    def _decide(
        self, query: DNSRecord, client: str, transport: Transport, recursion: bool
    ) -> Decision:
        h = query.header
        opts = message.opt_records(query)
        if opts:
            if self.policy.edns is EdnsPolicy.DROP:
                return Drop("EDNS query (policy: drop)")
            if self.policy.edns is EdnsPolicy.FORMERR:
                return self._formerr(query, "EDNS query (policy: FORMERR)")
            if opts[0].rname.label:
                return self._formerr(query, "bad OPT record (RFC 6891 §6.1.1)")
            if opts[0].edns_ver != 0:
                reply = reply_to(query, Rcode.BADVERS)
                add_opt(reply, query, self.policy.edns_payload, Rcode.BADVERS)
                return Respond(reply, query, True, f"EDNS version {opts[0].edns_ver}")
        if h.auth and query.q.qtype != QTYPE.IXFR:
            return self._formerr(query, "a record in the authority section")
        if len(query.ar) > len(opts):
            return self._formerr(query, "an additional record other than OPT")
        decision = self._answer(query, client, transport, recursion)
        if isinstance(decision, Respond) and opts:
            add_opt(decision.message, query, self.policy.edns_payload)
        return decision

    def _formerr(self, query: DNSRecord, note: str) -> Respond:
        return Respond(reply_to(query, Rcode.FORMERR), query, True, note)

    def _answer(
        self, query: DNSRecord, client: str, transport: Transport, recursion: bool
    ) -> Decision:
        q = query.q
        if q.qclass != CLASS_IN:
            return Respond(reply_to(query, Rcode.REFUSED), query, True, f"class {q.qclass}")
        if q.qtype in (_OPT, _TSIG, _TKEY):
            return self._formerr(query, f"QTYPE {q.qtype} in a question")
        if q.qtype in (_MAILA, _MAILB):
            return Respond(reply_to(query, Rcode.NOTIMP), query, True, "MAILA/MAILB")
        if q.qtype in (QTYPE.AXFR, QTYPE.IXFR):
            return self._transfer(query, client, transport)
        k = names.key(q.qname)
        revival = self.policy.revival
        if revival is not None and revival.matches(k) and q.qtype in (QTYPE.A, QTYPE.ANY):
            reply = reply_to(query, Rcode.NOERROR, aa=True, ra=recursion)
            reply.add_answer(RR(q.qname, QTYPE.A, CLASS_IN, revival.ttl, A(str(revival.address))))
            return Respond(reply, query, not recursion)
        zone = self.zones.find(k)
        if zone is not None:
            return Respond(
                _lookup_reply(query, zone.lookup(q.qname, q.qtype), recursion), query, not recursion
            )
        if revival is not None and revival.matches(k):
            return Respond(
                reply_to(query, Rcode.NOERROR, aa=True, ra=recursion), query, not recursion
            )
        if recursion and query.header.rd:
            return Recurse(query)
        return self._foreign(query)

    def _foreign(self, query: DNSRecord) -> Decision:
        policy = self.policy.foreign_names
        if policy is ForeignNames.DROP:
            return Drop(f"{query.q.qname} is in none of the zones (policy: drop)")
        if policy is ForeignNames.UPWARD_REFERRAL and self.policy.root_hints:
            reply = reply_to(query, Rcode.NOERROR)
            for rr in self.policy.root_hints:
                (reply.add_auth if rr.rtype == QTYPE.NS else reply.add_ar)(rr)
            return Respond(reply, query, True, "foreign name: upward referral")
        return Respond(reply_to(query, Rcode.REFUSED), query, True, "foreign name: refused")

    def _transfer(self, query: DNSRecord, client: str, transport: Transport) -> Decision:
        if not self._may_transfer(client):
            return Respond(
                reply_to(query, Rcode.REFUSED), query, False, f"AXFR refused to {client}"
            )
        if transport is Transport.UDP:
            return Respond(
                reply_to(query, Rcode.FORMERR), query, False, "AXFR over UDP (RFC 5936 §4.2)"
            )
        k = names.key(query.q.qname)
        zone = self.zones.by_origin.get(k)
        if zone is None:
            return Respond(reply_to(query, Rcode.NOTAUTH), query, False, "AXFR of no zone here")
        return Transfer(tuple(_transfer_messages(query, zone.transfer())), zone.origin)

    def _may_transfer(self, client: str) -> bool:
        if not self.policy.axfr_clients:
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in net for net in self.policy.axfr_clients)


def _transfer_messages(query: DNSRecord, records: Iterable[RR]) -> Iterator[DNSRecord]:
    """Pack the records into as few messages as fit under the message size limit; the
    first message carries the question (RFC 5936 §2.2.1)."""
    reply = reply_to(query, Rcode.NOERROR, aa=True)
    size = len(reply.pack())
    for rr in records:
        rr_size = len(DNSRecord(rr=[rr]).pack()) - message.HEADER_SIZE
        if reply.rr and size + rr_size > message.MAX_MESSAGE:
            yield reply
            reply = reply_to(query, Rcode.NOERROR, aa=True)
            reply.questions = []
            size = message.HEADER_SIZE
        reply.add_answer(rr)
        size += rr_size
    yield reply
