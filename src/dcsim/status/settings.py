"""The ``[status]`` settings section: where the status page listens and what it remembers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dcsim.address import Listen
from dcsim.config import setting
from dcsim.status import registry


@dataclass(frozen=True)
class StatusSettings:
    listen: Listen = setting(
        Listen("tcp", "127.0.0.1", 8080),
        "Where the status page listens (a tcp: address). It shows who is connected and\n"
        "serves their captures: keep it on 127.0.0.1 unless you mean to share that.",
    )
    history: int = setting(
        registry.DEFAULT_HISTORY,
        "Ended sessions remembered (their captures stay downloadable).",
        min=1,
        max=100_000,
    )
    recent_dns: int = setting(
        registry.DEFAULT_RECENT_DNS, "DNS queries listed on the page.", min=1, max=10_000
    )
    recent_failures: int = setting(
        registry.DEFAULT_RECENT_FAILURES,
        "Failures (with Sega's cause) listed on the page.",
        min=1,
        max=10_000,
    )

    def make_registry(
        self,
        clock: registry.Clock,
        on_error: Callable[[Exception], None] | None = None,
    ) -> registry.SessionRegistry:
        """A registry remembering as much as these settings say."""
        return registry.SessionRegistry(
            clock,
            history=self.history,
            recent_dns=self.recent_dns,
            recent_failures=self.recent_failures,
            on_error=on_error,
        )
