"""The console's dialler and the fake modem's AT engine back to back, in explicit time
(h11's ConnectionPair habit): both cores are the real ones."""

from __future__ import annotations

from dcsim.client.dialler import DialEvent, Dialler, DialSettings
from dcsim.modem.calllog import CallRecord
from dcsim.modem.engine import AtEngine, CallLogged, Event
from dcsim.modem.line import Entry, LineProfile, PhoneBook

FAST = {"dial_tone_detect": 1.0, "answer_delay": 2.0, "training": 3.0, "busy_detect": 2.0}


class DialPair:
    def __init__(
        self,
        settings: DialSettings,
        *,
        line: LineProfile | None = None,
        book: PhoneBook | None = None,
    ) -> None:
        self.dialler = Dialler(settings)
        self.modem = AtEngine(line or LineProfile(**FAST), book or PhoneBook(), name="pair")
        self.now = 0.0
        self.events: list[DialEvent] = []
        self.modem_events: list[Event] = []
        self.online_data = bytearray()  # what the modem sent after CONNECT (far end's)

    def pump(self) -> None:
        for _ in range(10_000):
            to_modem = self.dialler.data_to_send()
            to_console = self.modem.data_to_send()
            self.events += self.dialler.events()
            self.modem_events += self.modem.events()
            if not to_modem and not to_console:
                return
            if to_modem:
                self.modem.receive_data(to_modem, self.now)
            if to_console:
                self.dialler.receive_data(to_console, self.now)
        raise AssertionError("the dialler and the modem never went quiet")

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        self.pump()
        while True:
            deadlines = [d for d in (self.dialler.deadline(), self.modem.deadline()) if d]
            if not deadlines or min(deadlines) > end:
                break
            self.now = max(self.now, min(deadlines))
            self.dialler.handle_timer(self.now)
            self.modem.handle_timer(self.now)
            self.pump()
        self.now = end

    def start(self, seconds: float = 900.0) -> None:
        self.dialler.start(self.now)
        self.run(seconds)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def records(self) -> list[CallRecord]:
        return [e.record for e in self.modem_events if isinstance(e, CallLogged)]


def book(**numbers: Entry) -> PhoneBook:
    return PhoneBook(numbers={k.lstrip("n"): v for k, v in numbers.items()})
