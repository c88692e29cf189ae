"""``dcsim check``: judge a real client against Sega's rules, from its logs.

The fake modem writes one record per dial attempt (docs/modem.md, "The call log"); the
DCNet front ends one per session (docs/ppp.md, "The DCNet session log"). A file may hold
both. From the modem's records this module reconstructs what the title did and compares
it with Sega's network rules (shared/seeds/004_*.txt, :mod:`dcsim.client.rules`):

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
DCNet sessions are judged by :mod:`dcsim.client.check_dcnet`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from dcsim.client.check_dcnet import check_sessions
from dcsim.client.judging import (
    SESSION_GAP,
    Attempt,
    CheckReport,
    Finding,
    Source,
    Verdict,
    give_up,
    redial_interval,
    render,
    runs_of,
)
from dcsim.client.rules import SegaRules
from dcsim.dcnet.sessionlog import SessionRecord
from dcsim.modem.calllog import CallRecord, Hangup

__all__ = [
    "SESSION_GAP",
    "CheckReport",
    "Finding",
    "Verdict",
    "attempt",
    "check",
    "render",
    "runs_of",
]

_CONSOLE_HANGUPS = frozenset({Hangup.DTE_COMMAND, Hangup.DTR_DROP, Hangup.DTE_GONE})
_LEFT_OPEN = frozenset({Hangup.IDLE, Hangup.INACTIVITY})
_CUT_BY_NETWORK = _LEFT_OPEN | {Hangup.MAX_DURATION}


def attempt(record: CallRecord) -> Attempt:
    return Attempt(record.call, record.t_dial, record.t_end, record.t_connect is not None, record)


def check(
    records: Iterable[CallRecord | SessionRecord],
    rules: SegaRules,
    *,
    session_gap: float = SESSION_GAP,
) -> list[CheckReport]:
    """One report per modem (call records) and per peer host (DCNet session records), in
    the order they first appear."""
    order: list[tuple[Source, str]] = []
    calls: dict[str, list[CallRecord]] = {}
    sessions: dict[str, list[SessionRecord]] = {}
    for record in records:
        if isinstance(record, SessionRecord):
            key, group = (Source.DCNET, record.peer_host), sessions
        else:
            key, group = (Source.MODEM, record.modem), calls  # type: ignore[assignment]
        if key not in order:
            order.append(key)
        group.setdefault(key[1], []).append(record)  # type: ignore[arg-type]
    return [
        check_sessions(subject, sessions[subject], rules, session_gap)
        if source is Source.DCNET
        else check_calls(subject, calls[subject], rules, session_gap)
        for source, subject in order
    ]


def check_calls(
    modem: str, calls: list[CallRecord], rules: SegaRules, session_gap: float = SESSION_GAP
) -> CheckReport:
    """One modem's calls against every rule."""
    runs = runs_of([attempt(r) for r in calls], session_gap)
    call_runs: list[list[CallRecord]] = [[a.record for a in run] for run in runs]
    findings = (
        redial_interval(runs, rules),
        give_up(runs, rules),
        _number_order(call_runs),
        _line_type(calls),
        _hang_up_on_reset(calls),
        _idle_disconnect(calls, rules),
    )
    return CheckReport(Source.MODEM, modem, len(calls), len(runs), findings)


# --- the rules -----------------------------------------------------------------------------


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
