"""The console's side of the AT dialogue: dialling the access point as Sega's rules say.

A Dreamcast title connects with the provider settings stored in the console (line type,
outside-line prefix, the stored AT command string, up to three access numbers), never
asking the user again. On a busy line it tries the next number in order, waits 5-10 s
between attempts and gives up after 10 minutes (shared/seeds/004_*.txt). It hangs up on
a reset and shows one of Sega's causes for a failure it did not cause.

:class:`Dialler` is a sans-IO core in the project's shape (``receive_data``,
``handle_timer``, ``events``, ``data_to_send``, ``deadline``): modem bytes and the time
in; AT command lines, events and the next deadline out. It understands verbal and
numeric result codes (V1/V0) and ignores command echo (E1). Once ``CONNECT`` arrives it
stops reading: the bytes after the result line belong to PPP (:class:`Connected` carries
them), and the edge hands later bytes to PPP until :meth:`Dialler.hang_up`, which
escapes with ``+++`` between guard times and sends ``ATH0``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from dcsim.causes import Cause
from dcsim.client.rules import RULES
from dcsim.modem.results import CONNECT_CODES, DIAL_CAUSES, Result

MAX_LINE = 256  # a result line longer than this is not a result: the buffer is cut
ABORT_RETRY = 1.0  # s to wait for the result of an aborted dial before pressing again
ABORT_KEYS = 3
_CONNECT_RATES = {code: rate for rate, code in CONNECT_CODES.items()}
_VERBAL = {r.verbal: r for r in Result}
# The results after which the next number is tried (Sega: "on busy, the next number";
# a line that rang out or gave no carrier is treated the same way).
_TRY_NEXT = frozenset({Result.BUSY, Result.NO_CARRIER, Result.NO_ANSWER})


class LineType(Enum):
    TONE = "tone"
    PULSE = "pulse"

    @property
    def modifier(self) -> str:
        return "T" if self is LineType.TONE else "P"


@dataclass(frozen=True)
class DialSettings:
    """What the console stores, plus the timing of the title's dialling code."""

    numbers: tuple[str, ...]
    line_type: LineType = LineType.TONE
    outside_prefix: str = ""  # "dial 0 for an outside line", e.g. "0,"
    init: str = "AT&F0"  # the stored AT command string, sent before every dial
    redial_interval: float = RULES.redial_min
    give_up_after: float = RULES.give_up_after
    # How long a title waits for the modem: unknown for every title, so parameters.
    command_timeout: float = 5.0
    dial_timeout: float = 150.0  # the JATE rule opens the loop within 2 min of dialling
    escape_guard: float = 1.2  # silence around +++ (the modem's S12 is 1 s by default)

    def __post_init__(self) -> None:
        if not 1 <= len(self.numbers) <= 3:
            raise ValueError(
                f"a console stores one to three access numbers, got {len(self.numbers)}"
            )
        for text in (self.init, self.outside_prefix, *self.numbers):
            if any(c in text for c in "\r\n;"):
                raise ValueError(f"{text!r}: a stored setting may not contain CR, LF or ';'")
        if not self.init.upper().startswith("AT"):
            raise ValueError(f"the stored AT command string {self.init!r} does not start with AT")

    def dial_string(self, number: str) -> str:
        return f"ATD{self.line_type.modifier}{self.outside_prefix}{number}"


class State(Enum):
    IDLE = "idle"
    INIT = "init"  # the stored AT string was sent; waiting for OK
    DIALLING = "dialling"  # ATD was sent; waiting for the call's result
    ABORTING = "aborting"  # a key was sent to stop the dial; waiting for its result
    WAITING = "waiting"  # between two attempts
    ONLINE = "online"  # data mode: the bytes belong to PPP
    ESCAPE_BEFORE = "escape-before"  # guard time before +++
    ESCAPE_AFTER = "escape-after"  # +++ sent; guard time, then OK
    HANGING_UP = "hanging-up"  # ATH0 sent; waiting for OK
    DONE = "done"


# --- events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandSent:
    line: str


@dataclass(frozen=True, slots=True)
class Dialling:
    attempt: int  # 1-based across the whole run
    number: str
    dial_string: str


@dataclass(frozen=True, slots=True)
class AttemptFailed:
    attempt: int
    number: str
    result: Result
    text: str  # the result as the modem showed it
    cause: Cause


@dataclass(frozen=True, slots=True)
class Connected:
    number: str
    rate: int | None
    text: str
    leftover: bytes  # bytes after the CONNECT line: the start of the PPP stream


@dataclass(frozen=True, slots=True)
class DialFailed:
    """No connection: the cause the console shows and why."""

    cause: Cause
    detail: str


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The user (or a reset) stopped dialling; nothing is shown."""


@dataclass(frozen=True, slots=True)
class HungUp:
    clean: bool  # False: the modem did not confirm; the edge should drop DTR (close)
    detail: str


DialEvent = CommandSent | Dialling | AttemptFailed | Connected | DialFailed | Cancelled | HungUp


def parse_result(line: str) -> tuple[Result, int | None] | None:
    """A result line in verbal or numeric form, or None if the line is not a result."""
    text = line.strip()
    if text.isdigit():
        code = int(text)
        if code in _CONNECT_RATES:
            return Result.CONNECT, _CONNECT_RATES[code]
        try:
            return Result(code), None
        except ValueError:
            return None
    upper = text.upper()
    if upper.startswith("CONNECT"):
        rest = upper[len("CONNECT") :].strip().split("/")[0].split(" ")[0]
        return Result.CONNECT, int(rest) if rest.isdigit() else None
    result = _VERBAL.get(upper)
    return (result, None) if result is not None else None


class Dialler:
    """Dial the stored numbers until one connects, as a Dreamcast title does."""

    def __init__(self, settings: DialSettings) -> None:
        self.settings = settings
        self.state = State.IDLE
        self.attempt = 0
        self.number_index = 0
        self.first_dial: float | None = None
        self.connected: Connected | None = None
        self.failure: DialFailed | None = None
        self._buffer = bytearray()
        self._out = bytearray()
        self._events: list[DialEvent] = []
        self._deadline: float | None = None
        self._after_init = "dial"
        self._abort_for_timeout = False  # ABORTING because the dial took too long
        self._abort_keys = 0

    # --- the core interface ------------------------------------------------------------

    def start(self, now: float) -> None:
        """Begin: send the stored AT command string, then dial the first number."""
        if self.state is not State.IDLE:
            raise RuntimeError(f"the dialler has already started ({self.state.value})")
        self._init(now)

    def receive_data(self, data: bytes, now: float) -> None:
        if self.state in (State.ONLINE, State.DONE, State.IDLE):
            return
        if not data:
            self._fail(now, Cause.NO_PHYSICAL_CONNECTION, "the modem went away")
            return
        self._buffer += data
        while self.state not in (State.ONLINE, State.DONE):
            line = self._next_line()
            if line is None:
                break
            self._line(line, now)
        if len(self._buffer) > MAX_LINE:
            del self._buffer[:-MAX_LINE]

    def handle_timer(self, now: float) -> None:
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        state = self.state
        if state is State.WAITING:
            self._init(now)
        elif state is State.INIT:
            self._fail(now, Cause.NO_PHYSICAL_CONNECTION, "no modem answers the AT command string")
        elif state is State.DIALLING:
            self._abort(now, for_timeout=True)
        elif state is State.ABORTING:
            if self._abort_keys >= ABORT_KEYS:
                self._fail(now, Cause.NO_PHYSICAL_CONNECTION, "the modem does not stop dialling")
            else:  # the key may have come inside the modem's 125 ms after the command
                self._abort(now, for_timeout=self._abort_for_timeout)
        elif state is State.ESCAPE_BEFORE:
            self._out += b"+++"
            self.state = State.ESCAPE_AFTER
            self._deadline = now + self.settings.escape_guard + self.settings.command_timeout
        elif state is State.ESCAPE_AFTER:
            self._finish_hangup(False, "the modem did not leave data mode after +++")
        elif state is State.HANGING_UP:
            self._finish_hangup(False, "the modem did not confirm ATH0")

    def events(self) -> Iterator[DialEvent]:
        events, self._events = self._events, []
        return iter(events)

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def deadline(self) -> float | None:
        return self._deadline

    # --- what the user (or the title) does ---------------------------------------------

    def cancel(self, now: float) -> None:
        """The user cancels dialling (or the console is reset while dialling)."""
        if self.state in (State.INIT, State.WAITING):
            self._deadline = None
            self._done(Cancelled())
        elif self.state is State.DIALLING:
            self._abort(now, for_timeout=False)
        elif self.state is State.ONLINE:
            self.hang_up(now)

    def hang_up(self, now: float) -> None:
        """Leave data mode with +++ between guard times, then ATH0."""
        if self.state is not State.ONLINE:
            self.cancel(now)
            return
        self._buffer.clear()
        self.state = State.ESCAPE_BEFORE
        self._deadline = now + self.settings.escape_guard

    # --- internals -----------------------------------------------------------------------

    def _abort(self, now: float, *, for_timeout: bool) -> None:
        """Send a key: a dialling modem stops and answers NO CARRIER."""
        if self.state is not State.ABORTING:
            self._abort_keys = 0
        self._out += b"\r"
        self._abort_keys += 1
        self._abort_for_timeout = for_timeout
        self.state = State.ABORTING
        self._deadline = now + ABORT_RETRY

    def _init(self, now: float) -> None:
        self._send(self.settings.init, now)
        self.state = State.INIT
        self._deadline = now + self.settings.command_timeout

    def _dial(self, now: float) -> None:
        settings = self.settings
        number = settings.numbers[self.number_index]
        self.attempt += 1
        if self.first_dial is None:
            self.first_dial = now
        text = settings.dial_string(number)
        self._events.append(Dialling(self.attempt, number, text))
        self._send(text, now)
        self.state = State.DIALLING
        self._deadline = now + settings.dial_timeout

    def _send(self, line: str, now: float) -> None:
        self._events.append(CommandSent(line))
        self._out += line.encode("ascii", "replace") + b"\r"

    def _next_line(self) -> bytearray | None:
        buf = self._buffer
        for i, byte in enumerate(buf):
            if byte in (13, 10):
                line = buf[:i]
                end = i + 1
                if byte == 13 and end < len(buf) and buf[end] == 10:
                    end += 1
                del buf[:end]
                return line
        return None

    def _line(self, raw: bytearray, now: float) -> None:
        text = raw.decode("ascii", "replace").strip()
        if not text or text.upper().startswith("AT") or text == "+++":
            return  # a blank line or our own command echoed
        parsed = parse_result(text)
        if parsed is None:
            return  # identification text and the like
        result, rate = parsed
        state = self.state
        if state is State.INIT:
            if result is Result.OK:
                self._dial(now)
            else:
                self._fail(
                    now,
                    Cause.NO_PHYSICAL_CONNECTION,
                    f"the modem answered {text} to the stored AT command string",
                )
        elif state is State.DIALLING:
            self._dial_result(result, rate, text, now)
        elif state is State.ABORTING:
            if result is Result.CONNECT:  # too late to stop it: hang up properly
                self.state = State.ONLINE
                self.hang_up(now)
            elif self._abort_for_timeout:
                number = self.settings.numbers[self.number_index]
                self._attempt_failed(Result.NO_ANSWER, "no result in time", number, now)
            else:
                self._deadline = None
                self._done(Cancelled())
        elif state is State.ESCAPE_AFTER:
            if result is Result.OK:
                self._send("ATH0", now)
                self.state = State.HANGING_UP
                self._deadline = now + self.settings.command_timeout
        elif state is State.HANGING_UP and result in (Result.OK, Result.NO_CARRIER):
            self._finish_hangup(True, "ATH0 answered " + text)

    def _dial_result(self, result: Result, rate: int | None, text: str, now: float) -> None:
        number = self.settings.numbers[self.number_index]
        if result is Result.CONNECT:
            self._deadline = None
            self.state = State.ONLINE
            leftover = bytes(self._buffer)
            self._buffer.clear()
            self.connected = Connected(number, rate, text, leftover)
            self._events.append(self.connected)
        elif result in _TRY_NEXT:
            self._attempt_failed(result, text, number, now)
        elif result in DIAL_CAUSES:  # no dial tone, the redial restriction
            self._events.append(
                AttemptFailed(self.attempt, number, result, text, DIAL_CAUSES[result])
            )
            self._fail(now, DIAL_CAUSES[result], f"{text} dialling {number}")
        elif result is Result.ERROR:
            self._fail(
                now,
                Cause.NO_PHYSICAL_CONNECTION,
                f"the modem answered ERROR to {self.settings.dial_string(number)}",
            )
        # OK and RING are not the end of a dial

    def _attempt_failed(self, result: Result, text: str, number: str, now: float) -> None:
        cause = DIAL_CAUSES.get(result, Cause.SERVER_DOWN)
        failed = AttemptFailed(self.attempt, number, result, text, cause)
        self._last_failure = failed
        self._events.append(failed)
        settings = self.settings
        self.number_index = (self.number_index + 1) % len(settings.numbers)
        first = self.first_dial if self.first_dial is not None else now
        if now + settings.redial_interval - first > settings.give_up_after:
            self._fail(
                now,
                cause,
                f"gave up after {now - first:.0f} s and {self.attempt} attempts; "
                f"last: {text} dialling {number}",
            )
            return
        self.state = State.WAITING
        self._deadline = now + settings.redial_interval

    def _fail(self, now: float, cause: Cause, detail: str) -> None:
        self._deadline = None
        self.failure = DialFailed(cause, detail)
        self._done(self.failure)

    def _finish_hangup(self, clean: bool, detail: str) -> None:
        self._deadline = None
        self._done(HungUp(clean, detail))

    def _done(self, event: DialEvent) -> None:
        self.state = State.DONE
        self._events.append(event)
