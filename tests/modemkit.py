"""Drive an AtEngine with explicit times, as a test console would."""

from __future__ import annotations

from dcsim.modem.calllog import CallRecord
from dcsim.modem.engine import AtEngine, CallLogged, Event
from dcsim.modem.line import LineProfile, PhoneBook

FAST = {"dial_tone_detect": 1.0, "answer_delay": 2.0, "training": 3.0, "busy_detect": 2.0}


class Console:
    def __init__(self, line: LineProfile | None = None, book: PhoneBook | None = None, **kw):
        self.engine = AtEngine(line or LineProfile(**FAST), book, **kw)
        self.now = 0.0
        self.out = bytearray()
        self.events: list[Event] = []

    def _collect(self) -> None:
        self.out += self.engine.data_to_send()
        self.events += self.engine.events()

    def send(self, data: bytes | str) -> bytes:
        """Send *data*; return what the modem answered at once."""
        start = len(self.out)
        self.engine.receive_data(data.encode() if isinstance(data, str) else data, self.now)
        self._collect()
        return bytes(self.out[start:])

    def dtr(self, on: bool) -> bytes:
        start = len(self.out)
        self.engine.set_dtr(on, self.now)
        self._collect()
        return bytes(self.out[start:])

    def at(self, line: str) -> bytes:
        return self.send(line + "\r")

    def advance(self, seconds: float) -> bytes:
        """Let *seconds* pass, running every deadline on time; return the output."""
        start = len(self.out)
        until = self.now + seconds
        while (d := self.engine.deadline()) is not None and d <= until:
            self.now = max(self.now, d)
            self.engine.handle_timer(self.now)
            self._collect()
        self.now = until
        return bytes(self.out[start:])

    def until_result(self, limit: float = 600.0) -> tuple[float, bytes]:
        """Run until the modem says something; return (seconds it took, what it said)."""
        start_t, start = self.now, len(self.out)
        while len(self.out) == start:
            d = self.engine.deadline()
            assert d is not None and d - start_t <= limit, "the modem fell silent"
            self.now = d
            self.engine.handle_timer(d)
            self._collect()
        return self.now - start_t, bytes(self.out[start:])

    @property
    def records(self) -> list[CallRecord]:
        return [e.record for e in self.events if isinstance(e, CallLogged)]
