"""DNS messages on the wire: dnslib's codec with the limits a server needs.

dnslib parses and packs; this module adds what it leaves out: a header check before
anything else, RFC 1035's label and name limits, no trailing octets, a bound on pointer
chains, and one :class:`Malformed` error for every kind of bad input. Encoding fits a
message into a size limit the way RFC 2181 §9 says (drop the additional section first;
set TC only when an answer or authority RRset does not fit).
"""

from __future__ import annotations

import enum
import struct

from dnslib import QTYPE, RR, DNSBuffer, DNSError, DNSHeader, DNSLabel, DNSQuestion, DNSRecord
from dnslib.bimap import BimapError
from dnslib.buffer import BufferError
from dnslib.label import DNSLabelError

from dcsim.dns import names

HEADER_SIZE = 12
UDP_LIMIT = 512  # RFC 1035 §4.2.1, without EDNS
EDNS_MIN_PAYLOAD = 512  # RFC 6891 §6.2.3: smaller advertised sizes count as 512
# dnslib writes compression pointers to any earlier name, but a pointer has 14 bits
# (RFC 1035 §4.1.4): names past offset 16383 would be pointed at wrongly. Keeping every
# message we build under this size keeps its pointers right.
MAX_MESSAGE = 16383
MAX_TCP_MESSAGE = 65535  # RFC 1035 §4.2.2, the 2-octet length prefix

QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
CD = 0x0010


class Opcode(enum.IntEnum):
    QUERY = 0  # RFC 1035
    IQUERY = 1  # RFC 3425: obsolete
    STATUS = 2
    NOTIFY = 4  # RFC 1996
    UPDATE = 5  # RFC 2136


class Rcode(enum.IntEnum):
    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5
    NOTAUTH = 9  # RFC 2845 / RFC 5936 §2.2.1
    BADVERS = 16  # RFC 6891 §6.1.3: an extended RCODE, its high bits go in the OPT


class Malformed(Exception):
    """Bad input, with the query's ID, opcode and RD when the header could be read, so a
    FORMERR can still be sent (RFC 1035 §4.1.1)."""

    def __init__(self, detail: str, header: DNSHeader | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.header = header


# Everything dnslib's decoders raise on bad bytes (RecursionError: a long chain of
# backward compression pointers, each followed by a recursive call).
_DECODE_ERRORS = (
    DNSError,
    BufferError,
    BimapError,
    DNSLabelError,
    struct.error,
    ValueError,
    IndexError,
    UnicodeDecodeError,
    RecursionError,
)


def read_header(data: bytes) -> DNSHeader:
    """The 12-octet header; raises Malformed if *data* is shorter."""
    if len(data) < HEADER_SIZE:
        raise Malformed(f"{len(data)} octets, shorter than a DNS header")
    return DNSHeader(*struct.unpack_from("!HHHHHH", data))


class _BoundedBuffer(DNSBuffer):
    """dnslib's buffer with a budget of name decodings: each compression pointer costs
    one. A name may only point backwards, but names pointing at names pointing at names
    make the work grow with the square of the message length; a legitimate message
    needs fewer hops than it has octets."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.budget = len(data) + 64

    def decode_name(self, last: int = -1) -> DNSLabel:
        self.budget -= 1
        if self.budget < 0:
            raise BufferError("too many compression pointers")
        return super().decode_name(last)


def decode(data: bytes) -> DNSRecord:
    """Parse a whole message; raises :class:`Malformed` for anything wrong with it."""
    header = read_header(data)
    buffer = _BoundedBuffer(data)
    buffer.offset = HEADER_SIZE
    try:
        questions = [DNSQuestion.parse(buffer) for _ in range(header.q)]
        answers = [RR.parse(buffer) for _ in range(header.a)]
        authority = [RR.parse(buffer) for _ in range(header.auth)]
        additional = [RR.parse(buffer) for _ in range(header.ar)]
    except _DECODE_ERRORS as e:
        raise Malformed(_short(e), header) from None
    if buffer.offset != len(data):
        raise Malformed(f"{len(data) - buffer.offset} octets after the last record", header)
    try:
        for q in questions:
            names.check(q.qname)
        for rr in answers + authority + additional:
            names.check(rr.rname)
    except ValueError as e:
        raise Malformed(str(e), header) from None
    return DNSRecord(header, questions, answers, auth=authority, ar=additional)


def _short(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "compression pointers chained too deep"
    text = str(e) or type(e).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def opt_records(record: DNSRecord) -> list[RR]:
    return [rr for rr in record.ar if rr.rtype == QTYPE.OPT]


def udp_limit(query: DNSRecord, our_payload: int) -> int:
    """How large a UDP reply to *query* may be: 512, or the smaller of the requester's
    EDNS payload size and ours (RFC 6891 §6.2.5)."""
    opts = opt_records(query)
    if not opts:
        return UDP_LIMIT
    return max(EDNS_MIN_PAYLOAD, min(opts[0].edns_len, our_payload))


def encode(record: DNSRecord, limit: int) -> bytes:
    """Pack *record* into at most *limit* octets (RFC 2181 §9).

    If it does not fit, the additional section goes first (keeping an OPT record); if it
    still does not fit, answer and authority go too and TC is set.
    """
    limit = min(limit, MAX_MESSAGE)
    data = bytes(record.pack())
    if len(data) <= limit:
        return data
    opts = opt_records(record)
    trimmed = DNSRecord(
        _copy_header(record.header), record.questions, record.rr, auth=record.auth, ar=opts
    )
    data = bytes(trimmed.pack())
    if len(data) <= limit:
        return data
    truncated = DNSRecord(_copy_header(record.header), record.questions, [], auth=[], ar=opts)
    truncated.header.tc = 1
    return bytes(truncated.pack())


def _copy_header(header: DNSHeader) -> DNSHeader:
    return DNSHeader(header.id, header.bitmap)
