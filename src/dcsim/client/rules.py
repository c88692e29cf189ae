"""Sega's network rules for Dreamcast titles, as numbers (shared/seeds/004_*.txt).

The virtual Dreamcast dials by them, and ``dcsim check`` judges a real client against
them. Each value is the rule's own figure; where the rule gives a range, both ends are
kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcsim.config import setting


@dataclass(frozen=True)
class SegaRules:
    redial_min: float = setting(
        5.0, "Seconds a title waits at least between two dial attempts (rule: 5-10 s).", min=0
    )
    redial_max: float = setting(
        10.0, "Seconds a title waits at most between two dial attempts (rule: 5-10 s).", min=0
    )
    give_up_after: float = setting(
        600.0,
        "Seconds of trying after which a title stops dialling (rule: at most 10 minutes;\n"
        "an older revision: 10 standard, 30 at most).",
        min=0,
    )
    idle_disconnect: float = setting(
        900.0,
        "Seconds without user input after which a title disconnects (rule: default\n"
        "15 minutes, never unlimited).",
        min=1,
    )

    def __post_init__(self) -> None:
        if self.redial_min > self.redial_max:
            raise ValueError(
                f"redial_min {self.redial_min:g} is greater than redial_max {self.redial_max:g}"
            )


RULES = SegaRules()
