"""Text as Dreamcast PSO sends it: bytes with an optional language marker.

PSO marks the encoding of a string with a tab escape at its start: ``\\tJ`` for Japanese
(Shift-JIS) and ``\\tE`` for the Roman font (Latin-1); unmarked text is read as the
sender's language (newserv CommandFormats.hh, "Text escape codes"). dcsim relays text
as the bytes it received and decodes it only to store or show it.
"""

from __future__ import annotations

MARKER_JAPANESE = b"\tJ"
MARKER_ENGLISH = b"\tE"


def decode(raw: bytes, japanese: bool = False) -> str:
    """*raw* as text: the marker picks the encoding, else *japanese* does. Never raises."""
    if raw.startswith(MARKER_JAPANESE):
        raw, japanese = raw[2:], True
    elif raw.startswith(MARKER_ENGLISH):
        raw, japanese = raw[2:], False
    return raw.decode("cp932" if japanese else "latin-1", errors="replace")


def strip_marker(raw: bytes) -> bytes:
    """*raw* without a leading language marker (to compare handle names)."""
    if raw.startswith((MARKER_JAPANESE, MARKER_ENGLISH)):
        return raw[2:]
    return raw
