"""The Japanese restriction on automatic redials (端末設備等規則 第11条 3).

At most ``max_redials`` redials of a number within ``window`` seconds of the first call;
a call after the window starts a new series. Only calls that failed count, and a CONNECT
clears the number (the ``*B`` blacklist behaviour of C-Com and Proxima modems). In
``delayed`` mode a refused number answers DELAYED until its window ends; in
``blacklisted`` mode it answers BLACKLISTED for the rest of the modem's session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dcsim.modem.line import RedialRules
from dcsim.modem.results import Result


@dataclass
class _Series:
    first: float
    failures: int = 0
    blacklisted: bool = False


@dataclass
class RedialLimiter:
    rules: RedialRules
    _series: dict[str, _Series] = field(default_factory=dict)

    def check(self, number: str, now: float) -> Result | None:
        """DELAYED or BLACKLISTED if *number* may not be dialled at *now*, else None."""
        if not self.rules.enabled:
            return None
        series = self._series.get(number)
        if series is None:
            return None
        if series.blacklisted:
            return Result.BLACKLISTED
        if now - series.first >= self.rules.window:
            del self._series[number]
            return None
        if series.failures > self.rules.max_redials:
            if self.rules.mode == "blacklisted":
                series.blacklisted = True
                return Result.BLACKLISTED
            return Result.DELAYED
        return None

    def failed(self, number: str, started: float) -> None:
        """A call to *number* placed at *started* did not connect."""
        if not self.rules.enabled:
            return
        series = self._series.get(number)
        if series is None or started - series.first >= self.rules.window:
            series = self._series[number] = _Series(started)
        series.failures += 1

    def connected(self, number: str) -> None:
        self._series.pop(number, None)
