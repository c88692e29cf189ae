"""RFC 1662 HDLC-like framing for PPP on an asynchronous byte stream.

A pure codec: :class:`Deframer` turns a byte stream into verified frames (FCS checked and
stripped) and :func:`encode_frame` turns one frame into bytes for the wire. Both sides of
the link and every front end (DCNet, the modem's data mode, the virtual Dreamcast) use it.

Speed matters (a thousand modem lines share one core), so every per-byte step runs inside
CPython's C code: flags are found with ``bytes.split``, escapes with ``split``/``replace``,
and the FCS-16 of RFC 1662 (CRC-16/X.25, reflected polynomial 0x8408) is computed with
``binascii.crc_hqx`` (the same polynomial, not reflected) over bit-reversed octets: a
reflected CRC of the data equals the bit-reversed plain CRC of the bit-reversed data.
The FCS-32 of RFC 1662 §C.3 is exactly zlib's CRC-32.
"""

from __future__ import annotations

import binascii
import functools
import zlib
from dataclasses import dataclass

FLAG = 0x7E  # RFC 1662 §3.1 Flag Sequence
ESCAPE = 0x7D  # RFC 1662 §4.2 Control Escape
ESCAPE_XOR = 0x20
ALL_CONTROL = 0xFFFFFFFF  # the default ACCM: every octet below 0x20 escaped (RFC 1662 §7.1)
FCS16_LEN = 2
FCS32_LEN = 4
# The largest frame accepted by default: an MRU of 1500 plus address, control, a two-byte
# protocol (RFC 1661 §6.1 default MRU). Longer frames are counted and dropped.
DEFAULT_MAX_FRAME = 1500 + 4

_FLAG = bytes((FLAG,))
_ESCAPE = bytes((ESCAPE,))
_REVERSE = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
# The "good FCS" residues of RFC 1662 §C.2 (0xF0B8, here bit-reversed for crc_hqx) and of
# zlib's finalised CRC-32 over data followed by its own FCS-32.
_FCS16_GOOD_REVERSED = 0x1D0F
_FCS32_GOOD = 0x2144DF1C


def fcs16(data: bytes) -> int:
    """The FCS-16 to append to *data* (already complemented; send low octet first)."""
    crc = binascii.crc_hqx(data.translate(_REVERSE), 0xFFFF)
    return ((_REVERSE[crc & 0xFF] << 8) | _REVERSE[crc >> 8]) ^ 0xFFFF


def fcs32(data: bytes) -> int:
    """The FCS-32 to append to *data* (already complemented; send low octet first)."""
    return zlib.crc32(data)


def fcs16_ok(frame: bytes) -> bool:
    """True if *frame* ends with a correct FCS-16."""
    return binascii.crc_hqx(frame.translate(_REVERSE), 0xFFFF) == _FCS16_GOOD_REVERSED


def fcs32_ok(frame: bytes) -> bool:
    """True if *frame* ends with a correct FCS-32."""
    return zlib.crc32(frame) == _FCS32_GOOD


@functools.lru_cache(maxsize=64)
def _escapes(accm: int) -> tuple[tuple[bytes, bytes], ...]:
    """The replacements for an ACCM, the escape octet first so it is never escaped twice."""
    octets = [ESCAPE, FLAG] + [c for c in range(32) if accm >> c & 1]
    return tuple((bytes((c,)), bytes((ESCAPE, c ^ ESCAPE_XOR))) for c in octets)


def escape(data: bytes, accm: int) -> bytes:
    """Escape the flag, the escape octet and the control octets flagged in *accm*."""
    for octet, replacement in _escapes(accm):
        if octet in data:
            data = data.replace(octet, replacement)
    return data


def encode_frame(frame: bytes, *, accm: int = ALL_CONTROL, use_fcs32: bool = False) -> bytes:
    """*frame* (address, control, protocol, information) ready for the wire.

    Every frame gets an opening and a closing flag: a flag shared between frames is legal
    (RFC 1662 §3.1) but some titles need both (Power Smash, flycast.md §3).
    """
    if use_fcs32:
        body = frame + fcs32(frame).to_bytes(FCS32_LEN, "little")
    else:
        body = frame + fcs16(frame).to_bytes(FCS16_LEN, "little")
    return _FLAG + escape(body, accm) + _FLAG


@dataclass
class DeframerCounters:
    """What the deframer has seen; every dropped frame is counted under its reason."""

    frames: int = 0  # good frames delivered
    bad_fcs: int = 0  # frames whose FCS did not check (RFC 1662 §4.3: silently discarded)
    aborted: int = 0  # frames ended by the abort sequence 7D 7E (RFC 1662 §4.4.1)
    too_short: int = 0  # shorter than the FCS plus a one-octet protocol
    too_long: int = 0  # longer than the frame limit (then the rest up to the flag is dropped)
    bad_escape: int = 0  # an escape octet followed by another escape octet


class Deframer:
    """Find frames in an RFC 1662 byte stream, undo the escaping and check the FCS.

    ``feed(data)`` returns the complete good frames found so far, each without its FCS.
    Memory is bounded by *max_frame*: a frame growing beyond it is dropped and the stream
    discarded up to the next flag.

    Unescaped control octets are kept. RFC 1662 §7.1 lets a receiver delete those its ACCM
    flags (modems could insert XON/XOFF), but no such modem sits between dcsim and a peer,
    and deleting races with the ACCM change: a peer may send its first frame with the new
    ACCM right behind the Configure-Ack that agreed it, in the same read.
    """

    def __init__(self, *, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.counters = DeframerCounters()
        self.expect_fcs32 = False
        self._buffer = bytearray()
        self._discarding = False

    @property
    def _raw_limit(self) -> int:
        # every octet may be escaped, plus the longest FCS
        return 2 * (self.max_frame + FCS32_LEN)

    def feed(self, data: bytes) -> list[bytes]:
        pieces = data.split(_FLAG)
        frames: list[bytes] = []
        for piece in pieces[:-1]:
            if self._discarding:
                self._discarding = False
                self._buffer.clear()
                continue
            if self._buffer:
                self._buffer += piece
                raw = bytes(self._buffer)
                self._buffer.clear()
            else:
                raw = piece
            if raw:
                frame = self._check(raw)
                if frame is not None:
                    frames.append(frame)
        if not self._discarding:
            self._buffer += pieces[-1]
            if len(self._buffer) > self._raw_limit:
                self.counters.too_long += 1
                self._buffer.clear()
                self._discarding = True
        return frames

    def _check(self, raw: bytes) -> bytes | None:
        counters = self.counters
        if raw[-1] == ESCAPE:
            counters.aborted += 1
            return None
        if ESCAPE in raw:
            parts = raw.split(_ESCAPE)
            out = bytearray(parts[0])
            for part in parts[1:]:
                if not part:
                    counters.bad_escape += 1
                    return None
                out.append(part[0] ^ ESCAPE_XOR)
                out += part[1:]
            frame = bytes(out)
        else:
            frame = raw
        if len(frame) < FCS16_LEN + 2:
            counters.too_short += 1
            return None
        if self.expect_fcs32:
            checks = ((fcs32_ok, FCS32_LEN), (fcs16_ok, FCS16_LEN))
        else:
            checks = ((fcs16_ok, FCS16_LEN), (fcs32_ok, FCS32_LEN))
        for check, length in checks:
            if len(frame) > length and check(frame):
                body = frame[:-length]
                if len(body) > self.max_frame:
                    counters.too_long += 1
                    return None
                counters.frames += 1
                return body
        counters.bad_fcs += 1
        return None

    @property
    def buffered(self) -> int:
        """Octets held for an incomplete frame."""
        return len(self._buffer)
