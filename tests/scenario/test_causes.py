"""Sega's eight causes, each provoked by configuration (configs/scenarios/causes.toml)
and reported by the virtual Dreamcast as that cause; its dialling, judged from the fake
modem's call log, follows Sega's rules while doing so."""

from __future__ import annotations

import functools

import pytest

from dcsim.causes import Cause
from dcsim.client.check import Verdict, check
from dcsim.client.report import StepKind
from dcsim.client.rules import SegaRules
from dcsim.scenario.model import load_scenario
from dcsim.scenario.run import CellResult, run_cell
from tests.scenario.cells import DATA, ROOT


@functools.cache
def cause_cell(path: str) -> CellResult:
    scenario = load_scenario(ROOT / "configs" / "scenarios" / "causes.toml")
    return run_cell(scenario, path, scenario.configs["base"], data_dir=DATA)


CASES = [
    (Cause.NO_PHYSICAL_CONNECTION, StepKind.PPP, "the carrier drops 20 s into the call"),
    (Cause.BUSY, StepKind.DIAL, "every attempt busy until the ten minutes are up"),
    (Cause.CABLE_UNPLUGGED, StepKind.DIAL, "the modem hears no dial tone"),
    (Cause.SERVER_DOWN, StepKind.DIAL, "the access point rings out every time"),
    (Cause.REDIAL_RESTRICTION, StepKind.DIAL, "a Japanese modem answers DELAYED"),
    (Cause.AUTHENTICATION_FAILURE, StepKind.PPP, "the ISP refuses the PPP password"),
    (Cause.BILLING_AUTHENTICATION_ERROR, StepKind.LICENCE, "the licence server answers 402"),
    (Cause.AUTOMATIC_DISCONNECT, StepKind.LOBBY, "no input past the 15-minute limit"),
]


@pytest.mark.parametrize(("cause", "step", "how"), CASES, ids=[c[2] for c in CASES])
def test_each_cause_is_provoked_and_reported_as_itself(cause, step, how):
    result = cause_cell(f"cause{int(cause)}")
    assert result.report.cause is cause, result.report.render()
    assert result.report.failed_step.kind is step
    assert result.outcome.code == f"C{int(cause)}"


def test_the_busy_run_follows_segas_dialling_rules():
    """Ten minutes of busy lines: 5-10 s between attempts, nothing after ten minutes,
    the line type honoured; dcsim check finds no fault in the console's call log."""
    calls = cause_cell("cause2").calls
    assert len(calls) > 10
    (report,) = check(calls, SegaRules())
    verdicts = {f.rule: f.verdict for f in report.findings}
    assert verdicts["redial-interval"] is Verdict.PASS
    assert verdicts["give-up"] is Verdict.PASS
    assert verdicts["line-type"] is Verdict.PASS


def test_a_dropped_carrier_ends_the_session_at_once():
    """With DCD wired, the console sees the carrier go and stops, rather than waiting
    for TCP to time out."""
    report = cause_cell("cause1").report
    failed = report.failed_step
    dial = report.steps_of(StepKind.DIAL)[0]
    assert failed.ended - dial.ended < 25.0
