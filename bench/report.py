"""Collect benchmark figures and print them as one table with ratios."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    benchmark: str
    subject: str
    value: float
    unit: str
    note: str = ""


class Report:
    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(self, benchmark: str, subject: str, value: float, unit: str, note: str = "") -> None:
        figure = Figure(benchmark, subject, value, unit, note)
        self.figures.append(figure)
        print(f"  {subject}: {_fmt(value)} {unit} {note}".rstrip(), file=sys.stderr, flush=True)

    def ratio(self, benchmark: str, subject: str, other: str, unit: str) -> float:
        """Add and return the ratio of two figures already added for *benchmark*."""
        values = {f.subject: f.value for f in self.figures if f.benchmark == benchmark}
        value = values[subject] / values[other] if values[other] else float("inf")
        self.add(benchmark, f"{subject} / {other}", value, unit)
        return value

    def table(self) -> str:
        rows = [("benchmark", "subject", "figure", "unit", "note")]
        rows += [(f.benchmark, f.subject, _fmt(f.value), f.unit, f.note) for f in self.figures]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = []
        for n, row in enumerate(rows):
            lines.append(
                "  ".join(
                    c.ljust(w) if i != 2 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                ).rstrip()
            )
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def rate(work: Callable[[], int], seconds: float = 1.0) -> float:
    """Call *work* (which returns how many units it did) for about *seconds* of CPU time;
    return units per CPU-second."""
    done = 0
    start = time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        done += work()
    return done / elapsed
