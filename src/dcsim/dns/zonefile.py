"""The RFC 1035 §5 master file format ("zone files"), read into dnslib records.

Supported: comments, parentheses across lines, quoted strings, ``\\X``/``\\DDD`` escapes, a
blank owner meaning the previous owner, ``@``, ``$ORIGIN``, ``$TTL`` (RFC 2308),
``$INCLUDE`` (relative to the including file), TTL and class in either order, TTL units
(``1h30m``, as BIND and NSD accept) and the RFC 3597 generic form ``TYPE99 \\# 4 0a000001``.
Only class IN is served.

Every problem raises :class:`ZoneFileError` naming the file and the line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dnslib import AAAA, CNAME, MX, NS, PTR, QTYPE, RDMAP, RR, SOA, SRV, TXT, A, DNSBuffer
from dnslib import RD as OpaqueRD

from dcsim.dns import names

MAX_TTL = 2**31 - 1  # RFC 2181 §8
MAX_INCLUDE_DEPTH = 8
MAX_FILE_SIZE = 64 * 1024 * 1024

_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CLASSES = ("IN", "CH", "HS", "CS", "ANY", "NONE")
_TTL_RE = re.compile(r"(\d+)([smhdw])", re.IGNORECASE)


class ZoneFileError(Exception):
    """A problem in a zone file, printed as ``path:line: what is wrong``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # as written, escapes kept (names decode them themselves)
    quoted: bool


@dataclass(frozen=True, slots=True)
class Entry:
    """One logical line: its tokens, where it started and whether its owner was blank."""

    line: int
    blank_owner: bool
    tokens: tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """A record read from a file, with where it came from (for later error messages)."""

    rr: RR
    path: str
    line: int


def parse_ttl(text: str) -> int:
    """``3600`` or BIND's ``1h`` / ``1w2d`` forms; raises ValueError."""
    if text.isdigit():
        value = int(text)
    else:
        parts = _TTL_RE.findall(text)
        if not parts or "".join(n + u for n, u in parts).lower() != text.lower():
            raise ValueError(f"expected a TTL (seconds, or units like 1h30m), got {text!r}")
        value = sum(int(n) * _TTL_UNITS[u.lower()] for n, u in parts)
    if value > MAX_TTL:
        raise ValueError(f"TTL {value} is over {MAX_TTL} (RFC 2181 §8)")
    return value


def entries(text: str) -> Iterator[Entry]:
    """Split master-file text into logical lines (raises ValueError with a line number)."""
    line = 1
    depth = 0
    paren_line = 0
    tokens: list[Token] = []
    start = 1
    blank_owner = False
    at_line_start = True
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if at_line_start and depth == 0 and not tokens:
            start = line
            blank_owner = c in " \t"
        at_line_start = False
        if c == "\n":
            if depth == 0 and tokens:
                yield Entry(start, blank_owner, tuple(tokens))
                tokens = []
            line += 1
            at_line_start = True
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif c == "(":
            if depth == 0:
                paren_line = line
            depth += 1
            i += 1
        elif c == ")":
            if depth == 0:
                raise _LineError(line, "')' without a matching '('")
            depth -= 1
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\n":
                    raise _LineError(line, "quoted string not closed on its line")
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise _LineError(line, "quoted string not closed")
            tokens.append(Token(text[i + 1 : j], True))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n;()"':
                j += 2 if text[j] == "\\" else 1
            tokens.append(Token(text[i:j], False))
            i = j
    if depth:
        raise _LineError(paren_line, "'(' never closed")
    if tokens:
        yield Entry(start, blank_owner, tuple(tokens))


class _LineError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def decode_string(text: str) -> bytes:
    """A <character-string>'s bytes with ``\\X`` and ``\\DDD`` decoded (RFC 1035 §5.1)."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            digits = text[i + 1 : i + 4]
            if len(digits) == 3 and digits.isdigit():
                if int(digits) > 255:
                    raise ValueError(f"escape \\{digits} is over 255")
                out.append(int(digits))
                i += 4
                continue
            if i + 1 >= len(text):
                raise ValueError("string ends with a lone backslash")
            out += text[i + 1].encode("utf-8")
            i += 2
        else:
            out += c.encode("utf-8")
            i += 1
    return bytes(out)


def type_code(text: str) -> int:
    """A type mnemonic (``A``, ``MX``) or RFC 3597's ``TYPEnnn``; raises ValueError."""
    upper = text.upper()
    if upper.startswith("TYPE") and upper[4:].isdigit():
        code = int(upper[4:])
        if code > 65535:
            raise ValueError(f"type number {code} is over 65535")
        return code
    code = QTYPE.reverse.get(upper)
    if not isinstance(code, int):
        raise ValueError(f"unknown record type {text!r}")
    return code


def _ints(words: list[str], count: int, what: str, limit: int) -> list[int]:
    if len(words) < count:
        raise ValueError(f"expected {what}")
    out = []
    for w in words[:count]:
        if not w.isdigit() or int(w) > limit:
            raise ValueError(f"expected a number in [0, {limit}], got {w!r}")
        out.append(int(w))
    return out


def _exactly(words: list[str], count: int, what: str) -> None:
    if len(words) != count:
        raise ValueError(f"expected {what}, got {len(words)} fields")


def rdata_from_text(rtype: int, tokens: tuple[Token, ...], origin: names.DNSLabel) -> OpaqueRD:
    """Build the RDATA of type *rtype* from its zone-file tokens; raises ValueError."""
    words = [t.text for t in tokens]
    if words and words[0] == "\\#" and not tokens[0].quoted:
        return _generic(rtype, words[1:])
    if rtype == QTYPE.A:
        _exactly(words, 1, "one IPv4 address")
        try:
            return A(str(ipaddress.IPv4Address(words[0])))
        except ValueError:
            raise ValueError(f"expected an IPv4 address, got {words[0]!r}") from None
    if rtype == QTYPE.AAAA:
        _exactly(words, 1, "one IPv6 address")
        try:
            return AAAA(tuple(ipaddress.IPv6Address(words[0]).packed))
        except ValueError:
            raise ValueError(f"expected an IPv6 address, got {words[0]!r}") from None
    if rtype in (QTYPE.NS, QTYPE.CNAME, QTYPE.PTR):
        _exactly(words, 1, "one domain name")
        cls = {QTYPE.NS: NS, QTYPE.CNAME: CNAME, QTYPE.PTR: PTR}[rtype]
        return cls(names.from_text(words[0], origin))
    if rtype == QTYPE.MX:
        _exactly(words, 2, "a preference and a host name")
        (preference,) = _ints(words, 1, "a preference", 65535)
        return MX(names.from_text(words[1], origin), preference)
    if rtype == QTYPE.SOA:
        _exactly(words, 7, "MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM")
        (serial,) = _ints(words[2:], 1, "a serial", 2**32 - 1)
        times = [serial] + [parse_ttl(w) for w in words[3:]]
        return SOA(names.from_text(words[0], origin), names.from_text(words[1], origin), times)
    if rtype == QTYPE.TXT:
        if not words:
            raise ValueError("expected at least one character-string")
        strings = [decode_string(w) for w in words]
        for s in strings:
            if len(s) > 255:
                raise ValueError(f"character-string of {len(s)} octets (at most 255)")
        return TXT(strings)
    if rtype == QTYPE.SRV:
        _exactly(words, 4, "PRIORITY WEIGHT PORT TARGET")
        priority, weight, port = _ints(words, 3, "three numbers", 65535)
        return SRV(priority, weight, port, names.from_text(words[3], origin))
    cls = RDMAP.get(QTYPE.get(rtype))
    if cls is None:
        raise ValueError(f"type {QTYPE.get(rtype)} needs the generic form: \\# LENGTH HEX")
    try:
        rd = cls.fromZone(words, origin)
        rd.pack(DNSBuffer())
    except Exception as e:  # dnslib's text parsers raise many kinds; all mean bad RDATA
        raise ValueError(f"bad {QTYPE.get(rtype)} data: {e}") from None
    return rd


def _generic(rtype: int, words: list[str]) -> OpaqueRD:
    """RFC 3597 §5: ``\\# LENGTH HEX...``, decoded into dnslib's class for the type."""
    if not words or not words[0].isdigit():
        raise ValueError("expected \\# LENGTH HEX")
    length = int(words[0])
    try:
        data = bytes.fromhex("".join(words[1:]))
    except ValueError:
        raise ValueError("expected hexadecimal data after \\# LENGTH") from None
    if len(data) != length:
        raise ValueError(f"\\# says {length} octets but the data has {len(data)}")
    cls = RDMAP.get(QTYPE.get(rtype), OpaqueRD)
    if cls is OpaqueRD:
        return OpaqueRD(data)
    buffer = DNSBuffer(data)
    try:
        rd = cls.parse(buffer, length)
    except Exception as e:  # dnslib's decoders raise many kinds; all mean bad RDATA
        raise ValueError(f"the data is not valid {QTYPE.get(rtype)}: {e}") from None
    if buffer.offset != length:
        raise ValueError(f"the data is not valid {QTYPE.get(rtype)}: trailing octets")
    return rd


class Reader:
    """Reads one zone file (and its ``$INCLUDE``\\ s) into :class:`Record`\\ s."""

    def __init__(self, origin: names.DNSLabel) -> None:
        self.origin = origin
        self.default_ttl: int | None = None
        self.last_ttl: int | None = None
        self.owner: names.DNSLabel | None = None

    def read(self, path: Path, depth: int = 0) -> list[Record]:
        source = str(path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_SIZE:
                raise ZoneFileError(source, 0, f"file of {size} bytes (at most {MAX_FILE_SIZE})")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ZoneFileError(source, 0, "no such file") from None
        except IsADirectoryError:
            raise ZoneFileError(source, 0, "is a directory, expected a zone file") from None
        except PermissionError:
            raise ZoneFileError(source, 0, "permission denied") from None
        except UnicodeDecodeError:
            raise ZoneFileError(source, 0, "not UTF-8 text") from None
        return self.read_text(text, source, path.parent, depth)

    def read_text(self, text: str, source: str, base: Path, depth: int = 0) -> list[Record]:
        records: list[Record] = []
        line = 0
        try:
            for entry in entries(text):
                line = entry.line
                first = entry.tokens[0]
                if first.text.startswith("$") and not first.quoted and not entry.blank_owner:
                    records += self._directive(entry, source, base, depth)
                else:
                    records.append(Record(self._record(entry), source, line))
        except _LineError as e:
            raise ZoneFileError(source, e.line, str(e)) from None
        except ValueError as e:
            raise ZoneFileError(source, line, str(e)) from None
        return records

    def _directive(self, entry: Entry, source: str, base: Path, depth: int) -> list[Record]:
        name = entry.tokens[0].text.upper()
        args = [t.text for t in entry.tokens[1:]]
        if name == "$ORIGIN":
            _exactly(args, 1, "$ORIGIN NAME")
            self.origin = names.from_text(args[0], self.origin)
            return []
        if name == "$TTL":
            _exactly(args, 1, "$TTL TTL")
            self.default_ttl = parse_ttl(args[0])
            return []
        if name == "$INCLUDE":
            if not 1 <= len(args) <= 2:
                raise ValueError("expected $INCLUDE FILE [ORIGIN]")
            if depth >= MAX_INCLUDE_DEPTH:
                raise ValueError(f"$INCLUDE nested over {MAX_INCLUDE_DEPTH} deep")
            saved = (self.origin, self.owner)
            if len(args) == 2:
                self.origin = names.from_text(args[1], self.origin)
            records = self.read(base / args[0], depth + 1)
            # RFC 1035 §5.1: the origin reverts after the included file; so does the owner
            self.origin, self.owner = saved
            return records
        raise ValueError(
            f"unknown directive {entry.tokens[0].text} (known: $ORIGIN, $TTL, $INCLUDE)"
        )

    def _record(self, entry: Entry) -> RR:
        tokens = list(entry.tokens)
        if entry.blank_owner:
            if self.owner is None:
                raise ValueError("a record with a blank owner before any owner was given")
            owner = self.owner
        else:
            owner = names.from_text(tokens.pop(0).text, self.origin)
            self.owner = owner
        ttl: int | None = None
        klass: str | None = None
        while tokens and not tokens[0].quoted:
            word = tokens[0].text
            if ttl is None and word[:1].isdigit():
                ttl = parse_ttl(word)
            elif klass is None and _is_class(word):
                klass = word.upper()
            else:
                break
            tokens.pop(0)
        if klass not in (None, "IN"):
            raise ValueError(f"class {klass} is not served; dcsim serves class IN only")
        if not tokens:
            raise ValueError("expected a record type")
        rtype = type_code(tokens.pop(0).text)
        if rtype in (QTYPE.OPT, QTYPE.AXFR, QTYPE.IXFR, QTYPE.ANY, 253, 254):
            raise ValueError(f"{QTYPE.get(rtype)} is not a type a zone can hold")
        if ttl is None:
            ttl = self.default_ttl if self.default_ttl is not None else self.last_ttl
            if ttl is None:
                raise ValueError("no TTL on this record and no $TTL before it")
        else:
            self.last_ttl = ttl
        rdata = rdata_from_text(rtype, tuple(tokens), self.origin)
        return RR(owner, rtype, 1, ttl, rdata)


def _is_class(word: str) -> bool:
    upper = word.upper()
    return upper in _CLASSES or (upper.startswith("CLASS") and upper[5:].isdigit())


def read_file(path: Path, origin: names.DNSLabel) -> list[Record]:
    """Every record of the zone file at *path*, with *origin* as the starting origin."""
    return Reader(origin).read(path)
