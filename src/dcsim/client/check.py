"""``dcsim check``: judge a real client's dialling against Sega's rules, from a call log.

The fake modem writes one record per dial attempt (docs/modem.md, "The call log"). From
them this module reconstructs what the title did and compares it with Sega's network
rules (shared/seeds/004_*.txt, :mod:`dcsim.client.rules`):

- ``redial-interval``: 5-10 s between a failed attempt and the next one;
- ``give-up``: no automatic attempt starts more than 10 minutes after the first of a run;
- ``number-order``: after a failed attempt, the next stored number, in order;
- ``line-type``: every attempt dialled with the line's contracted method (tone/pulse),
  pulses at 10 pps;
- ``hang-up-on-reset``: a connected call ends by the console hanging up (ATH, DTR drop,
  closing its port), never by being left open until the network or the modem noticed
  that nothing was sent any more;
- ``idle-disconnect``: a call the network cut after it had been up longer than the idle
  limit (15 minutes) shows a title that does not disconnect an idle player itself.

A *run* is a series of attempts, each starting less than ``session_gap`` seconds after the
previous one ended and none before it connected; a longer pause is the user trying again.
A call log cannot show user input, so idle input is judged only from how calls ended.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from dcsim.client.rules import SegaRules
from dcsim.modem.calllog import CallRecord, Hangup

SESSION_GAP = 60.0  # s: a longer pause between attempts starts a new run
_CONSOLE_HANGUPS = frozenset({Hangup.DTE_COMMAND, Hangup.DTR_DROP, Hangup.DTE_GONE})
_LEFT_OPEN = frozenset({Hangup.IDLE, Hangup.INACTIVITY})
_CUT_BY_NETWORK = _LEFT_OPEN | {Hangup.MAX_DURATION}


class Verdict(Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"  # nothing in the log the rule applies to


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    verdict: Verdict
    detail: str
    calls: tuple[int, ...] = ()  # the call numbers that break the rule

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "calls": list(self.calls),
        }


@dataclass(frozen=True)
class CheckReport:
    modem: str
    calls: int
    runs: int
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(f.verdict is not Verdict.FAIL for f in self.findings)

    def to_json(self) -> dict[str, object]:
        return {
            "modem": self.modem,
            "calls": self.calls,
            "runs": self.runs,
            "passed": self.passed,
            "findings": [f.to_json() for f in self.findings],
        }


def runs_of(
    records: Sequence[CallRecord], session_gap: float = SESSION_GAP
) -> list[list[CallRecord]]:
    """Split one modem's calls into dialling runs (see the module docstring)."""
    runs: list[list[CallRecord]] = []
    for record in sorted(records, key=lambda r: r.t_dial):
        if runs:
            previous = runs[-1][-1]
            if previous.t_connect is None and record.t_dial - previous.t_end <= session_gap:
                runs[-1].append(record)
                continue
        runs.append([record])
    return runs


def check(
    records: Iterable[CallRecord],
    rules: SegaRules,
    *,
    session_gap: float = SESSION_GAP,
) -> list[CheckReport]:
    """One report per modem in the log, in the order the modems first appear."""
    by_modem: dict[str, list[CallRecord]] = {}
    for record in records:
        by_modem.setdefault(record.modem, []).append(record)
    reports = []
    for modem, calls in by_modem.items():
        runs = runs_of(calls, session_gap)
        findings = (
            _redial_interval(runs, rules),
            _give_up(runs, rules),
            _number_order(runs),
            _line_type(calls),
            _hang_up_on_reset(calls),
            _idle_disconnect(calls, rules),
        )
        reports.append(CheckReport(modem, len(calls), len(runs), findings))
    return reports


# --- the rules -----------------------------------------------------------------------------


def _redial_interval(runs: list[list[CallRecord]], rules: SegaRules) -> Finding:
    name = "redial-interval"
    gaps = [(b, b.t_dial - a.t_end) for run in runs for a, b in itertools.pairwise(run)]
    if not gaps:
        return Finding(name, Verdict.NOT_APPLICABLE, "no attempt followed a failed one")
    bad = [(r, g) for r, g in gaps if not rules.redial_min <= g <= rules.redial_max]
    span = f"{min(g for _, g in gaps):.1f}-{max(g for _, g in gaps):.1f} s"
    if not bad:
        return Finding(name, Verdict.PASS, f"{len(gaps)} redials, {span} after the failure")
    shown = ", ".join(f"call {r.call} after {g:.1f} s" for r, g in bad[:5])
    return Finding(
        name,
        Verdict.FAIL,
        f"{len(bad)} of {len(gaps)} redials outside {rules.redial_min:g}-{rules.redial_max:g} s: "
        f"{shown}",
        tuple(r.call for r, _ in bad),
    )


def _give_up(runs: list[list[CallRecord]], rules: SegaRules) -> Finding:
    name = "give-up"
    failed = [run for run in runs if len(run) > 1 or run[0].t_connect is None]
    if not failed:
        return Finding(name, Verdict.NOT_APPLICABLE, "every run connected at its first attempt")
    late = [
        (run, r) for run in failed for r in run if r.t_dial - run[0].t_dial > rules.give_up_after
    ]
    longest = max(run[-1].t_dial - run[0].t_dial for run in failed)
    if not late:
        return Finding(
            name,
            Verdict.PASS,
            f"{len(failed)} runs with redials; the longest kept trying {longest:.0f} s "
            f"(limit {rules.give_up_after:g} s)",
        )
    first_run, first_call = late[0]
    return Finding(
        name,
        Verdict.FAIL,
        f"call {first_call.call} started {first_call.t_dial - first_run[0].t_dial:.0f} s after "
        f"the run's first attempt (call {first_run[0].call}); limit {rules.give_up_after:g} s",
        tuple(r.call for _, r in late),
    )


def _number_order(runs: list[list[CallRecord]]) -> Finding:
    name = "number-order"
    numbers: list[str] = []
    for run in runs:
        for r in run:
            if r.digits and r.digits not in numbers:
                numbers.append(r.digits)
    if len(numbers) < 2:
        return Finding(name, Verdict.NOT_APPLICABLE, "only one number was dialled")
    bad = []
    checked = 0
    for run in runs:
        for a, b in itertools.pairwise(run):
            if not a.digits or not b.digits:
                continue
            checked += 1
            expected = numbers[(numbers.index(a.digits) + 1) % len(numbers)]
            if b.digits != expected:
                bad.append((b, expected))
    order = " -> ".join(numbers)
    if not checked:
        return Finding(name, Verdict.NOT_APPLICABLE, f"numbers {order}, but no redial")
    if not bad:
        return Finding(name, Verdict.PASS, f"{checked} redials in the order {order}")
    shown = ", ".join(f"call {r.call} dialled {r.digits}, not {want}" for r, want in bad[:5])
    return Finding(
        name,
        Verdict.FAIL,
        f"order {order} (as first dialled); {shown}",
        tuple(r.call for r, _ in bad),
    )


def _line_type(calls: list[CallRecord]) -> Finding:
    name = "line-type"
    dialled = [r for r in calls if r.method is not None]
    if not dialled:
        return Finding(name, Verdict.NOT_APPLICABLE, "no digits were dialled")
    wrong = [r for r in dialled if r.method != r.line_type]
    slow = [r for r in dialled if r.method == "pulse" and r.pulse_pps not in (None, 10)]
    if not wrong and not slow:
        kinds = sorted({r.line_type for r in dialled})
        return Finding(name, Verdict.PASS, f"{len(dialled)} calls dialled {'/'.join(kinds)}")
    parts = [f"call {r.call} dialled {r.method} on a {r.line_type} line" for r in wrong[:5]]
    parts += [f"call {r.call} pulsed at {r.pulse_pps} pps (rule: 10 pps)" for r in slow[:5]]
    return Finding(name, Verdict.FAIL, "; ".join(parts), tuple(r.call for r in wrong + slow))


def _hang_up_on_reset(calls: list[CallRecord]) -> Finding:
    name = "hang-up-on-reset"
    connected = [r for r in calls if r.t_connect is not None]
    if not connected:
        return Finding(name, Verdict.NOT_APPLICABLE, "no call connected")
    left = [r for r in connected if r.hangup in _LEFT_OPEN]
    if not left:
        by_console = sum(r.hangup in _CONSOLE_HANGUPS for r in connected)
        return Finding(
            name,
            Verdict.PASS,
            f"{len(connected)} connected calls; {by_console} hung up by the console, "
            "the rest by the far end",
        )
    return _ended_badly(name, "the line was left open until nothing had been sent", left)


def _idle_disconnect(calls: list[CallRecord], rules: SegaRules) -> Finding:
    name = "idle-disconnect"
    connected = [r for r in calls if r.t_connect is not None]
    if not connected:
        return Finding(name, Verdict.NOT_APPLICABLE, "no call connected")
    cut = [
        r
        for r in connected
        if r.hangup in _CUT_BY_NETWORK and r.connected_seconds > rules.idle_disconnect
    ]
    if not cut:
        return Finding(
            name,
            Verdict.PASS,
            f"no call was kept past {rules.idle_disconnect:g} s until the network cut it",
        )
    what = f"calls kept up beyond {rules.idle_disconnect:g} s until the network ended them"
    return _ended_badly(name, what, cut)


def _ended_badly(rule: str, what: str, calls: list[CallRecord]) -> Finding:
    shown = ", ".join(
        f"call {r.call} ({r.hangup.value} after {r.connected_seconds:.0f} s)" for r in calls[:5]
    )
    return Finding(rule, Verdict.FAIL, f"{what}: {shown}", tuple(r.call for r in calls))


def render(reports: Sequence[CheckReport]) -> str:
    """The reports as text: one block per modem, one line per rule."""
    lines = []
    for report in reports:
        lines.append(f"{report.modem}: {report.calls} calls in {report.runs} runs")
        width = max(len(f.rule) for f in report.findings)
        for f in report.findings:
            lines.append(f"  {f.rule.ljust(width)}  {f.verdict.value.upper():4}  {f.detail}")
        lines.append("  " + ("PASS: follows Sega's rules" if report.passed else "FAIL"))
    return "\n".join(lines)
