"""The recursive resolver's cache: RRsets and negative answers by TTL. Pure: time is
passed in.

Positive entries hold an RRset under (name, type). Negative entries follow RFC 2308:
NXDOMAIN is kept for the name (any type), NODATA for the name and type, each for the
SOA's negative TTL (capped). Data is ranked the way RFC 2181 §5.4.1 asks: an answer from
an authoritative server is not replaced by glue or by data from a referral while it lives.
The table is bounded: when full, the oldest entry goes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dnslib import RR

from dcsim.dns.names import Key

MAX_TTL = 86400  # a day: longer TTLs are cut (resolvers commonly cap at a day or a week)
MAX_NEGATIVE_TTL = 3 * 3600  # RFC 2308 §5: one to three hours
DEFAULT_ENTRIES = 10_000
ANY_TYPE = -1  # the type slot of an NXDOMAIN entry: it holds for every type


class Rank(enum.IntEnum):
    """How much an RRset is trusted (RFC 2181 §5.4.1, simplified)."""

    GLUE = 1  # additional section, or a referral's authority
    AUTHORITY = 2  # the authority section of an authoritative answer
    ANSWER = 3  # the answer section of an authoritative answer (or a forwarder's)


class Negative(enum.Enum):
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"


@dataclass(frozen=True, slots=True)
class Entry:
    expires: float
    rank: Rank
    records: tuple[RR, ...] = ()
    negative: Negative | None = None
    soa: RR | None = None  # for negative entries


@dataclass(frozen=True, slots=True)
class Hit:
    """What the cache knows, with TTLs lowered to what is left."""

    records: tuple[RR, ...] = ()
    negative: Negative | None = None
    soa: RR | None = None


class Cache:
    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        self.max_entries = entries
        self._table: dict[tuple[Key, int], Entry] = {}

    def __len__(self) -> int:
        return len(self._table)

    def put(self, name: Key, rtype: int, records: list[RR], rank: Rank, now: float) -> None:
        """Store an RRset; its TTL is the smallest of its records' (RFC 2181 §5.2)."""
        if not records:
            return
        ttl = min(min(rr.ttl for rr in records), MAX_TTL)
        if ttl == 0:
            return  # RFC 1035 §3.2.1: TTL 0 means use once, do not cache
        old = self._live(name, rtype, now)
        if old is not None and old.negative is None and old.rank > rank:
            return
        self._table.pop((name, ANY_TYPE), None)  # the name exists after all
        self._store((name, rtype), Entry(now + ttl, rank, tuple(records)))

    def put_negative(
        self, name: Key, rtype: int, kind: Negative, soa: RR | None, now: float
    ) -> None:
        """Store NXDOMAIN (for every type) or NODATA (for *rtype*) for the SOA's negative
        TTL; without an SOA the answer is not cached (RFC 2308 §5)."""
        if soa is None:
            return
        ttl = min(soa.ttl, soa.rdata.times[4], MAX_NEGATIVE_TTL)
        if ttl <= 0:
            return
        slot = ANY_TYPE if kind is Negative.NXDOMAIN else rtype
        self._store((name, slot), Entry(now + ttl, Rank.ANSWER, (), kind, soa))

    def get(self, name: Key, rtype: int, now: float) -> Hit | None:
        """An NXDOMAIN for the name, or what is known for (name, type); None if nothing."""
        for slot in (ANY_TYPE, rtype):
            entry = self._live(name, slot, now)
            if entry is not None:
                left = int(entry.expires - now)
                if entry.negative is not None:
                    return Hit(negative=entry.negative, soa=_with_ttl(entry.soa, left))
                return Hit(tuple(_with_ttl(rr, left) for rr in entry.records))
        return None

    def _live(self, name: Key, rtype: int, now: float) -> Entry | None:
        entry = self._table.get((name, rtype))
        if entry is None:
            return None
        if entry.expires <= now:
            del self._table[(name, rtype)]
            return None
        return entry

    def _store(self, key: tuple[Key, int], entry: Entry) -> None:
        self._table.pop(key, None)
        if len(self._table) >= self.max_entries:
            del self._table[next(iter(self._table))]
        self._table[key] = entry


def _with_ttl(rr: RR | None, ttl: int) -> RR | None:
    if rr is None:
        return None
    return RR(rr.rname, rr.rtype, rr.rclass, max(0, min(rr.ttl, ttl)), rr.rdata)
