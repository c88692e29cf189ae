"""S-registers and the modem's configuration: what ``&W`` stores and ``Z`` recalls.

Defaults and ranges come from the Conexant, IBM and Toshiba manuals summarised in
shared/research/modem_ppp.md §2.3; a line profile may narrow a range or change a default
(Japan: S6 3-65 s, S7 35-59 s).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Register:
    default: int
    low: int
    high: int
    doc: str
    readonly: bool = False


REGISTERS: dict[int, Register] = {
    0: Register(0, 0, 255, "rings before auto-answer (0: off)"),
    1: Register(0, 0, 255, "ring counter", readonly=True),
    2: Register(43, 0, 255, "escape character (above 127 disables the escape)"),
    3: Register(13, 0, 127, "command line terminator"),
    4: Register(10, 0, 127, "response formatting character"),
    5: Register(8, 0, 127, "backspace character"),
    6: Register(2, 2, 255, "seconds to wait for dial tone, or before blind dialling"),
    7: Register(50, 1, 255, "seconds to wait for carrier after dialling"),
    8: Register(2, 0, 255, "seconds of pause for the , dial modifier"),
    9: Register(6, 1, 255, "carrier detect response time, 0.1 s"),
    10: Register(14, 1, 255, "lost carrier to hang-up delay, 0.1 s"),
    11: Register(95, 50, 255, "DTMF tone duration and gap, ms"),
    12: Register(50, 0, 255, "escape guard time, 1/50 s"),
    29: Register(70, 0, 255, "hook flash time for the ! dial modifier, 10 ms"),
    30: Register(0, 0, 255, "inactivity disconnect, 10 s (0: off)"),
}

# &P: make ratio and pulses per second (Accton CheetahModem manual; Telenetics S28).
PULSE_MODES: dict[int, tuple[float, int]] = {
    0: (0.39, 10),
    1: (0.33, 10),
    2: (0.39, 20),
    3: (0.33, 20),
}

# +MS carriers: the highest receive rate of each modulation dcsim knows.
CARRIERS: dict[str, int] = {
    "V21": 300,
    "V22": 1200,
    "V22B": 2400,
    "V32": 9600,
    "V32B": 14400,
    "V34": 33600,
    "K56": 56000,
    "V90": 56000,
}
TRANSMIT_LIMIT = 33600  # V.90 and K56flex send at V.34 rates at most


@dataclass(slots=True)
class Config:
    """Everything a stored profile holds. Field names are the JSON keys of the store."""

    echo: int = 1  # E
    quiet: int = 0  # Q
    verbose: int = 1  # V
    xlevel: int = 4  # X
    wmode: int = 2  # W: 0 DTE rate, 1 full report, 2 line rate
    speaker_level: int = 1  # L
    speaker_mode: int = 1  # M
    bell: int = 0  # B
    autorate: int = 1  # N
    long_space: int = 0  # Y
    dcd_mode: int = 1  # &C
    dtr_mode: int = 2  # &D
    flow: int = 3  # &K
    pulse: int = 1  # &P
    ec: int = 3  # \N
    compression: int = 3  # %C
    tone: bool = True  # T or P: the default dial method
    carrier: str = "V34"  # +MS
    automode: int = 1
    min_rx: int = 300
    max_rx: int = 33600
    sregs: dict[int, int] = field(
        default_factory=lambda: {n: r.default for n, r in REGISTERS.items()}
    )

    def copy(self) -> Config:
        return dataclasses.replace(self, sregs=dict(self.sregs))

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["sregs"] = {str(n): v for n, v in self.sregs.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], base: Config) -> Config:
        """A stored profile over *base*; unknown or ill-typed keys keep base's value."""
        config = base.copy()
        for f in dataclasses.fields(cls):
            value = data.get(f.name)
            if f.name == "sregs" and isinstance(value, dict):
                for key, v in value.items():
                    if (
                        key.isascii()
                        and key.isdigit()
                        and int(key) in config.sregs
                        and isinstance(v, int)
                    ):
                        config.sregs[int(key)] = v
            elif value is not None and type(value) is type(getattr(config, f.name)):
                setattr(config, f.name, value)
        return config


# The one-letter and prefixed settings: command -> (Config field, allowed values).
SETTINGS: dict[str, tuple[str, frozenset[int]]] = {
    "E": ("echo", frozenset(range(2))),
    "Q": ("quiet", frozenset(range(2))),
    "V": ("verbose", frozenset(range(2))),
    "X": ("xlevel", frozenset(range(5))),
    "W": ("wmode", frozenset(range(3))),
    "L": ("speaker_level", frozenset(range(4))),
    "M": ("speaker_mode", frozenset(range(4))),
    "B": ("bell", frozenset(range(2))),
    "N": ("autorate", frozenset(range(2))),
    "Y": ("long_space", frozenset(range(2))),
    "&C": ("dcd_mode", frozenset(range(2))),
    "&D": ("dtr_mode", frozenset(range(4))),
    "&K": ("flow", frozenset({0, 3, 4, 5, 6})),
    "&P": ("pulse", frozenset(PULSE_MODES)),
    "\\N": ("ec", frozenset(range(6))),
    "%C": ("compression", frozenset(range(4))),
}
