"""DNS over a byte stream (RFC 1035 §4.2.2, RFC 7766): a sans-IO core for one connection.

Each message is preceded by its length in two octets. Either side may send several
messages without waiting (pipelining, RFC 7766 §6.2.1.1). The core buffers at most one
incomplete message, and tracks idleness the way RFC 7766 §6.2.3 asks a server to: the
idle timer runs from the last *complete* message in either direction, so a client that
trickles a byte at a time cannot keep the connection open past the timeout. While
answers are outstanding the connection is not idle.

Used by the server (queries in, answers out) and by the resolver's TCP client.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

LENGTH_SIZE = 2
MAX_MESSAGE = 65535


@dataclass(frozen=True, slots=True)
class MessageReceived:
    data: bytes


@dataclass(frozen=True, slots=True)
class PeerClosed:
    """The peer closed its side (``receive_data(b"")``); *partial*: mid-message."""

    partial: bool


@dataclass(frozen=True, slots=True)
class IdleTimeout:
    idle_for: float


@dataclass(frozen=True, slots=True)
class FramingError:
    reason: str


Event = MessageReceived | PeerClosed | IdleTimeout | FramingError


def frame(message: bytes) -> bytes:
    """*message* with its two-octet length in front."""
    if len(message) > MAX_MESSAGE:
        raise ValueError(f"a message of {len(message)} octets cannot be framed (max {MAX_MESSAGE})")
    return struct.pack("!H", len(message)) + message


class StreamConnection:
    """Framing and idle tracking for one DNS-over-TCP connection."""

    def __init__(self, now: float, idle_timeout: float | None) -> None:
        self.idle_timeout = idle_timeout
        self._buffer = bytearray()
        self._events: list[Event] = []
        self._out: list[bytes] = []
        self._last_activity = now
        self._outstanding = 0
        self.closed = False

    # --- input ---------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        if self.closed:
            return
        if not data:
            self.closed = True
            self._events.append(PeerClosed(partial=bool(self._buffer)))
            return
        self._buffer += data
        while len(self._buffer) >= LENGTH_SIZE:
            (length,) = struct.unpack_from("!H", self._buffer)
            if length == 0:
                self.closed = True
                self._events.append(FramingError("a message of length 0"))
                return
            if len(self._buffer) < LENGTH_SIZE + length:
                break
            message = bytes(self._buffer[LENGTH_SIZE : LENGTH_SIZE + length])
            del self._buffer[: LENGTH_SIZE + length]
            self._last_activity = now
            self._outstanding += 1
            self._events.append(MessageReceived(message))

    def handle_timer(self, now: float) -> None:
        deadline = self.deadline()
        if deadline is not None and now >= deadline:
            self.closed = True
            self._events.append(IdleTimeout(now - self._last_activity))

    # --- output --------------------------------------------------------------------------

    def send(self, message: bytes, now: float) -> None:
        """Queue one framed message."""
        self._out.append(frame(message))
        self._last_activity = now

    def done(self, now: float) -> None:
        """One received message is dealt with (answered, or deliberately not)."""
        self._outstanding = max(0, self._outstanding - 1)
        self._last_activity = now

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def events(self) -> Iterator[Event]:
        while self._events:
            yield self._events.pop(0)

    def deadline(self) -> float | None:
        if self.closed or self.idle_timeout is None or self._outstanding:
            return None
        return self._last_activity + self.idle_timeout

    @property
    def outstanding(self) -> int:
        return self._outstanding
