"""IPv4 reassembly (RFC 791 3.2, RFC 815), sans-IO: fragments and ``now`` in, datagrams out.

Memory is bounded: at most ``max_bytes`` of fragment data are held across all datagrams
(the oldest incomplete datagram is dropped to make room, as Linux's ipfrag_high_thresh
does) and a datagram that has not completed after ``timeout`` seconds is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address

from dcsim.net.wire.ipv4 import MAX_LEN, Ipv4Repr

DEFAULT_TIMEOUT = 30.0  # Linux net.ipv4.ipfrag_time; RFC 791 suggests 15 s at least
DEFAULT_MAX_BYTES = 4 * 1024 * 1024

Key = tuple[IPv4Address, IPv4Address, int, int]


@dataclass
class _Partial:
    started: float
    first: Ipv4Repr | None = None  # the header of the offset-0 fragment
    first_bytes: bytes = b""  # its datagram, quoted in ICMP time exceeded
    total: int | None = None  # payload length, known once the last fragment arrived
    pieces: dict[int, bytes] = field(default_factory=dict)
    held: int = 0


@dataclass(frozen=True, slots=True)
class Expired:
    """A datagram dropped incomplete; ``first_fragment`` is set if its head had arrived."""

    key: Key
    first_fragment: bytes


class Reassembler:
    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.held = 0
        self._partials: OrderedDict[Key, _Partial] = OrderedDict()
        self.dropped = 0

    def add(
        self, header: Ipv4Repr, payload: bytes, now: float, datagram: bytes = b""
    ) -> tuple[Ipv4Repr, bytes] | None:
        """Store one fragment; return the whole datagram's header and payload when complete."""
        key = (header.src, header.dst, header.proto, header.ident)
        partial = self._partials.get(key)
        if partial is None:
            partial = self._partials[key] = _Partial(now)
        start = header.frag_offset
        end = start + len(payload)
        if end > MAX_LEN or (header.mf and len(payload) % 8):
            self._discard(key)
            return None
        if not header.mf:
            if partial.total is not None and partial.total != end:
                self._discard(key)
                return None
            partial.total = end
        if start == 0:
            partial.first = header
            partial.first_bytes = datagram
        old = partial.pieces.get(start)
        if old is not None:
            partial.held -= len(old)
            self.held -= len(old)
        partial.pieces[start] = payload
        partial.held += len(payload)
        self.held += len(payload)
        while self.held > self.max_bytes and self._partials:
            oldest = next(iter(self._partials))
            self._discard(oldest)
            if oldest == key:
                return None
        return self._complete(key, partial)

    def _complete(self, key: Key, partial: _Partial) -> tuple[Ipv4Repr, bytes] | None:
        if partial.total is None or partial.first is None:
            return None
        reached = 0
        for start in sorted(partial.pieces):
            if start > reached:
                return None
            reached = max(reached, start + len(partial.pieces[start]))
        if reached < partial.total:
            return None
        data = bytearray(partial.total)
        for start in sorted(partial.pieces):
            piece = partial.pieces[start]
            data[start : start + len(piece)] = piece
        self._discard(key, counted=False)
        return replace(partial.first, mf=False, frag_offset=0), bytes(data)

    def _discard(self, key: Key, *, counted: bool = True) -> None:
        partial = self._partials.pop(key)
        self.held -= partial.held
        if counted:
            self.dropped += 1

    def expire(self, now: float) -> list[Expired]:
        """Drop every datagram older than the timeout."""
        expired = []
        while self._partials:
            key, partial = next(iter(self._partials.items()))
            if now - partial.started < self.timeout:
                break
            self._discard(key)
            expired.append(Expired(key, partial.first_bytes))
        return expired

    def deadline(self) -> float | None:
        """When :meth:`expire` next has something to do."""
        for partial in self._partials.values():
            return partial.started + self.timeout
        return None

    def __len__(self) -> int:
        return len(self._partials)
