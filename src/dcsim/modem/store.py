"""Stored profiles (&W, &Y, &Z) in a JSON file, so they survive a restart."""

from __future__ import annotations

import json
import os
from pathlib import Path

from twisted.logger import Logger

from dcsim.config import ConfigError
from dcsim.modem.engine import STORED_NUMBERS, STORED_PROFILES, Stored

log = Logger()


class ProfileStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Stored:
        """The stored profiles, or factory ones if the file does not exist yet."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Stored()
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(str(self.path), "", f"not a stored-profile file: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(str(self.path), "", "not a stored-profile file: expected an object")
        profiles = data.get("profiles")
        numbers = data.get("numbers")
        power_up = data.get("power_up", 0)
        if not (
            isinstance(profiles, list)
            and len(profiles) == STORED_PROFILES
            and all(p is None or isinstance(p, dict) for p in profiles)
            and isinstance(numbers, list)
            and len(numbers) == STORED_NUMBERS
            and all(isinstance(n, str) for n in numbers)
            and power_up in range(STORED_PROFILES)
        ):
            raise ConfigError(str(self.path), "", "not a stored-profile file: unexpected layout")
        return Stored(tuple(profiles), power_up, tuple(numbers))

    def save(self, stored: Stored) -> None:
        data = {
            "profiles": list(stored.profiles),
            "power_up": stored.power_up,
            "numbers": list(stored.numbers),
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:
            log.error("cannot store modem profiles in {path}: {error}", path=self.path, error=e)
