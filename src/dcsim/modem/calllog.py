"""The call log: one record per dial attempt, kept in memory and written as JSON lines.

``dcsim check`` reads these records later to judge a client against Sega's rules
(redial intervals, giving up in time, pulse/tone honoured, hang-up on reset, idle
disconnect). The format is documented in docs/modem.md and versioned by ``v``; add
fields, never change the meaning of one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from dcsim.config import from_mapping
from dcsim.records import RecordLog

RECORD_VERSION = 1


class Party(Enum):
    """Who ended a call."""

    DTE = "dte"  # the console or its program: ATH, DTR drop, a key during dialling, closing
    MODEM = "modem"  # the modem gave up: S7 expired, S30 inactivity
    NETWORK = "network"  # the exchange or the ISP: busy, no dial tone, idle or maximum time
    FAR_END = "far_end"  # the answerer hung up, or the carrier was lost


class Hangup(Enum):
    """Why a call ended, in more detail than the result code."""

    DTE_COMMAND = "dte_command"  # ATH (or Z) from the console
    DTE_ABORT = "dte_abort"  # a character from the console during dialling
    DTR_DROP = "dtr_drop"  # DTR went off with &D2 or &D3
    DTE_GONE = "dte_gone"  # the console's connection closed (TCP close, pty closed)
    REFUSED = "refused"  # the redial restriction refused the dial
    NO_DIALTONE = "no_dialtone"
    BUSY = "busy"
    NO_ANSWER = "no_answer"  # S7 expired, or no quiet answer for @
    NO_CARRIER = "no_carrier"  # answered, but no modem (voice) or training failed
    FAR_END = "far_end"  # the answerer hung up
    CARRIER_LOST = "carrier_lost"  # a line fault dropped the carrier
    IDLE = "idle"  # the ISP's idle timeout
    MAX_DURATION = "max_duration"  # the ISP's limit on a call's length
    INACTIVITY = "inactivity"  # the modem's S30 timer


@dataclass(frozen=True, slots=True)
class ResultEntry:
    t: float
    result: str  # what the modem concluded, e.g. "BUSY" or "CONNECT 33600"
    shown: str | None  # what the console was shown under X/V/Q; None when quiet (Q1)


@dataclass(frozen=True, slots=True)
class CallRecord:
    modem: str  # which modem (its transport), e.g. "tcp:127.0.0.1:40412" or "/dev/pts/3"
    call: int  # 1, 2, 3... within this modem's session
    line: str  # the line profile's name
    line_type: str  # the contracted type: tone or pulse
    t_dial: float  # the reactor's time of the D command
    dial_string: str
    digits: str  # digits sent to the line, in order, including any PBX prefix
    number: str | None  # the phone-book number reached, None if the call reached nobody
    method: str | None  # tone, pulse or mixed; None if no digit was dialled
    pulse_pps: int | None
    dial_duration: float  # seconds from the D command to the end of the last digit
    far_end: str  # answer, busy, no_answer, voice, server_down, nowhere, or refused
    route: str  # why the exchange routed the call so, in words
    results: tuple[ResultEntry, ...]
    rate: int | None  # CONNECT rate towards the console
    t_connect: float | None
    t_end: float
    connected_seconds: float
    bytes_sent: int  # console -> far end
    bytes_received: int  # far end -> console
    hangup: Hangup
    hung_up_by: Party
    cause: int | None  # dcsim.causes.Cause, where one applies
    cause_text: str | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["results"] = [asdict(r) for r in self.results]
        data["hangup"] = self.hangup.value
        data["hung_up_by"] = self.hung_up_by.value
        return {"v": RECORD_VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallRecord:
        """A record read back; a wrong field raises :class:`dcsim.config.ConfigError`
        naming it. Fields a later version adds are ignored."""
        return from_mapping(data, cls, "call record", ignore_unknown=True)


class CallLog(RecordLog[CallRecord]):
    """Records of every modem, in the order calls ended; optionally appended to a file."""

    def find(
        self, *, modem: str | None = None, number: str | None = None, result: str | None = None
    ) -> list[CallRecord]:
        """Records matching every filter given; *result* matches any result of the call."""
        return [
            r
            for r in self.records
            if (modem is None or r.modem == modem)
            and (number is None or r.number == number or r.digits == number)
            and (result is None or any(e.result == result for e in r.results))
        ]


def read_jsonl(lines: Iterable[str]) -> Iterator[CallRecord]:
    for line in lines:
        if line.strip():
            yield CallRecord.from_json(json.loads(line))


def read_file(path: Path) -> list[CallRecord]:
    with open(path, encoding="utf-8") as f:
        return list(read_jsonl(f))
