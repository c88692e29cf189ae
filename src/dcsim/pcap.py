"""Classic libpcap capture files that Wireshark and tshark open.

One writer serves every layer: the virtual internet's links (raw IPv4), the PPP sessions
(PPP with direction) and the DCNet broadband-adapter sessions (Ethernet). Timestamps are
whatever clock the caller lives on: the reactor's seconds on real sockets, virtual seconds
in a simulation (pass ``epoch`` to place virtual time 0 at a chosen date).

Format: https://wiki.wireshark.org/Development/LibpcapFileFormat; link types:
https://www.tcpdump.org/linktypes.html.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from pathlib import Path
from typing import BinaryIO

MAGIC_MICROSECONDS = 0xA1B2C3D4
VERSION = (2, 4)
DEFAULT_SNAPLEN = 65535

_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")


class LinkType(IntEnum):
    """The link types dcsim writes (tcpdump.org LINKTYPE_* values)."""

    ETHERNET = 1  # LINKTYPE_ETHERNET: Ethernet II frames without preamble or FCS
    RAW = 101  # LINKTYPE_RAW: bare IPv4 (or IPv6) datagrams
    PPP_WITH_DIR = 204  # LINKTYPE_PPP_WITH_DIR: direction byte, then the PPP frame


class Direction(IntEnum):
    """The direction byte of LINKTYPE_PPP_WITH_DIR, seen from dcsim (the capturing side)."""

    RECEIVED = 0  # from the peer (the console) to dcsim
    SENT = 1  # from dcsim to the peer


class PcapWriter:
    """Write packets to *sink* as a libpcap file with link type *linktype*.

    ``write`` copies nothing beyond the record header; packets longer than *snaplen*
    are truncated with their original length recorded, as a capture would be.
    """

    def __init__(
        self,
        sink: BinaryIO,
        linktype: LinkType,
        *,
        snaplen: int = DEFAULT_SNAPLEN,
        epoch: float = 0.0,
    ) -> None:
        self.sink = sink
        self.linktype = linktype
        self.snaplen = snaplen
        self.epoch = epoch
        self.packets = 0
        sink.write(_FILE_HEADER.pack(MAGIC_MICROSECONDS, *VERSION, 0, 0, snaplen, int(linktype)))

    @classmethod
    def open(cls, path: str | Path, linktype: LinkType, **kwargs: float) -> PcapWriter:
        """Create (or truncate) the file at *path*; close the writer when done."""
        return cls(open(path, "wb"), linktype, **kwargs)

    def write(self, timestamp: float, packet: bytes, direction: Direction | None = None) -> None:
        """Record *packet* seen at *timestamp* seconds.

        *direction* is required for ``PPP_WITH_DIR`` and refused for the other link types.
        """
        if (direction is None) != (self.linktype is not LinkType.PPP_WITH_DIR):
            raise ValueError(
                f"direction is required exactly for PPP_WITH_DIR, not {self.linktype.name}"
            )
        if direction is not None:
            packet = bytes((direction,)) + packet
        when = self.epoch + timestamp
        seconds = int(when)
        micros = round((when - seconds) * 1_000_000)
        if micros >= 1_000_000:
            seconds, micros = seconds + 1, micros - 1_000_000
        captured = packet[: self.snaplen]
        self.sink.write(_RECORD_HEADER.pack(seconds, micros, len(captured), len(packet)))
        self.sink.write(captured)
        self.packets += 1

    def flush(self) -> None:
        self.sink.flush()

    def close(self) -> None:
        self.sink.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
