"""One direction of the telephone line: bytes leave at the line rate, never faster.

A serialiser with a bounded queue: ``push`` queues bytes (dropping what does not fit,
as a modem's buffer overruns), ``pull(now)`` returns the bytes whose transmission has
completed by *now*, and ``deadline`` says when the next batch of bytes will be complete.
Batches of about ``QUANTUM`` seconds keep the number of timer wake-ups small.
"""

from __future__ import annotations

QUANTUM = 0.01  # seconds of line time released per wake-up at most
_EPSILON = 1e-9


class Pacer:
    def __init__(self, bytes_per_second: float, limit: int) -> None:
        if bytes_per_second <= 0:
            raise ValueError("the line rate must be positive")
        self.rate = bytes_per_second
        self.limit = limit
        self._queue = bytearray()
        self._start = 0.0  # when the first queued byte started (or starts) on the line
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._queue)

    def push(self, data: bytes, now: float) -> None:
        if not self._queue:
            self._start = max(self._start, now)
        room = self.limit - len(self._queue)
        if len(data) > room:
            self.dropped += len(data) - room
            data = data[:room]
        self._queue += data

    def pull(self, now: float) -> bytes:
        if not self._queue:
            return b""
        n = min(len(self._queue), int((now - self._start) * self.rate + _EPSILON))
        if n <= 0:
            return b""
        out = bytes(self._queue[:n])
        del self._queue[:n]
        self._start += n / self.rate
        return out

    def deadline(self) -> float | None:
        if not self._queue:
            return None
        batch = min(len(self._queue), max(1, int(self.rate * QUANTUM)))
        return self._start + batch / self.rate

    def clear(self) -> None:
        self._queue.clear()
