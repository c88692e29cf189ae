"""The PPP frame header: address, control and protocol fields (RFC 1661 §2, RFC 1662 §3).

A frame here is what :mod:`dcsim.ppp.hdlc` delivers: everything between the flags with the
FCS removed. Receiving is liberal: the address and control fields may be missing and the
protocol may be one octet whether or not ACFC and PFC were agreed (RFC 1661 §6.5, §6.6
allow accepting them always). Sending compresses only what the peer agreed to receive.
"""

from __future__ import annotations

from enum import IntEnum

ADDRESS = 0xFF  # All-Stations address (RFC 1662 §3.1)
CONTROL = 0x03  # Unnumbered Information (RFC 1662 §3.1)
_ADDRESS_CONTROL = bytes((ADDRESS, CONTROL))


class Protocol(IntEnum):
    """PPP protocol numbers (IANA "PPP DLL Protocol Numbers") dcsim knows by name."""

    IP = 0x0021  # RFC 1332
    VJ_COMPRESSED = 0x002D  # RFC 1144 compressed TCP/IP
    VJ_UNCOMPRESSED = 0x002F  # RFC 1144 uncompressed TCP/IP (sets the state of a slot)
    IPV6 = 0x0057
    IPCP = 0x8021  # RFC 1332
    IPXCP = 0x802B
    IPV6CP = 0x8057
    CCP = 0x80FD  # RFC 1962; Dreamcast titles get it wrong, so it is protocol-rejected
    LCP = 0xC021  # RFC 1661
    PAP = 0xC023  # RFC 1334
    LQR = 0xC025
    CHAP = 0xC223  # RFC 1994


class FrameError(ValueError):
    """A frame too short or with an invalid protocol field; it is dropped and counted."""


def decode(frame: bytes) -> tuple[int, bytes]:
    """Split a frame into (protocol, information)."""
    offset = 2 if frame[:2] == _ADDRESS_CONTROL else 0
    if len(frame) <= offset:
        raise FrameError("frame has no protocol field")
    first = frame[offset]
    if first & 1:  # a compressed (one-octet) protocol field: its only octet is odd
        return first, frame[offset + 1 :]
    if len(frame) < offset + 2:
        raise FrameError("frame ends inside the protocol field")
    protocol = (first << 8) | frame[offset + 1]
    if not protocol & 1:
        raise FrameError(f"invalid protocol field 0x{protocol:04x} (low octet must be odd)")
    return protocol, frame[offset + 2 :]


def encode(protocol: int, information: bytes, *, acfc: bool = False, pfc: bool = False) -> bytes:
    """A frame carrying *information* under *protocol*, compressed as allowed.

    LCP is never compressed (RFC 1661 §6.5/§6.6), whatever the caller passes.
    """
    if protocol == Protocol.LCP:
        return _ADDRESS_CONTROL + b"\xc0\x21" + information
    head = b"" if acfc else _ADDRESS_CONTROL
    if pfc and protocol < 0x100:
        return head + bytes((protocol,)) + information
    return head + protocol.to_bytes(2, "big") + information


def protocol_name(protocol: int) -> str:
    try:
        return Protocol(protocol).name
    except ValueError:
        return f"0x{protocol:04x}"
