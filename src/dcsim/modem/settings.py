"""The ``[modem]`` settings section."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dcsim.address import Listen
from dcsim.config import setting


@dataclass(frozen=True)
class ModemSettings:
    listen: list[Listen] = setting(
        default_factory=list,
        doc='TCP addresses where each connection is a modem, e.g. ["tcp:127.0.0.1:2323"].',
    )
    pty: bool = setting(False, "Also offer a modem on a new pseudo-terminal (its path is printed).")
    serial: str = setting("", "A serial device the console is cabled to, e.g. /dev/ttyUSB0.")
    baudrate: int = setting(115200, "The serial device's speed (DTE rate).", min=300)
    line: str = setting("jp", "Line profile: a name in the profiles directory or a TOML file.")
    profiles: Path = setting(Path("modem"), "Directory of the named line profiles.")
    phonebook: Path | None = setting(
        None, "Phone book (TOML). Unset: every number is answered by the default answerer."
    )
    answerer: str = setting(
        "echo", 'Who answers numbers without their own answerer: "echo", "ppp", "tcp:HOST:PORT".'
    )
    call_log: Path | None = setting(None, "Append one JSON line per call to this file.")
    profile_store: Path | None = setting(
        None, "Keep stored profiles (&W, &Y, &Z) in this JSON file across restarts."
    )
    unknown_commands: Literal["error", "ok"] = setting(
        "error", "Answer to a command the modem does not know: error (real modems) or ok."
    )
    dte_rate: int = setting(
        115200, "DTE rate reported by CONNECT under W0/W1 on TCP and pty modems.", min=300
    )
