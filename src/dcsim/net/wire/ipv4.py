"""IPv4 datagrams (RFC 791): header view and representation, checksum, fragmentation."""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from enum import IntEnum
from ipaddress import IPv4Address
from typing import Self

from dcsim.net.wire.base import WireError
from dcsim.net.wire.checksum import Bytes, internet_checksum, ones_sum

HEADER_LEN = 20  # without options
MIN_MTU = 68  # RFC 791: every host and router must forward a 68-byte datagram
MAX_LEN = 0xFFFF
DEFAULT_TTL = 64

_HDR = struct.Struct("!BBHHHBBH4s4s")
_DF = 0x4000
_MF = 0x2000
_OFFSET_MASK = 0x1FFF

# Option types (RFC 791 3.1): end of list, no operation; bit 7 of the type = "copied".
_OPT_EOL = 0
_OPT_NOP = 1
_OPT_COPIED = 0x80


class IpProto(IntEnum):
    ICMP = 1
    TCP = 6
    UDP = 17


class Ipv4View:
    """A zero-copy look at an IPv4 datagram; the constructor checks every length.

    Bytes after ``total_len`` (link padding) are ignored.
    """

    __slots__ = ("buf", "header_len", "total_len")

    def __init__(self, buf: Bytes) -> None:
        if len(buf) < HEADER_LEN:
            raise WireError("ipv4", f"{len(buf)} bytes is shorter than a header", len(buf))
        first = buf[0]
        if first >> 4 != 4:
            raise WireError("ipv4", f"version {first >> 4}, expected 4", 0)
        header_len = (first & 0x0F) * 4
        if header_len < HEADER_LEN:
            raise WireError("ipv4", f"header length {header_len} is below 20", 0)
        total_len = (buf[2] << 8) | buf[3]
        if total_len < header_len:
            raise WireError("ipv4", f"total length {total_len} < header length {header_len}", 2)
        if total_len > len(buf):
            raise WireError("ipv4", f"total length {total_len} but only {len(buf)} bytes", 2)
        self.buf = buf
        self.header_len = header_len
        self.total_len = total_len

    @property
    def ident(self) -> int:
        return (self.buf[4] << 8) | self.buf[5]

    @property
    def df(self) -> bool:
        return bool(self.buf[6] & 0x40)

    @property
    def mf(self) -> bool:
        return bool(self.buf[6] & 0x20)

    @property
    def frag_offset(self) -> int:
        """The fragment offset in bytes."""
        return (((self.buf[6] << 8) | self.buf[7]) & _OFFSET_MASK) * 8

    @property
    def ttl(self) -> int:
        return self.buf[8]

    @property
    def proto(self) -> int:
        return self.buf[9]

    @property
    def checksum(self) -> int:
        return (self.buf[10] << 8) | self.buf[11]

    @property
    def src(self) -> IPv4Address:
        return IPv4Address(bytes(self.buf[12:16]))

    @property
    def dst(self) -> IPv4Address:
        return IPv4Address(bytes(self.buf[16:20]))

    @property
    def options(self) -> bytes:
        return bytes(self.buf[HEADER_LEN : self.header_len])

    @property
    def header(self) -> Bytes:
        return self.buf[: self.header_len]

    @property
    def payload(self) -> Bytes:
        return self.buf[self.header_len : self.total_len]

    def verify_checksum(self) -> bool:
        return ones_sum(self.buf[: self.header_len]) == 0


@dataclass(frozen=True, slots=True)
class Ipv4Repr:
    """An IPv4 header as values. ``frag_offset`` is in bytes (a multiple of 8)."""

    src: IPv4Address
    dst: IPv4Address
    proto: int
    ttl: int = DEFAULT_TTL
    ident: int = 0
    df: bool = False
    mf: bool = False
    frag_offset: int = 0
    tos: int = 0
    options: bytes = b""

    @classmethod
    def parse(cls, view: Ipv4View, *, verify_checksum: bool = True) -> Self:
        buf = view.buf
        _, tos, _, ident, flags, ttl, proto, _, src, dst = _HDR.unpack_from(buf)
        if verify_checksum and ones_sum(buf[: view.header_len]) != 0:
            raise WireError("ipv4", "bad header checksum", 10)
        if flags & 0x8000:
            raise WireError("ipv4", "reserved flag bit set", 6)
        options = bytes(buf[HEADER_LEN : view.header_len])
        if options:
            _check_options(options)
        frag_offset = (flags & _OFFSET_MASK) * 8
        if frag_offset + view.total_len - view.header_len > MAX_LEN:
            raise WireError("ipv4", "fragment ends beyond 65535 bytes", 6)
        return cls(
            IPv4Address(src),
            IPv4Address(dst),
            proto,
            ttl,
            ident,
            bool(flags & _DF),
            bool(flags & _MF),
            frag_offset,
            tos,
            options,
        )

    @property
    def header_len(self) -> int:
        return HEADER_LEN + len(self.options)

    def buffer_len(self, payload_len: int) -> int:
        return self.header_len + payload_len

    @property
    def is_fragment(self) -> bool:
        return self.mf or self.frag_offset != 0

    def emit(self, payload: Bytes = b"") -> bytes:
        """The datagram: this header (checksum computed) followed by *payload*."""
        options = self.options
        if len(options) % 4:
            raise ValueError("IPv4 options must be padded to a multiple of 4 bytes")
        if len(options) > 40:
            raise ValueError("IPv4 options are limited to 40 bytes")
        header_len = HEADER_LEN + len(options)
        total = header_len + len(payload)
        if total > MAX_LEN:
            raise ValueError(f"an IPv4 datagram of {total} bytes exceeds 65535")
        if self.frag_offset % 8:
            raise ValueError("fragment offset must be a multiple of 8")
        flags = (self.frag_offset >> 3) | (_DF if self.df else 0) | (_MF if self.mf else 0)
        header = _HDR.pack(
            0x40 | (header_len >> 2),
            self.tos,
            total,
            self.ident,
            flags,
            self.ttl,
            self.proto,
            0,
            self.src.packed,
            self.dst.packed,
        )
        if options:
            header += options
        csum = internet_checksum(header)
        return b"".join((header[:10], csum.to_bytes(2, "big"), header[12:], payload))


def parse(data: Bytes, *, verify_checksum: bool = True) -> tuple[Ipv4Repr, Bytes]:
    """Decode a datagram into its header and its payload (a slice of *data*)."""
    view = Ipv4View(data)
    return Ipv4Repr.parse(view, verify_checksum=verify_checksum), view.payload


def _check_options(options: bytes) -> None:
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == _OPT_EOL:
            return
        if kind == _OPT_NOP:
            i += 1
            continue
        if i + 1 >= len(options):
            raise WireError("ipv4", f"option {kind} has no length byte", HEADER_LEN + i)
        length = options[i + 1]
        if length < 2 or i + length > len(options):
            raise WireError("ipv4", f"option {kind} has bad length {length}", HEADER_LEN + i + 1)
        i += length


def _copied_options(options: bytes) -> bytes:
    """The options that RFC 791 says every fragment carries (copied bit set), padded."""
    out = bytearray()
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == _OPT_EOL:
            break
        if kind == _OPT_NOP:
            i += 1
            continue
        length = options[i + 1]
        if kind & _OPT_COPIED:
            out += options[i : i + length]
        i += length
    out += bytes(-len(out) % 4)
    return bytes(out)


def fragment(header: Ipv4Repr, payload: Bytes, mtu: int) -> list[bytes]:
    """Split a datagram into fragments of at most *mtu* bytes (RFC 791 3.2).

    *header* may itself be a fragment; its offset and MF flag carry over. The caller
    decides what to do with a DF datagram: this function refuses it.
    """
    if header.df:
        raise ValueError("refusing to fragment a datagram with DF set")
    if mtu < MIN_MTU:
        raise ValueError(f"MTU {mtu} is below the IPv4 minimum of {MIN_MTU}")
    if header.header_len + len(payload) <= mtu:
        return [header.emit(payload)]
    fragments = []
    offset = 0
    first = True
    current = header
    later = replace(header, options=_copied_options(header.options))
    while offset < len(payload):
        room = (mtu - current.header_len) & ~7
        chunk = payload[offset : offset + room]
        last = offset + len(chunk) >= len(payload)
        part = replace(
            current,
            frag_offset=header.frag_offset + offset,
            mf=header.mf if last else True,
        )
        fragments.append(part.emit(chunk))
        offset += len(chunk)
        if first:
            current, first = later, False
    return fragments
