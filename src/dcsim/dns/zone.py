"""Zones loaded from zone files, and the lookup of RFC 1034 §4.3.2 within one zone.

A zone directory holds one file per zone, named after its origin: ``dricas.ne.jp.zone``
(``root.zone`` for the root). Loading checks what RFC 1034/2181 require of a zone (one SOA
and some NS at the apex, nothing but glue below a delegation, CNAME alone at its name, one
TTL per RRset) and reports a problem as ``file:line: what``.

:meth:`Zone.lookup` is pure: it returns the answer, authority and additional records and
the outcome (answer, NODATA, NXDOMAIN, referral); the authoritative answerer turns that
into a message.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dnslib import QTYPE, RR, DNSLabel
from dnslib import RD as RData

from dcsim.dns import names
from dcsim.dns.names import Key
from dcsim.dns.zonefile import Record, ZoneFileError, read_file

ZONE_SUFFIX = ".zone"
ROOT_FILE = "root.zone"
MAX_CNAME_CHAIN = 16  # how many CNAMEs one answer follows inside a zone
WILDCARD = b"*"

_GLUE_TYPES = (QTYPE.A, QTYPE.AAAA)
_ADDITIONAL_FOR = {QTYPE.NS, QTYPE.MX, QTYPE.SRV}


class Outcome(enum.Enum):
    ANSWER = "answer"
    NODATA = "nodata"  # the name exists, not with this type (RFC 2308 §2.2)
    NXDOMAIN = "nxdomain"  # the name does not exist (RFC 2308 §2.1)
    REFERRAL = "referral"  # the name is below a delegation


@dataclass(frozen=True, slots=True)
class RRset:
    name: DNSLabel  # as the zone file wrote it
    rtype: int
    ttl: int
    rdatas: tuple[RData, ...]

    def records(self, owner: DNSLabel | None = None, ttl: int | None = None) -> list[RR]:
        """The RRs, owned by *owner* (the query's spelling, or a wildcard's expansion)."""
        name = self.name if owner is None else owner
        t = self.ttl if ttl is None else ttl
        return [RR(name, self.rtype, 1, t, rd) for rd in self.rdatas]


@dataclass(slots=True)
class Node:
    name: DNSLabel
    rrsets: dict[int, RRset] = field(default_factory=dict)


@dataclass(slots=True)
class Lookup:
    outcome: Outcome
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)

    @property
    def authoritative(self) -> bool:
        """AA: set unless this is a referral with nothing from the zone in the answer."""
        return self.outcome is not Outcome.REFERRAL or bool(self.answer)


class Zone:
    """One zone's data, indexed for lookups."""

    def __init__(self, origin: DNSLabel, records: Iterable[Record], source: str) -> None:
        self.origin = origin
        self.origin_key = names.key(origin)
        self.source = source
        self.nodes: dict[Key, Node] = {}
        self.cuts: set[Key] = set()
        self.existing: set[Key] = set()  # every name with data, and every name above one
        lines: dict[tuple[Key, int], int] = {}
        for record in records:
            self._add(record, lines)
        self._check(lines)

    # --- building ------------------------------------------------------------------------

    def _fail(self, line: int, message: str) -> ZoneFileError:
        return ZoneFileError(self.source, line, message)

    def _add(self, record: Record, lines: dict[tuple[Key, int], int]) -> None:
        rr = record.rr
        k = names.key(rr.rname)
        if not names.under(k, self.origin_key):
            raise ZoneFileError(
                record.path, record.line, f"{rr.rname} is outside the zone {self.origin}"
            )
        node = self.nodes.get(k)
        if node is None:
            node = self.nodes[k] = Node(rr.rname)
        old = node.rrsets.get(rr.rtype)
        if old is None:
            node.rrsets[rr.rtype] = RRset(node.name, rr.rtype, rr.ttl, (rr.rdata,))
            lines[(k, rr.rtype)] = record.line
            return
        if old.ttl != rr.ttl:
            raise ZoneFileError(
                record.path,
                record.line,
                f"TTL {rr.ttl} differs from {old.ttl} of the other {QTYPE.get(rr.rtype)} "
                f"records of {rr.rname} (RFC 2181 §5.2)",
            )
        if rr.rdata not in old.rdatas:  # RFC 2181 §5: an RRset holds no duplicates
            node.rrsets[rr.rtype] = RRset(old.name, old.rtype, old.ttl, (*old.rdatas, rr.rdata))

    def _check(self, lines: dict[tuple[Key, int], int]) -> None:
        apex = self.nodes.get(self.origin_key)
        soa = apex.rrsets.get(QTYPE.SOA) if apex else None
        if soa is None:
            raise self._fail(0, f"no SOA record at the zone's origin {self.origin}")
        if len(soa.rdatas) != 1:
            raise self._fail(lines[(self.origin_key, QTYPE.SOA)], "more than one SOA record")
        if QTYPE.NS not in apex.rrsets:
            raise self._fail(0, f"no NS records at the zone's origin {self.origin}")
        self.soa = soa
        for k, node in self.nodes.items():
            if k != self.origin_key and QTYPE.NS in node.rrsets:
                self.cuts.add(k)
            if QTYPE.SOA in node.rrsets and k != self.origin_key:
                raise self._fail(
                    lines[(k, QTYPE.SOA)], f"SOA record at {node.name}, not at the origin"
                )
            if QTYPE.CNAME in node.rrsets:
                if len(node.rrsets[QTYPE.CNAME].rdatas) > 1:
                    raise self._fail(lines[(k, QTYPE.CNAME)], f"{node.name} has several CNAMEs")
                if len(node.rrsets) > 1:
                    raise self._fail(
                        lines[(k, QTYPE.CNAME)],
                        f"{node.name} has a CNAME and other data (RFC 1034 §3.6.2)",
                    )
            if k[:1] == (WILDCARD,) and QTYPE.NS in node.rrsets:
                raise self._fail(lines[(k, QTYPE.NS)], "NS records at a wildcard (RFC 4592 §4.2)")
        for k, node in self.nodes.items():
            cut = self._cut_above(k)
            if cut is not None and cut != k:
                bad = [t for t in node.rrsets if t not in _GLUE_TYPES]
                if bad:
                    raise self._fail(
                        lines[(k, bad[0])],
                        f"{node.name} {QTYPE.get(bad[0])} is below the delegation at "
                        f"{self.nodes[cut].name}; only A/AAAA glue may be there",
                    )
            if cut == k:
                bad = [t for t in node.rrsets if t not in (QTYPE.NS, QTYPE.DS, *_GLUE_TYPES)]
                if bad:
                    raise self._fail(
                        lines[(k, bad[0])],
                        f"{node.name} is a delegation; {QTYPE.get(bad[0])} cannot be there",
                    )
            for depth in range(len(self.origin_key), len(k) + 1):
                self.existing.add(k[len(k) - depth :])

    def _cut_above(self, k: Key) -> Key | None:
        """The highest delegation point at or above *k* (the apex is not one)."""
        for depth in range(len(self.origin_key) + 1, len(k) + 1):
            prefix = k[len(k) - depth :]
            if prefix in self.cuts:
                return prefix
        return None

    # --- reading -------------------------------------------------------------------------

    @property
    def negative_ttl(self) -> int:
        """RFC 2308 §3: the SOA's TTL, capped by its MINIMUM field."""
        return min(self.soa.ttl, self.soa.rdatas[0].times[4])

    def soa_records(self) -> list[RR]:
        return self.soa.records(ttl=self.negative_ttl)

    def lookup(self, qname: DNSLabel, qtype: int) -> Lookup:
        """Answer *qname*/*qtype* from this zone, following CNAMEs inside it."""
        answer: list[RR] = []
        name = qname
        seen: set[Key] = set()
        for _ in range(MAX_CNAME_CHAIN + 1):
            result, target = self._lookup_name(name, qtype)
            answer += result.answer
            if target is None:
                result.answer = answer
                return result
            k = names.key(target)
            if k in seen or not names.under(k, self.origin_key) or len(seen) >= MAX_CNAME_CHAIN:
                break  # a loop or a name elsewhere: the resolver follows it
            seen.add(names.key(name))
            name = target
        return Lookup(Outcome.ANSWER, answer)

    def _lookup_name(self, name: DNSLabel, qtype: int) -> tuple[Lookup, DNSLabel | None]:
        k = names.key(name)
        cut = self._cut_above(k)
        if cut is not None and not (cut == k and qtype == QTYPE.DS):
            return self._referral(cut), None
        node = self.nodes.get(k)
        if node is not None:
            return self._from_node(node, name, qtype)
        if k in self.existing:  # an empty non-terminal
            return Lookup(Outcome.NODATA, authority=self.soa_records()), None
        for depth in range(len(k) - 1, len(self.origin_key) - 1, -1):
            encloser = k[len(k) - depth :]
            if encloser in self.existing:  # the closest encloser (RFC 4592 §3.3.1)
                wild = self.nodes.get((WILDCARD, *encloser))
                if wild is not None:
                    return self._from_node(wild, name, qtype)
                break
        return Lookup(Outcome.NXDOMAIN, authority=self.soa_records()), None

    def _from_node(self, node: Node, owner: DNSLabel, qtype: int) -> tuple[Lookup, DNSLabel | None]:
        rrsets = node.rrsets
        if qtype == QTYPE.ANY:
            answer = [rr for rrset in rrsets.values() for rr in rrset.records(owner)]
            return Lookup(Outcome.ANSWER, answer), None
        cname = rrsets.get(QTYPE.CNAME)
        if cname is not None and qtype != QTYPE.CNAME:
            return Lookup(Outcome.ANSWER, cname.records(owner)), cname.rdatas[0].label
        rrset = rrsets.get(qtype)
        if rrset is None:
            return Lookup(Outcome.NODATA, authority=self.soa_records()), None
        result = Lookup(Outcome.ANSWER, rrset.records(owner))
        if qtype in _ADDITIONAL_FOR:
            result.additional = self._addresses(_targets(rrset))
        return result, None

    def _referral(self, cut: Key) -> Lookup:
        ns = self.nodes[cut].rrsets[QTYPE.NS]
        return Lookup(
            Outcome.REFERRAL, authority=ns.records(), additional=self._addresses(_targets(ns))
        )

    def _addresses(self, targets: Iterable[DNSLabel]) -> list[RR]:
        """A/AAAA records this zone holds for *targets* (glue included)."""
        out: list[RR] = []
        for target in targets:
            node = self.nodes.get(names.key(target))
            if node is None:
                continue
            for rtype in _GLUE_TYPES:
                if rtype in node.rrsets:
                    out += node.rrsets[rtype].records()
        return out

    def transfer(self) -> Iterator[RR]:
        """The zone as AXFR sends it (RFC 5936 §2.2): SOA, every other record, SOA."""
        yield from self.soa.records()
        for node in self.nodes.values():
            for rtype, rrset in node.rrsets.items():
                if not (rtype == QTYPE.SOA and node is self.nodes[self.origin_key]):
                    yield from rrset.records()
        yield from self.soa.records()


def _targets(rrset: RRset) -> Iterator[DNSLabel]:
    for rd in rrset.rdatas:
        target = getattr(rd, "label", None) or getattr(rd, "target", None)
        if isinstance(target, DNSLabel):
            yield target


def origin_from_filename(path: Path) -> DNSLabel:
    """``dricas.ne.jp.zone`` → ``dricas.ne.jp.``; ``root.zone`` → the root."""
    if path.name == ROOT_FILE:
        return names.ROOT
    stem = path.name.removesuffix(ZONE_SUFFIX)
    try:
        return names.from_text(stem.rstrip(".") + ".")
    except ValueError as e:
        raise ZoneFileError(str(path), 0, f"the file name is not a zone name: {e}") from None


def load_zone(path: Path, origin: DNSLabel | None = None) -> Zone:
    """Read one zone file (origin from the file name unless given)."""
    origin = origin_from_filename(path) if origin is None else origin
    return Zone(origin, read_file(path, origin), str(path))


class Zones:
    """The zones one server is authoritative for; finds the closest enclosing zone."""

    def __init__(self, zones: Iterable[Zone] = ()) -> None:
        self.by_origin: dict[Key, Zone] = {}
        for zone in zones:
            if zone.origin_key in self.by_origin:
                other = self.by_origin[zone.origin_key].source
                raise ZoneFileError(zone.source, 0, f"zone {zone.origin} is also in {other}")
            self.by_origin[zone.origin_key] = zone

    def __len__(self) -> int:
        return len(self.by_origin)

    def __iter__(self) -> Iterator[Zone]:
        return iter(self.by_origin.values())

    def find(self, k: Key) -> Zone | None:
        """The zone with the longest origin at or above the name *k*."""
        for depth in range(len(k), -1, -1):
            zone = self.by_origin.get(k[len(k) - depth :])
            if zone is not None:
                return zone
        return None

    @classmethod
    def load(cls, directory: Path) -> Zones:
        """Every ``*.zone`` file in *directory* (not its subdirectories)."""
        if not directory.is_dir():
            raise ZoneFileError(str(directory), 0, "not a directory of zone files")
        files = sorted(
            p for p in directory.iterdir() if p.name.endswith(ZONE_SUFFIX) and p.is_file()
        )
        if not files:
            raise ZoneFileError(str(directory), 0, "no *.zone files in this directory")
        return cls(load_zone(p) for p in files)


def load_hints(path: Path) -> tuple[RR, ...]:
    """Root hints in named.root's format: NS records for the root and their addresses."""
    records = [r.rr for r in read_file(path, names.ROOT)]
    ns = [rr for rr in records if rr.rtype == QTYPE.NS and not rr.rname.label]
    if not ns:
        raise ZoneFileError(str(path), 0, "no NS records for the root (.)")
    targets = {names.key(rr.rdata.label) for rr in ns}
    glue = [rr for rr in records if rr.rtype in _GLUE_TYPES and names.key(rr.rname) in targets]
    if not glue:
        raise ZoneFileError(str(path), 0, "no addresses for the root's name servers")
    return (*ns, *glue)
