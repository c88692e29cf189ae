"""Domain names: text form with RFC 1035 escapes, limits, and case-insensitive keys.

dnslib's :class:`DNSLabel` keeps the labels as bytes with their case; comparisons in DNS
ignore ASCII case (RFC 4343), so lookups use :func:`key`, a tuple of lowercased labels.
"""

from __future__ import annotations

from dnslib import DNSLabel

Key = tuple[bytes, ...]

MAX_LABEL = 63  # RFC 1035 §2.3.4
MAX_NAME = 255  # RFC 1035 §2.3.4, in wire octets including the length bytes and the root

ROOT = DNSLabel(())


def key(name: DNSLabel) -> Key:
    """The case-insensitive identity of *name*."""
    return tuple(label.lower() for label in name.label)


def wire_length(name: DNSLabel) -> int:
    """Octets *name* takes on the wire, uncompressed."""
    return sum(len(label) + 1 for label in name.label) + 1


def check(name: DNSLabel) -> None:
    """Raise ValueError if *name* breaks RFC 1035's label or name length limits."""
    for label in name.label:
        if not label:
            raise ValueError(f"empty label in {name}")
        if len(label) > MAX_LABEL:
            raise ValueError(f"label of {len(label)} octets (at most {MAX_LABEL})")
    if wire_length(name) > MAX_NAME:
        raise ValueError(f"name of {wire_length(name)} octets (at most {MAX_NAME})")


def under(name: Key, parent: Key) -> bool:
    """Whether *name* is *parent* or below it."""
    return not parent or name[len(name) - len(parent) :] == parent


def from_text(text: str, origin: DNSLabel | None = None) -> DNSLabel:
    """Parse a name as written in a zone file: ``@``, absolute (trailing dot) or relative
    to *origin*, with ``\\X`` and ``\\DDD`` escapes. Raises ValueError."""
    if text == "@":
        if origin is None:
            raise ValueError("@ used with no origin")
        return origin
    if text == ".":
        return ROOT
    labels: list[bytes] = []
    current = bytearray()
    absolute = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if text[i + 1 : i + 4].isdigit() and len(text[i + 1 : i + 4]) == 3:
                value = int(text[i + 1 : i + 4])
                if value > 255:
                    raise ValueError(f"escape \\{text[i + 1 : i + 4]} is over 255")
                current.append(value)
                i += 4
                continue
            if i + 1 >= len(text):
                raise ValueError("name ends with a lone backslash")
            current += text[i + 1].encode("utf-8")
            i += 2
            continue
        if c == ".":
            if not current:
                raise ValueError(f"empty label in {text!r}")
            labels.append(bytes(current))
            current = bytearray()
            if i == len(text) - 1:
                absolute = True
        else:
            current += c.encode("utf-8")
        i += 1
    if current:
        labels.append(bytes(current))
    if not absolute:
        if origin is None:
            raise ValueError(f"relative name {text!r} with no origin")
        labels += origin.label
    name = DNSLabel(labels)
    check(name)
    return name


def to_text(name: DNSLabel) -> str:
    """Presentation form with a trailing dot, escaping what needs it (RFC 4343 §2.1)."""
    if not name.label:
        return "."
    out = []
    for label in name.label:
        part = []
        for b in label:
            if b in b'.\\"();@$ ':
                part.append("\\" + chr(b))
            elif 33 <= b < 127:
                part.append(chr(b))
            else:
                part.append(f"\\{b:03d}")
        out.append("".join(part))
    return ".".join(out) + "."
