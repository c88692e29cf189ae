"""What ``dcsim check`` reports, and the rules that read the same from any log.

A client's attempts to get online (the fake modem's calls, DCNet sessions) are
:class:`Attempt` values; consecutive failed attempts form a *run* (:func:`runs_of`), and
the redial rules judge runs whatever the log was. The rules that need one log's own
fields live beside the log's reader: :mod:`dcsim.client.check` (modem calls) and
:mod:`dcsim.client.check_dcnet` (DCNet sessions).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dcsim.client.rules import SegaRules

SESSION_GAP = 60.0  # s: a longer pause between attempts starts a new run


class Verdict(Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"  # nothing in the log the rule applies to, or cannot apply


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    verdict: Verdict
    detail: str
    offenders: tuple[int | str, ...] = ()  # the calls (numbers) or sessions (names)

    def to_json(self, offenders: str = "calls") -> dict[str, object]:
        return {
            "rule": self.rule,
            "verdict": self.verdict.value,
            "detail": self.detail,
            offenders: list(self.offenders),
        }


class Source(Enum):
    MODEM = "modem"  # the fake modem's call log: one report per modem
    DCNET = "dcnet"  # the DCNet session log: one report per peer host


@dataclass(frozen=True)
class CheckReport:
    source: Source
    subject: str  # the modem, or the peer host
    attempts: int  # calls or sessions
    runs: int
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(f.verdict is not Verdict.FAIL for f in self.findings)

    def to_json(self) -> dict[str, object]:
        if self.source is Source.MODEM:
            who, attempts, offenders = "modem", "calls", "calls"
        else:
            who, attempts, offenders = "peer", "sessions", "sessions"
        return {
            "log": self.source.value,
            who: self.subject,
            attempts: self.attempts,
            "runs": self.runs,
            "passed": self.passed,
            "findings": [f.to_json(offenders) for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try to get online, as the redial rules see it."""

    id: int | str  # call number or session name
    start: float
    end: float
    online: bool  # it connected (CONNECT; an address from IPCP or DHCP)
    record: Any = field(default=None, compare=False)  # the log's record it stands for

    @property
    def label(self) -> str:
        return f"call {self.id}" if isinstance(self.id, int) else str(self.id)


def runs_of(attempts: Sequence[Attempt], session_gap: float = SESSION_GAP) -> list[list[Attempt]]:
    """Split one client's attempts into runs: each attempt starting less than
    *session_gap* seconds after the previous one ended, and none before it got online; a
    longer pause is the user trying again."""
    runs: list[list[Attempt]] = []
    for attempt in sorted(attempts, key=lambda a: a.start):
        if runs:
            previous = runs[-1][-1]
            if not previous.online and attempt.start - previous.end <= session_gap:
                runs[-1].append(attempt)
                continue
        runs.append([attempt])
    return runs


def redial_interval(runs: list[list[Attempt]], rules: SegaRules, what: str = "redials") -> Finding:
    """5-10 s between a failed attempt and the next one."""
    name = "redial-interval"
    gaps = [(b, b.start - a.end) for run in runs for a, b in itertools.pairwise(run)]
    if not gaps:
        return Finding(name, Verdict.NOT_APPLICABLE, "no attempt followed a failed one")
    bad = [(a, g) for a, g in gaps if not rules.redial_min <= g <= rules.redial_max]
    span = f"{min(g for _, g in gaps):.1f}-{max(g for _, g in gaps):.1f} s"
    if not bad:
        return Finding(name, Verdict.PASS, f"{len(gaps)} {what}, {span} after the failure")
    shown = ", ".join(f"{a.label} after {g:.1f} s" for a, g in bad[:5])
    return Finding(
        name,
        Verdict.FAIL,
        f"{len(bad)} of {len(gaps)} {what} outside {rules.redial_min:g}-{rules.redial_max:g} s: "
        f"{shown}",
        tuple(a.id for a, _ in bad),
    )


def give_up(runs: list[list[Attempt]], rules: SegaRules) -> Finding:
    """No automatic attempt starts more than 10 minutes after the first of its run."""
    name = "give-up"
    failed = [run for run in runs if len(run) > 1 or not run[0].online]
    if not failed:
        return Finding(name, Verdict.NOT_APPLICABLE, "every run got online at its first attempt")
    late = [(run, a) for run in failed for a in run if a.start - run[0].start > rules.give_up_after]
    longest = max(run[-1].start - run[0].start for run in failed)
    if not late:
        return Finding(
            name,
            Verdict.PASS,
            f"{len(failed)} runs with failures; the longest kept trying {longest:.0f} s "
            f"(limit {rules.give_up_after:g} s)",
        )
    first_run, first = late[0]
    return Finding(
        name,
        Verdict.FAIL,
        f"{first.label} started {first.start - first_run[0].start:.0f} s after the run's "
        f"first attempt ({first_run[0].label}); limit {rules.give_up_after:g} s",
        tuple(a.id for _, a in late),
    )


def render(reports: Sequence[CheckReport]) -> str:
    """The reports as text: one block per modem or peer, one line per rule."""
    lines = []
    for report in reports:
        if report.source is Source.MODEM:
            lines.append(f"{report.subject}: {report.attempts} calls in {report.runs} runs")
        else:
            lines.append(
                f"DCNet sessions from {report.subject}: {report.attempts} sessions in "
                f"{report.runs} runs"
            )
        width = max(len(f.rule) for f in report.findings)
        for f in report.findings:
            lines.append(f"  {f.rule.ljust(width)}  {f.verdict.value.upper():4}  {f.detail}")
        lines.append("  " + ("PASS: follows Sega's rules" if report.passed else "FAIL"))
    return "\n".join(lines)
