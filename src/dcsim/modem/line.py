"""The telephone line and the exchange behind it: line profiles, phone books, routing.

A line profile (``modem/jp.toml``, ``modem/us.toml``...) describes the subscriber's line
and the regional modem that sits on it: the contracted line type and the dial methods the
exchange recognises, dial tone, an outside-line prefix (PBX), call-progress timings, the
connect rates, idle and maximum call durations and the Japanese redial restriction.
A phone book maps numbers to answerers (the far end's service) and behaviours.

Timings that no source gives (answer delay, training, busy detection) are parameters;
their defaults are marked *inferred* in the profiles.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from dcsim import config
from dcsim.config import ConfigError, setting
from dcsim.modem.dialstring import TONE_DIGITS
from dcsim.modem.registers import REGISTERS, SETTINGS

Method = Literal["tone", "pulse10", "pulse20"]


@dataclass(frozen=True)
class RegisterRule:
    default: int | None = setting(None, "Default value in this region (unset: the modem's).")
    min: int | None = setting(None, "Lowest value the region allows.")
    max: int | None = setting(None, "Highest value the region allows.")


@dataclass(frozen=True)
class RedialRules:
    enabled: bool = setting(False, "Limit automatic redials of a number that failed.")
    max_redials: int = setting(2, "Redials allowed within the window after the first call.", min=0)
    window: float = setting(180.0, "Seconds from the first call of a series.", min=1)
    mode: Literal["delayed", "blacklisted"] = setting(
        "delayed",
        "delayed: refuse (DELAYED) until the window ends; blacklisted: refuse\n"
        "(BLACKLISTED) for the rest of the modem's session.",
    )


@dataclass(frozen=True)
class LineProfile:
    name: str = setting("generic", "Short name shown in logs and the call log.")
    description: str = setting("", "What this profile models.")
    line_type: Literal["tone", "pulse"] = setting(
        "tone", "The contracted line type (what the user should set on the console)."
    )
    accepts: list[Method] = setting(
        default_factory=list,
        doc="Dial methods the exchange recognises: tone, pulse10, pulse20.\n"
        "Empty: tone for a tone line, pulse10 and pulse20 for a pulse line.",
    )
    make_ratio_10pps: list[float] = setting(
        default_factory=lambda: [0.30, 0.45], doc="[min, max] make ratio recognised at 10 pps."
    )
    make_ratio_20pps: list[float] = setting(
        default_factory=lambda: [0.30, 0.45], doc="[min, max] make ratio recognised at 20 pps."
    )
    dial_tone: bool = setting(True, "false: no dial tone (the modular cable is unplugged).")
    outside_prefix: str = setting(
        "", "Digits a PBX needs before an outside number (empty: a direct line)."
    )
    dial_tone_detect: float = setting(
        1.0, "Seconds the modem takes to recognise dial tone (KOS notes: about 1 s).", min=0
    )
    interdigit_pause: float = setting(
        0.8, "Seconds between pulse-dialled digits (Multi-Tech: 800 ms).", min=0
    )
    busy_detect: float = setting(3.0, "Seconds of busy tone before BUSY (inferred).", min=0)
    answer_delay: float = setting(
        4.0, "Seconds of ringing before the far end answers (inferred).", min=0
    )
    training: float = setting(
        6.0, "Seconds of answer tone and modem training before CONNECT (inferred).", min=0
    )
    carrier: Literal["V32B", "V34", "V90", "K56"] = setting(
        "V34", "The regional modem's best modulation (its factory +MS setting)."
    )
    rate: int = setting(33600, "Line rate towards the console, bit/s.", min=300)
    transmit_rate: int = setting(33600, "Line rate from the console, bit/s.", min=300)
    idle_timeout: float = setting(
        0.0, "The ISP hangs up after this many seconds without data (0: never).", min=0
    )
    max_duration: float = setting(
        0.0, "The ISP hangs up a call after this many seconds (0: never).", min=0
    )
    server_down_hangup: float = setting(
        30.0, "A server_down number hangs up this many seconds after CONNECT.", min=0
    )
    redial: RedialRules = setting(default_factory=RedialRules, doc="Redial restriction.")
    registers: dict[str, RegisterRule] = setting(
        default_factory=dict, doc='Regional S-register rules, keyed "S6", "S7"...'
    )
    defaults: dict[str, int] = setting(
        default_factory=dict,
        doc='Factory settings of the regional modem, keyed by command: "&P" = 1, "W" = 2.',
    )

    def __post_init__(self) -> None:
        for name in ("make_ratio_10pps", "make_ratio_20pps"):
            low_high = getattr(self, name)
            if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1] <= 1:
                raise ValueError(f"{name}: expected [min, max] within [0, 1]")
        if any(c not in TONE_DIGITS for c in self.outside_prefix):
            raise ValueError("outside_prefix: expected digits 0-9 * # A-D")
        # Keys as register_range and the modem look them up: "s7" and "S07" become "S7".
        registers: dict[str, RegisterRule] = {}
        written: dict[int, str] = {}  # register -> its key as written, for the messages
        for key, rule in self.registers.items():
            digits = key[1:] if key[:1] in ("S", "s") else ""
            if not (digits.isascii() and digits.isdigit()) or int(digits) not in REGISTERS:
                known = ", ".join(f"S{r}" for r in REGISTERS)
                raise ValueError(f"registers.{key}: unknown register; known: {known}")
            n = int(digits)
            if n in written:
                raise ValueError(f"registers.{key}: the same register as {written[n]}")
            registers[f"S{n}"] = rule
            written[n] = key
        object.__setattr__(self, "registers", registers)
        for n, key in written.items():
            reg, rule = REGISTERS[n], registers[f"S{n}"]
            low, high = self.register_range(n)
            if not reg.low <= low <= high <= reg.high:
                raise ValueError(f"registers.{key}: range outside [{reg.low}, {reg.high}]")
            if rule.default is not None and not low <= rule.default <= high:
                raise ValueError(f"registers.{key}: default outside [{low}, {high}]")
        for key, value in self.defaults.items():
            if key not in SETTINGS:
                raise ValueError(f"defaults.{key}: unknown; known: {', '.join(SETTINGS)}")
            if value not in SETTINGS[key][1]:
                raise ValueError(f"defaults.{key}: {value} is not an allowed value")

    @property
    def accepted(self) -> frozenset[str]:
        if self.accepts:
            return frozenset(self.accepts)
        return frozenset({"tone"} if self.line_type == "tone" else {"pulse10", "pulse20"})

    def register_range(self, n: int) -> tuple[int, int]:
        reg = REGISTERS[n]
        rule = self.registers.get(f"S{n}")
        if rule is None:
            return reg.low, reg.high
        return (
            reg.low if rule.min is None else rule.min,
            reg.high if rule.max is None else rule.max,
        )

    def make_ratio_ok(self, ratio: float, pps: int) -> bool:
        low, high = self.make_ratio_10pps if pps == 10 else self.make_ratio_20pps
        return low <= ratio <= high


def load_profile(path: Path) -> LineProfile:
    """Read a line profile; ``extends = "jp"`` starts from a sibling file's values."""
    data = config.read_toml(path)
    seen = {path.resolve()}
    while "extends" in data:
        base_name = data.pop("extends")
        if not isinstance(base_name, str) or not base_name:
            raise ConfigError(str(path), "extends", "expected a profile name or file")
        base_path = _sibling(path, base_name)
        if base_path.resolve() in seen:
            raise ConfigError(str(path), "extends", f"loops back to {base_path}")
        seen.add(base_path.resolve())
        data = _merge(config.read_toml(base_path), data)
    return config.from_mapping(data, LineProfile, str(path))


def find_profile(name: str, directory: Path) -> Path:
    """A profile given as a file, or as a name looked up in *directory*."""
    candidate = Path(name)
    if candidate.suffix == ".toml" or "/" in name:
        return candidate
    path = directory / f"{name}.toml"
    if not path.exists():
        available = sorted(p.stem for p in directory.glob("*.toml")) if directory.is_dir() else []
        hint = f"; available: {', '.join(available)}" if available else ""
        raise ConfigError(str(path), "", f"no line profile named {name!r}{hint}")
    return path


def _sibling(path: Path, name: str) -> Path:
    return path.parent / (name if name.endswith(".toml") else f"{name}.toml")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# --- the phone book --------------------------------------------------------------------

Behaviour = Literal["answer", "busy", "no_answer", "voice", "server_down"]


@dataclass(frozen=True)
class Entry:
    behaviour: Behaviour = setting(
        "answer",
        "answer: a modem answers and the answerer takes the call; busy; no_answer (rings\n"
        "until S7); voice (a person answers, no carrier); server_down (the modem answers,\n"
        "nothing behind it speaks, the far end hangs up).",
    )
    answerer: str = setting(
        "", 'Who takes the call: "echo", "ppp", "tcp:HOST:PORT" (empty: the default).'
    )
    busy_first: int = setting(0, "Busy for the first N calls, then the behaviour.", min=0)
    answer_delay: float | None = setting(None, "Seconds of ringing (unset: the line's).", min=0)
    drop_after: float = setting(
        0.0, "Carrier is lost after this many seconds connected (0: never).", min=0
    )
    note: str = setting("", "A description, copied into the call log.")


@dataclass(frozen=True)
class PhoneBook:
    numbers: dict[str, Entry] = setting(
        default_factory=dict, doc="Numbers (digits as dialled after any PBX prefix)."
    )
    unknown: Entry = setting(
        default_factory=Entry,
        doc="Any other number. The default answers every number, as DreamPi does.",
    )

    def __post_init__(self) -> None:
        for number in self.numbers:
            digits = normalise_number(number)
            if not digits or any(c not in TONE_DIGITS for c in digits):
                raise ValueError(f"numbers.{number}: expected digits 0-9 * # A-D")
        normalised = {normalise_number(n): e for n, e in self.numbers.items()}
        object.__setattr__(self, "numbers", normalised)

    def answerers(self) -> dict[str, str]:
        """Each answerer named in the book, with the key that names it."""
        named = {f"numbers.{n}.answerer": e.answerer for n, e in self.numbers.items()}
        named["unknown.answerer"] = self.unknown.answerer
        return {key: name for key, name in named.items() if name}


def normalise_number(text: str) -> str:
    """A number as the exchange sees it: spaces, dashes and brackets dropped."""
    return "".join(c for c in text.upper() if c not in " -()")


def load_phonebook(path: Path) -> PhoneBook:
    return config.load(path, PhoneBook)


# --- routing ---------------------------------------------------------------------------


class FarEnd(Enum):
    ANSWER = "answer"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    VOICE = "voice"
    SERVER_DOWN = "server_down"
    NOWHERE = "nowhere"  # the digits reached no subscriber


@dataclass(frozen=True, slots=True)
class Route:
    far_end: FarEnd
    number: str | None  # the phone-book number, None when the call reached nobody
    entry: Entry | None
    reason: str  # why, in words, for the call log


@dataclass(frozen=True, slots=True)
class DialledDigit:
    char: str
    method: str  # tone, pulse10, pulse20
    make_ratio: float  # pulse only


@dataclass
class Exchange:
    """Where a call goes. Counts calls per number for ``busy_first``."""

    line: LineProfile
    book: PhoneBook
    calls: Counter[str] = field(default_factory=Counter)

    def route(self, digits: list[DialledDigit]) -> Route:
        if not self.line.dial_tone:
            return Route(FarEnd.NOWHERE, None, None, "no dial tone: the line is dead")
        if not digits:
            return Route(FarEnd.NOWHERE, None, None, "no digits dialled")
        for d in digits:
            if d.method not in self.line.accepted:
                reason = f"{d.method} dialling on a line that accepts {_list(self.line.accepted)}"
                return Route(FarEnd.BUSY, None, None, reason)
            if d.method != "tone" and not self.line.make_ratio_ok(d.make_ratio, int(d.method[5:])):
                return Route(FarEnd.BUSY, None, None, f"make ratio {d.make_ratio} not recognised")
        text = "".join(d.char for d in digits)
        prefix = self.line.outside_prefix
        if prefix:
            if not text.startswith(prefix) or text == prefix:
                return Route(FarEnd.NOWHERE, None, None, f"no outside-line prefix {prefix}")
            text = text[len(prefix) :]
        entry = self.book.numbers.get(text)
        reason = "in the phone book" if entry else "not in the phone book"
        entry = entry or self.book.unknown
        self.calls[text] += 1
        if self.calls[text] <= entry.busy_first:
            return Route(FarEnd.BUSY, text, entry, f"busy for the first {entry.busy_first} calls")
        return Route(FarEnd(entry.behaviour), text, entry, reason)


def _list(methods: frozenset[str]) -> str:
    return " and ".join(sorted(methods))
