"""Dial strings (V.250 §6.3.1 and the Hayes modifiers) parsed into steps.

``0-9 * # A-D`` are digits; ``T``/``P`` choose tone or pulse for the digits after them;
``W`` waits for a (second) dial tone; ``,`` pauses S8 seconds; ``!`` flashes the hook for
S29 x 10 ms; ``@`` waits for a quiet answer; ``;`` returns to command mode after dialling;
``L`` dials the last dial string again and ``S=n`` the number stored with ``&Zn``.
Space, ``-``, ``(``, ``)`` and any other character V.250 does not define are ignored.
``*#ABCD`` cannot be pulsed: in pulse mode they are skipped, as modems do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

TONE_DIGITS = frozenset("0123456789*#ABCD")
PULSE_DIGITS = frozenset("0123456789")


class DialError(ValueError):
    """The dial string cannot be dialled; the modem answers ERROR."""


class Step(Enum):
    PAUSE = ","
    WAIT_DIAL_TONE = "W"
    FLASH = "!"
    QUIET_ANSWER = "@"


_STEPS = frozenset(s.value for s in Step)


@dataclass(frozen=True, slots=True)
class Digit:
    char: str
    tone: bool


@dataclass(frozen=True, slots=True)
class Dial:
    text: str  # the dial string after L and S=n were expanded
    steps: tuple[Digit | Step, ...]
    stay_in_command: bool  # ended with ;
    tone: bool  # the method in force at the end (T/P persist as the modem's default)

    @property
    def digits(self) -> str:
        return "".join(s.char for s in self.steps if isinstance(s, Digit))


def parse(text: str, tone: bool, last: str | None, stored: Sequence[str]) -> Dial:
    """Parse *text* (after ``ATD``); *tone* is the default method, *last* the previous
    dial string (for ``L``) and *stored* the ``&Z`` numbers (for ``S=n``)."""
    expanded = _expand(text.upper(), last, stored)
    steps: list[Digit | Step] = []
    stay = False
    for i, c in enumerate(expanded):
        if stay:
            break
        if c == "T":
            tone = True
        elif c == "P":
            tone = False
        elif c in TONE_DIGITS:
            if tone or c in PULSE_DIGITS:
                steps.append(Digit(c, tone))
        elif c == ";":
            stay = True
            expanded = expanded[: i + 1]
        elif c in _STEPS:
            steps.append(Step(c))
        # V.250: characters the DCE does not recognise are ignored
    return Dial(expanded, tuple(steps), stay, tone)


def _expand(text: str, last: str | None, stored: Sequence[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "L":
            if not last:
                raise DialError("no last number to redial")
            out.append(last.rstrip(";"))
            i += 1
        elif c == "S" and text[i + 1 : i + 2] == "=":
            j = i + 2
            while j < len(text) and text[j] == " ":
                j += 1
            if j >= len(text) or text[j] not in "0123456789":
                raise DialError("S= needs a stored number's index")
            n = int(text[j])
            if n >= len(stored) or not stored[n]:
                raise DialError(f"no number stored at &Z{n}")
            out.append(stored[n].upper().rstrip(";"))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)
