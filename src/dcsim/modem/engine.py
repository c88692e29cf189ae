"""The AT engine: a sans-IO Hayes modem on a simulated telephone line.

Bytes from the console (the DTE) and the current time go in; bytes for the console,
events and the next deadline come out (docs/developing.md, "The shape of a protocol
core"). The engine never reads a clock: dialling at 10 pps, training, guard times and
line pacing are all deadlines, so a whole call runs under ``task.Clock``.

Modes: COMMAND (on or off hook, reading AT lines), DIALLING (a planned call attempt, see
:mod:`dcsim.modem.dialling`), ONLINE (data mode: bytes flow to the far end at the line
rate) and ONLINE_COMMAND (after ``+++`` or a DTR drop under &D1; the call stays up).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from dcsim.causes import Cause
from dcsim.modem import dialling, dialstring
from dcsim.modem.calllog import CallRecord, Hangup, Party, ResultEntry
from dcsim.modem.commands import Command, CommandError, tokenize
from dcsim.modem.line import DialledDigit, Exchange, FarEnd, LineProfile, PhoneBook, Route
from dcsim.modem.pacer import Pacer
from dcsim.modem.redial import RedialLimiter
from dcsim.modem.registers import CARRIERS, REGISTERS, SETTINGS, TRANSMIT_LIMIT, Config
from dcsim.modem.results import Result, connect_text, format_result, shown

MAX_LINE = 255  # characters of a command line (V.250 asks for at least 40)
ABORT_IGNORE = 0.125  # s after a command's terminator in which characters do not abort (V.25ter)
BUFFER_LIMIT = 64 * 1024  # bytes queued per direction before the modem's buffer overruns
XON, XOFF = 0x11, 0x13
STORED_PROFILES = 2
STORED_NUMBERS = 4

IDENTIFICATION = {
    0: "{rate}",
    1: "255",
    2: "OK",
    3: "dcsim fake Hayes modem",
    4: "line profile {line}: {description}",
    5: "{line}",
    6: "dcsim AT engine, V.250 command set",
    7: "no options",
    8: "dial methods {accepts}",
    9: "no plug and play identifier",
}


class Mode(Enum):
    COMMAND = "command"
    DIALLING = "dialling"
    ONLINE = "online"
    ONLINE_COMMAND = "online_command"
    CLOSED = "closed"


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandReceived:
    line: str  # the text after AT


@dataclass(frozen=True, slots=True)
class DialStarted:
    """A dial attempt began: what was dialled, and when training will start if it
    connects (seconds after now; None when the attempt will not connect)."""

    dial_string: str
    training_in: float | None


@dataclass(frozen=True, slots=True)
class CallConnected:
    number: str
    answerer: str
    rate: int
    transmit_rate: int


@dataclass(frozen=True, slots=True)
class LineData:
    data: bytes  # console -> far end, released at the line rate


@dataclass(frozen=True, slots=True)
class CallEnded:
    hangup: Hangup
    by: Party


@dataclass(frozen=True, slots=True)
class CallLogged:
    record: CallRecord


@dataclass(frozen=True, slots=True)
class StoreChanged:
    store: Stored


@dataclass(frozen=True, slots=True)
class DcdChanged:
    on: bool


Event = (
    CommandReceived
    | DialStarted
    | CallConnected
    | LineData
    | CallEnded
    | CallLogged
    | StoreChanged
    | DcdChanged
)


@dataclass(frozen=True, slots=True)
class Stored:
    """What survives a power cycle: two profiles (&W), the power-up choice (&Y), &Z numbers."""

    profiles: tuple[dict | None, ...] = (None,) * STORED_PROFILES
    power_up: int = 0
    numbers: tuple[str, ...] = ("",) * STORED_NUMBERS


# --- the call in progress ----------------------------------------------------------------


@dataclass
class _Call:
    t_dial: float
    dial_string: str
    key: str  # what the redial restriction counts: the digits of the first dial
    plan: dialling.Plan | None = None
    t_plan: float = 0.0  # when the running plan started
    dial_duration: float = 0.0
    digits: tuple[DialledDigit, ...] = ()
    route: Route | None = None
    results: list[ResultEntry] = field(default_factory=list)
    rate: int | None = None
    transmit_rate: int | None = None
    t_connect: float | None = None
    bytes_sent: int = 0
    bytes_received: int = 0
    attached: bool = False  # an answerer takes the call's data


_DEADLINE_NAMES = ("plan", "escape", "idle", "max", "inactivity", "drop", "far_end", "no_carrier")


class AtEngine:
    """One modem on one line. See the module docstring."""

    def __init__(
        self,
        line: LineProfile,
        book: PhoneBook | None = None,
        *,
        name: str = "modem",
        default_answerer: str = "echo",
        stored: Stored | None = None,
        dte_rate: int = 115200,
        unknown_commands: str = "error",
    ) -> None:
        self.line = line
        self.name = name
        self.default_answerer = default_answerer
        self.dte_rate = dte_rate
        self.unknown_ok = unknown_commands == "ok"
        self.exchange = Exchange(line, book or PhoneBook())
        self.limiter = RedialLimiter(line.redial)
        self.stored = stored or Stored()
        self.factory = self._factory_config()
        self.cfg = self._profile(self.stored.power_up)
        self.mode = Mode.COMMAND
        self.off_hook = False
        self.dtr = True
        self.dcd = self.cfg.dcd_mode == 0
        self._out = bytearray()
        self._events: list[Event] = []
        self._calls = 0
        self._call: _Call | None = None
        self._answering = False  # A: waiting S7 for a caller that never comes
        self._last_line = ""
        self._last_dial: str | None = None
        self._cmd_end = float("-inf")
        # command-line discipline
        self._state = 0  # 0 waiting for A, 1 waiting for T, 2 reading the line
        self._buf: list[str] = []
        self._overflow = False
        # data mode
        self._up: Pacer | None = None
        self._down: Pacer | None = None
        self._last_rx = 0.0
        self._last_activity = 0.0
        self._plus = 0
        self._xoff = False
        self._far_closing: tuple[Hangup, Party] | None = None
        self._carrier = False
        self._deadlines: dict[str, float] = {}

    # --- the core interface ------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the console; ``b""`` means the console went away."""
        if self.mode is Mode.CLOSED:
            return
        if not data:
            self._hang_up(now, Hangup.DTE_GONE, Party.DTE, result=None)
            self.mode = Mode.CLOSED
            self._out.clear()
            self._deadlines.clear()
            return
        if self.mode is Mode.ONLINE:
            self._online_data(data, now)
        elif self.mode is Mode.DIALLING:
            self._dialling_data(data, now)
        else:
            self._command_data(data, now)

    def handle_timer(self, now: float) -> None:
        due = [k for k, t in self._deadlines.items() if t <= now + 1e-9]
        for name in _DEADLINE_NAMES:
            if name in due and self._deadlines.get(name, float("inf")) <= now + 1e-9:
                del self._deadlines[name]
                getattr(self, f"_on_{name}")(now)
        if self.mode in (Mode.ONLINE, Mode.ONLINE_COMMAND):
            self._pump_line(now)

    def events(self) -> Iterator[Event]:
        events, self._events = self._events, []
        return iter(events)

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def deadline(self) -> float | None:
        times = list(self._deadlines.values())
        if self._up is not None and (t := self._up.deadline()) is not None:
            times.append(t)
        down = self._down
        t = down.deadline() if down is not None and self.mode is Mode.ONLINE else None
        if t is not None and not self._xoff:
            times.append(t)
        return min(times) if times else None

    def queued(self) -> tuple[int, int]:
        """Bytes waiting on the line: (console -> far end, far end -> console)."""
        return (len(self._up) if self._up else 0, len(self._down) if self._down else 0)

    # --- inputs from the line and the transport ---------------------------------------

    def send_to_dte(self, data: bytes, now: float) -> None:
        """Bytes from the far end, delivered to the console at the line rate."""
        if self._down is None or self._far_closing is not None or not data:
            return
        self._down.push(data, now)
        self._last_activity = now
        self._rearm_activity()

    def far_end_hangup(self, now: float) -> None:
        """The answerer hung up: the console gets what was sent, then NO CARRIER."""
        if (
            self._call is not None
            and self._call.t_connect is not None
            and self._far_closing is None
        ):
            self._close_from_far(now, Hangup.FAR_END, Party.FAR_END, drain=True)

    def carrier_lost(self, now: float) -> None:
        """A line fault: the carrier goes at once, queued data is lost."""
        if (
            self._call is not None
            and self._call.t_connect is not None
            and self._far_closing is None
        ):
            self._close_from_far(now, Hangup.CARRIER_LOST, Party.NETWORK, drain=False)

    def set_dtr(self, on: bool, now: float) -> None:
        """The console's DTR line changed (transports that have one)."""
        if on == self.dtr:
            return
        self.dtr = on
        if on or self.cfg.dtr_mode == 0:
            return
        if self.cfg.dtr_mode == 1:
            if self.mode is Mode.ONLINE:
                self._enter_online_command()
            return
        busy = self._call is not None or self._answering or self.off_hook
        if busy:
            self._hang_up(now, Hangup.DTR_DROP, Party.DTE, result=Result.NO_CARRIER)
        if self.cfg.dtr_mode == 3:
            self.cfg = self._profile(self.stored.power_up)
            self._update_dcd()

    # --- command mode -------------------------------------------------------------------

    def _command_data(self, data: bytes, now: float) -> None:
        sregs = self.cfg.sregs
        for i, b in enumerate(data):
            if self.mode is not Mode.COMMAND and self.mode is not Mode.ONLINE_COMMAND:
                # a command started a dial or went online: the rest is for that mode
                self.receive_data(data[i:], now)
                return
            if self.cfg.echo:
                self._out.append(b)
            c = chr(b & 0x7F)
            if self._state == 0:
                if c in "Aa":
                    self._state = 1
            elif self._state == 1:
                if c in "Tt":
                    self._state, self._buf, self._overflow = 2, [], False
                elif c == "/":
                    self._state = 0
                    self._cmd_end = now
                    self._execute(self._last_line, now)
                elif c not in "Aa":
                    self._state = 0
            elif ord(c) == sregs[3]:
                self._state = 0
                self._cmd_end = now
                text = "".join(self._buf)
                if self._overflow:
                    self._final(Result.ERROR)
                else:
                    self._last_line = text
                    self._execute(text, now)
            elif ord(c) == sregs[5]:
                if self._buf:
                    self._buf.pop()
                else:
                    self._state = 1
            elif c < " " or c == "\x7f":
                pass
            elif len(self._buf) < MAX_LINE:
                self._buf.append(c)
            else:
                self._overflow = True

    def _execute(self, text: str, now: float) -> None:
        self._events.append(CommandReceived(text))
        info: list[str] = []
        try:
            commands = tokenize(text)
        except CommandError:
            self._final(Result.ERROR)
            return
        for cmd in commands:
            if cmd.name in SETTINGS:
                handler = AtEngine._set
            elif cmd.name.startswith("+"):
                handler = _EXTENDED.get(cmd.name)
            else:
                handler = _HANDLERS.get(cmd.name)
            try:
                if handler is None:
                    if not self.unknown_ok:
                        raise CommandError(f"unknown command {cmd.name}")
                    continue
                outcome = handler(self, cmd, now, info)
            except CommandError:
                self._info(info)
                self._final(Result.ERROR)
                return
            if outcome is _STOP:  # the command answers later (D, A, O) or ends the line (Z)
                self._info(info)
                return
        self._info(info)
        self._final(Result.OK)

    def _set(self, cmd: Command, now: float, info: list[str]) -> None:
        attr, allowed = SETTINGS[cmd.name]
        value = cmd.number or 0
        if value not in allowed:
            raise CommandError(f"{cmd.name}{value} not supported")
        setattr(self.cfg, attr, value)
        if cmd.name == "&C":
            self._update_dcd()

    def _cmd_s(self, cmd: Command, now: float, info: list[str]) -> None:
        n = cmd.number
        if n not in REGISTERS:
            raise CommandError(f"no register S{n}")
        if cmd.op == "?":
            info.append(f"{self.cfg.sregs[n]:03d}")
            return
        value = int(cmd.text)
        low, high = self.line.register_range(n)
        if REGISTERS[n].readonly or not low <= value <= high:
            raise CommandError(f"S{n}={value} not allowed")
        self.cfg.sregs[n] = value

    def _cmd_d(self, cmd: Command, now: float, info: list[str]) -> object:
        if self.mode is Mode.ONLINE_COMMAND:
            raise CommandError("a call is up")
        try:
            dial = dialstring.parse(cmd.text, self.cfg.tone, self._last_dial, self.stored.numbers)
        except dialstring.DialError as e:
            raise CommandError(str(e)) from None
        self._last_dial = dial.text
        self.cfg.tone = dial.tone
        if self._call is None:
            self._calls += 1
            key = dial.digits
            self._call = _Call(now, dial.text, key)
            refused = self.limiter.check(key, now)
            if refused is not None:
                self._call.digits = dialling.dialled(dial, self.cfg)
                self._call.route = Route(FarEnd.NOWHERE, None, None, "refused: redial restriction")
                self._hang_up(now, Hangup.REFUSED, Party.MODEM, result=refused, far_end="refused")
                return _STOP
        else:
            self._call.dial_string += dial.text
        call = self._call
        call.plan = dialling.plan(
            dial, self.cfg, self.line, self.exchange, off_hook=self.off_hook, earlier=call.digits
        )
        call.t_plan = now
        self.off_hook = True
        self.mode = Mode.DIALLING
        self._deadlines["plan"] = now + call.plan.outcome_time
        connects = call.plan.result is Result.CONNECT
        training_in = max(0.0, call.plan.outcome_time - self.line.training) if connects else None
        self._events.append(DialStarted(call.dial_string, training_in))
        return _STOP

    def _cmd_a(self, cmd: Command, now: float, info: list[str]) -> object:
        if self.mode is Mode.ONLINE_COMMAND:
            raise CommandError("a call is up")
        self._answering = True
        self.off_hook = True
        self.mode = Mode.DIALLING
        self._deadlines["plan"] = now + self.cfg.sregs[7]
        return _STOP

    def _cmd_h(self, cmd: Command, now: float, info: list[str]) -> None:
        if (cmd.number or 0) == 0:
            self._hang_up(now, Hangup.DTE_COMMAND, Party.DTE, result=None)
        elif cmd.number == 1:
            self.off_hook = True
        else:
            raise CommandError("H0 or H1")

    def _cmd_o(self, cmd: Command, now: float, info: list[str]) -> object:
        if self.mode is not Mode.ONLINE_COMMAND or cmd.number not in (None, 0, 1):
            raise CommandError("no call to return to")
        self._info(info)
        info.clear()
        self._go_online(now, retrain=False)
        return _STOP

    def _cmd_z(self, cmd: Command, now: float, info: list[str]) -> object:
        n = cmd.number or 0
        if n >= STORED_PROFILES:
            raise CommandError("Z0 or Z1")
        self._hang_up(now, Hangup.DTE_COMMAND, Party.DTE, result=None)
        self.cfg = self._profile(n)
        self._update_dcd()
        self._final(Result.OK)
        return _STOP

    def _cmd_i(self, cmd: Command, now: float, info: list[str]) -> None:
        template = IDENTIFICATION.get(cmd.number or 0)
        if template is None:
            raise CommandError("I0 to I9")
        accepts = ", ".join(sorted(self.line.accepted))
        info.append(
            template.format(
                rate=self.line.rate,
                line=self.line.name,
                description=self.line.description,
                accepts=accepts,
            )
        )

    def _cmd_method(self, cmd: Command, now: float, info: list[str]) -> None:
        self.cfg.tone = cmd.name == "T"

    def _cmd_f(self, cmd: Command, now: float, info: list[str]) -> None:
        if cmd.number not in (None, 0):
            raise CommandError("&F0 only")
        self.cfg = self.factory.copy()
        self._update_dcd()

    def _cmd_w(self, cmd: Command, now: float, info: list[str]) -> None:
        n = cmd.number or 0
        if n >= STORED_PROFILES:
            raise CommandError("&W0 or &W1")
        profiles = list(self.stored.profiles)
        profiles[n] = self.cfg.to_json()
        self._store(Stored(tuple(profiles), self.stored.power_up, self.stored.numbers))

    def _cmd_y(self, cmd: Command, now: float, info: list[str]) -> None:
        n = cmd.number or 0
        if n >= STORED_PROFILES:
            raise CommandError("&Y0 or &Y1")
        self._store(Stored(self.stored.profiles, n, self.stored.numbers))

    def _cmd_z_number(self, cmd: Command, now: float, info: list[str]) -> object:
        n = cmd.number or 0
        if n >= STORED_NUMBERS or len(cmd.text) > 40:
            raise CommandError("&Z0 to &Z3, 40 characters")
        numbers = list(self.stored.numbers)
        numbers[n] = cmd.text.strip()
        self._store(Stored(self.stored.profiles, self.stored.power_up, tuple(numbers)))
        return None

    def _cmd_v(self, cmd: Command, now: float, info: list[str]) -> None:
        if cmd.number not in (None, 0):
            raise CommandError("&V0 only")
        info.append("ACTIVE PROFILE:")
        info.extend(_describe(self.cfg))
        for n, data in enumerate(self.stored.profiles):
            info.append(f"STORED PROFILE {n}:")
            info.extend(_describe(Config.from_json(data, self.factory)) if data else ["(factory)"])
        info.append("TELEPHONE NUMBERS:")
        info.extend(f"&Z{n}={number}" for n, number in enumerate(self.stored.numbers))

    def _cmd_ms(self, cmd: Command, now: float, info: list[str]) -> None:
        cfg = self.cfg
        if cmd.op == "?":
            tx = min(cfg.max_rx, TRANSMIT_LIMIT)
            info.append(
                f"+MS: {cfg.carrier},{cfg.automode},{cfg.min_rx},{tx},{cfg.min_rx},{cfg.max_rx}"
            )
            return
        if cmd.op == "=?":
            info.append(
                f"+MS: ({','.join(CARRIERS)}),(0,1),(300-33600),(300-33600),(300-56000),(300-56000)"
            )
            return
        if cmd.op != "=":
            raise CommandError("+MS needs =, ? or =?")
        fields = [f.strip().upper() for f in cmd.text.split(",")]
        carrier = fields[0] or cfg.carrier
        if carrier not in CARRIERS:
            raise CommandError(f"unknown carrier {carrier}")
        numbers = []
        for f in fields[1:6]:
            if f and not (f.isascii() and f.isdigit()):
                raise CommandError("+MS takes numbers after the carrier")
            numbers.append(int(f) if f else None)
        numbers += [None] * (5 - len(numbers))
        automode, min_tx, max_tx, min_rx, max_rx = numbers
        if automode not in (None, 0, 1):
            raise CommandError("automode is 0 or 1")
        low = min_rx if min_rx is not None else min_tx
        high = max_rx if max_rx is not None else max_tx
        low = cfg.min_rx if low is None else low
        high = CARRIERS[carrier] if high is None else high
        if not 300 <= low <= high <= 56000:
            raise CommandError("rates out of range")
        cfg.carrier, cfg.min_rx, cfg.max_rx = carrier, low, high
        if automode is not None:
            cfg.automode = automode

    def _cmd_fclass(self, cmd: Command, now: float, info: list[str]) -> None:
        if cmd.op in ("?", "=?"):
            info.append("0")
        elif cmd.op != "=" or cmd.text != "0":
            raise CommandError("only data mode (+FCLASS=0): fax and voice are not emulated")

    # --- dialling -----------------------------------------------------------------------

    def _dialling_data(self, data: bytes, now: float) -> None:
        if now - self._cmd_end < ABORT_IGNORE or all(b in (0, 10) for b in data):
            return
        self._hang_up(now, Hangup.DTE_ABORT, Party.DTE, result=Result.NO_CARRIER)

    def _on_plan(self, now: float) -> None:
        if self._answering:
            self._hang_up(now, Hangup.NO_ANSWER, Party.MODEM, result=Result.NO_CARRIER)
            return
        call = self._call
        assert call is not None and call.plan is not None
        plan = call.plan
        call.digits = plan.digits
        call.route = plan.route or call.route
        call.dial_duration += plan.dial_time
        if plan.result is Result.OK:  # the dial string ended with ;
            self.mode = Mode.COMMAND
            self._final(Result.OK, now, call)
            return
        if plan.result is not Result.CONNECT:
            if plan.hangup is not Hangup.NO_DIALTONE:
                self.limiter.failed(call.key, call.t_dial)
            party = (
                Party.NETWORK if plan.hangup in (Hangup.BUSY, Hangup.NO_DIALTONE) else Party.MODEM
            )
            self._hang_up(now, plan.hangup or Hangup.NO_CARRIER, party, result=plan.result)
            return
        self.limiter.connected(call.key)
        call.rate, call.transmit_rate, call.t_connect = plan.rate, plan.transmit_rate, now
        bits = 10 if self.cfg.ec < 2 else 8  # start/stop bits on the line without V.42
        assert plan.rate is not None and plan.transmit_rate is not None
        self._down = Pacer(plan.rate / bits, BUFFER_LIMIT)
        self._up = Pacer(plan.transmit_rate / bits, BUFFER_LIMIT)
        self._last_activity = now
        route = plan.route
        assert route is not None and route.entry is not None and route.number is not None
        if route.far_end is FarEnd.SERVER_DOWN:
            self._deadlines["far_end"] = now + self.line.server_down_hangup
        else:
            call.attached = True
            answerer = route.entry.answerer or self.default_answerer
            self._events.append(
                CallConnected(route.number, answerer, plan.rate, plan.transmit_rate)
            )
        if route.entry.drop_after:
            self._deadlines["drop"] = now + route.entry.drop_after
        if self.line.max_duration:
            self._deadlines["max"] = now + self.line.max_duration
        self._go_online(now, retrain=True)

    def _go_online(self, now: float, *, retrain: bool) -> None:
        call = self._call
        assert call is not None and call.rate is not None
        cfg = self.cfg
        lines: list[str] = []
        if cfg.wmode == 1 and cfg.xlevel > 0 and cfg.verbose:
            lines = [
                f"CARRIER {call.rate}",
                "PROTOCOL: " + ("LAP-M" if cfg.ec >= 2 else "NONE"),
                "COMPRESSION: " + ("V.42BIS" if cfg.compression and cfg.ec >= 2 else "NONE"),
            ]
        rate = call.rate if cfg.wmode == 2 else self.dte_rate
        code, text = connect_text(rate, cfg.xlevel)
        call.results.append(ResultEntry(now, f"CONNECT {call.rate}", None if cfg.quiet else text))
        if not cfg.quiet:
            for extra in lines:
                self._emit_text(0, extra)
            self._emit_text(code, text)
        self.mode = Mode.ONLINE
        self._carrier = True
        self._last_rx = now
        self._plus = 0
        self._update_dcd()
        self._rearm_activity()

    # --- data mode ----------------------------------------------------------------------

    def _online_data(self, data: bytes, now: float) -> None:
        assert self._up is not None
        s2 = self.cfg.sregs[2]
        guard = self.cfg.sregs[12] / 50
        flow = self.cfg.flow
        if flow in (4, 5, 6) and (XON in data or XOFF in data):
            for b in data:
                if b == XOFF:
                    self._xoff = True
                elif b == XON:
                    self._xoff = False
            if flow != 5:
                data = bytes(b for b in data if b not in (XON, XOFF))
        for b in data:
            if (
                s2 <= 127
                and b == s2
                and (
                    (self._plus == 0 and now - self._last_rx >= guard)
                    or (0 < self._plus < 3 and now - self._last_rx <= guard)
                )
            ):
                self._plus += 1
            else:
                self._plus = 0
            self._last_rx = now
        self._deadlines.pop("escape", None)
        if self._plus == 3:
            self._deadlines["escape"] = now + guard
        self._up.push(data, now)
        self._last_activity = now
        self._rearm_activity()
        if self._plus == 3 and guard == 0:
            self._on_escape(now)

    def _on_escape(self, now: float) -> None:
        self._deadlines.pop("escape", None)
        if self.mode is Mode.ONLINE and self._plus == 3:
            self._pump_line(now)
            self._enter_online_command()

    def _enter_online_command(self) -> None:
        self.mode = Mode.ONLINE_COMMAND
        self._plus = 0
        self._state = 0
        self._final(Result.OK)

    def _pump_line(self, now: float) -> None:
        call = self._call
        if call is None or self._up is None or self._down is None:
            return
        up = self._up.pull(now)
        if up:
            call.bytes_sent += len(up)
            if call.attached:
                self._events.append(LineData(up))
        if self.mode is Mode.ONLINE and not self._xoff:
            down = self._down.pull(now)
            if down:
                call.bytes_received += len(down)
                self._out += down
        closing = self._far_closing is not None and "no_carrier" not in self._deadlines
        if closing and (not self._down or self.mode is not Mode.ONLINE):
            self._deadlines["no_carrier"] = now + self.cfg.sregs[10] / 10
            self._carrier = False
            self._update_dcd()

    def _rearm_activity(self) -> None:
        if self.line.idle_timeout:
            self._deadlines["idle"] = self._last_activity + self.line.idle_timeout
        s30 = self.cfg.sregs[30]
        if s30:
            self._deadlines["inactivity"] = self._last_activity + s30 * 10

    def _on_idle(self, now: float) -> None:
        self._close_from_far(now, Hangup.IDLE, Party.NETWORK, drain=False)

    def _on_max(self, now: float) -> None:
        self._close_from_far(now, Hangup.MAX_DURATION, Party.NETWORK, drain=False)

    def _on_drop(self, now: float) -> None:
        self.carrier_lost(now)

    def _on_far_end(self, now: float) -> None:  # a server_down number gives up
        self._close_from_far(now, Hangup.FAR_END, Party.FAR_END, drain=False)

    def _on_inactivity(self, now: float) -> None:
        self._hang_up(now, Hangup.INACTIVITY, Party.MODEM, result=Result.NO_CARRIER)

    def _close_from_far(self, now: float, hangup: Hangup, party: Party, *, drain: bool) -> None:
        """The far end or the network drops the carrier; S10 later the modem gives up."""
        for name in ("idle", "max", "drop", "far_end", "inactivity", "escape"):
            self._deadlines.pop(name, None)
        self._far_closing = (hangup, party)
        if not drain and self._down is not None:
            self._down.clear()
        self._pump_line(now)

    def _on_no_carrier(self, now: float) -> None:
        assert self._far_closing is not None
        hangup, party = self._far_closing
        self._hang_up(now, hangup, party, result=Result.NO_CARRIER)

    # --- ending calls -------------------------------------------------------------------

    def _hang_up(
        self,
        now: float,
        hangup: Hangup,
        party: Party,
        *,
        result: Result | None,
        far_end: str | None = None,
    ) -> None:
        """End whatever is going on; report *result* (after X/Q) and log the call."""
        call, self._call = self._call, None
        running = set(self._deadlines)
        self._answering = False
        self.off_hook = False
        self._far_closing = None
        self._carrier = False
        self._deadlines.clear()
        self._up = self._down = None
        self._xoff = False
        self._plus = 0
        if self.mode is not Mode.CLOSED:
            self.mode = Mode.COMMAND
        self._state = 0
        if result is not None:
            self._final(result, now, call)
        self._update_dcd()
        if call is None:
            return
        if call.t_connect is not None:
            self._events.append(CallEnded(hangup, party))
        elif "plan" in running and call.plan is not None:  # cut short while dialling
            elapsed = now - call.t_plan
            call.dial_duration += min(elapsed, call.plan.dial_time)
            call.digits = call.plan.digits
            if elapsed >= call.plan.dial_time:
                self.limiter.failed(call.key, call.t_dial)
        self._events.append(CallLogged(self._record(call, now, hangup, party, far_end)))

    def _record(
        self, call: _Call, now: float, hangup: Hangup, party: Party, far_end: str | None
    ) -> CallRecord:
        digits = call.digits
        methods = {d.method for d in digits}
        method = None
        if methods:
            kinds = {"tone" if m == "tone" else "pulse" for m in methods}
            method = kinds.pop() if len(kinds) == 1 else "mixed"
        pps = sorted(int(m[5:]) for m in methods if m != "tone")
        route = call.route
        cause = _cause(hangup, route, self.line)
        return CallRecord(
            modem=self.name,
            call=self._calls,
            line=self.line.name,
            line_type=self.line.line_type,
            t_dial=call.t_dial,
            dial_string=call.dial_string,
            digits="".join(d.char for d in digits),
            number=route.number if route else None,
            method=method,
            pulse_pps=pps[0] if pps else None,
            dial_duration=round(call.dial_duration, 6),
            far_end=far_end or (route.far_end.value if route else "nowhere"),
            route=route.reason if route else "dialling did not finish",
            results=tuple(call.results),
            rate=call.rate,
            t_connect=call.t_connect,
            t_end=now,
            connected_seconds=round(now - call.t_connect, 6) if call.t_connect is not None else 0.0,
            bytes_sent=call.bytes_sent,
            bytes_received=call.bytes_received,
            hangup=hangup,
            hung_up_by=party,
            cause=int(cause) if cause else None,
            cause_text=cause.text if cause else None,
        )

    # --- output -------------------------------------------------------------------------

    def _final(self, result: Result, now: float = 0.0, call: _Call | None = None) -> None:
        cfg = self.cfg
        report = shown(result, cfg.xlevel)
        if call is not None:
            entry = ResultEntry(now, result.verbal, None if cfg.quiet else report.verbal)
            call.results.append(entry)
        if not cfg.quiet:
            self._emit_text(int(report), report.verbal)

    def _emit_text(self, code: int, text: str) -> None:
        s = self.cfg.sregs
        self._out += format_result(code, text, verbose=bool(self.cfg.verbose), cr=s[3], lf=s[4])

    def _info(self, info: list[str]) -> None:
        if not info:  # information text is sent even under Q1 (V.250 §6.2.5)
            return
        s = self.cfg.sregs
        crlf = bytes([s[3], s[4]])
        body = crlf.join(t.encode() for t in info) + crlf
        self._out += (crlf + body) if self.cfg.verbose else body

    def _update_dcd(self) -> None:
        on = self.cfg.dcd_mode == 0 or self._carrier
        if on != self.dcd:
            self.dcd = on
            self._events.append(DcdChanged(on))

    # --- profiles -----------------------------------------------------------------------

    def _factory_config(self) -> Config:
        cfg = Config(carrier=self.line.carrier, max_rx=CARRIERS[self.line.carrier])
        for key, value in self.line.defaults.items():
            setattr(cfg, SETTINGS[key][0], value)
        for key, rule in self.line.registers.items():
            if rule.default is not None:
                cfg.sregs[int(key[1:])] = rule.default
        return cfg

    def _profile(self, n: int) -> Config:
        data = self.stored.profiles[n] if n < len(self.stored.profiles) else None
        cfg = Config.from_json(data, self.factory) if data else self.factory.copy()
        for reg, value in cfg.sregs.items():
            low, high = self.line.register_range(reg)
            cfg.sregs[reg] = min(max(value, low), high)
        for attr, allowed in SETTINGS.values():
            if getattr(cfg, attr) not in allowed:
                setattr(cfg, attr, getattr(self.factory, attr))
        if cfg.carrier not in CARRIERS:
            cfg.carrier = self.factory.carrier
        return cfg

    def _store(self, stored: Stored) -> None:
        self.stored = stored
        self._events.append(StoreChanged(stored))


_STOP = object()


def _describe(cfg: Config) -> list[str]:
    method = "T" if cfg.tone else "P"
    flags = " ".join(f"{name}{getattr(cfg, attr)}" for name, (attr, _) in SETTINGS.items())
    regs = [f"S{n:02d}:{v:03d}" for n, v in sorted(cfg.sregs.items())]
    return [f"{flags} {method} +MS={cfg.carrier},{cfg.automode},{cfg.min_rx},{cfg.max_rx}"] + [
        " ".join(regs[i : i + 8]) for i in range(0, len(regs), 8)
    ]


_HANGUP_CAUSES: dict[Hangup, Cause] = {
    Hangup.NO_DIALTONE: Cause.CABLE_UNPLUGGED,
    Hangup.BUSY: Cause.BUSY,
    Hangup.REFUSED: Cause.REDIAL_RESTRICTION,
    Hangup.NO_ANSWER: Cause.SERVER_DOWN,
    Hangup.NO_CARRIER: Cause.SERVER_DOWN,
    Hangup.CARRIER_LOST: Cause.NO_PHYSICAL_CONNECTION,
    Hangup.IDLE: Cause.AUTOMATIC_DISCONNECT,
    Hangup.MAX_DURATION: Cause.AUTOMATIC_DISCONNECT,
    Hangup.INACTIVITY: Cause.AUTOMATIC_DISCONNECT,
}


def _cause(hangup: Hangup, route: Route | None, line: LineProfile) -> Cause | None:
    """Sega's cause for a call's end, where one applies (none when the console chose it)."""
    if hangup in (Hangup.DTE_COMMAND, Hangup.DTE_ABORT, Hangup.DTR_DROP, Hangup.DTE_GONE):
        return None
    if route is not None and route.far_end is FarEnd.BUSY:
        return Cause.BUSY
    if route is not None and route.far_end is FarEnd.NOWHERE and not line.dial_tone:
        return Cause.CABLE_UNPLUGGED
    if hangup is Hangup.FAR_END:
        return (
            Cause.SERVER_DOWN if route is not None and route.far_end is FarEnd.SERVER_DOWN else None
        )
    return _HANGUP_CAUSES.get(hangup)


_HANDLERS = {
    "S": AtEngine._cmd_s,
    "D": AtEngine._cmd_d,
    "A": AtEngine._cmd_a,
    "H": AtEngine._cmd_h,
    "O": AtEngine._cmd_o,
    "Z": AtEngine._cmd_z,
    "I": AtEngine._cmd_i,
    "T": AtEngine._cmd_method,
    "P": AtEngine._cmd_method,
    "&F": AtEngine._cmd_f,
    "&W": AtEngine._cmd_w,
    "&Y": AtEngine._cmd_y,
    "&Z": AtEngine._cmd_z_number,
    "&V": AtEngine._cmd_v,
}
_EXTENDED = {"+MS": AtEngine._cmd_ms, "+FCLASS": AtEngine._cmd_fclass}
