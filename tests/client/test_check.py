"""``dcsim check`` judges call logs written by the real fake modem while the console's
dialler (set to follow or to break Sega's rules) dialled through it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from dcsim.cli import main
from dcsim.client.check import Verdict, attempt, check, render, runs_of
from dcsim.client.dialler import DialSettings, LineType
from dcsim.client.rules import SegaRules
from dcsim.modem.calllog import CallRecord
from dcsim.modem.line import Entry, LineProfile, PhoneBook
from tests.client.dialpair import FAST, DialPair, book

BUSY = Entry(behaviour="busy")
RULES = SegaRules()


def verdicts(records: list[CallRecord]) -> dict[str, Verdict]:
    (report,) = check(records, RULES)
    return {f.rule: f.verdict for f in report.findings}


def session(settings: DialSettings, **kw) -> list[CallRecord]:
    """Dial, stay online a minute, hang up; the modem's records."""
    pair = DialPair(settings, **kw)
    pair.start(900)
    pair.dialler.hang_up(pair.now)
    pair.run(30)
    return pair.records


def test_a_client_that_follows_the_rules_passes():
    records = session(
        DialSettings(("111", "222", "333"), redial_interval=6.0),
        book=book(n111=BUSY, n222=BUSY),
    )
    assert [r.digits for r in records] == ["111", "222", "333"]
    assert verdicts(records) == {
        "redial-interval": Verdict.PASS,
        "give-up": Verdict.PASS,
        "number-order": Verdict.PASS,
        "line-type": Verdict.PASS,
        "hang-up-on-reset": Verdict.PASS,
        "idle-disconnect": Verdict.PASS,
    }


def test_redialling_too_fast_is_caught():
    records = session(DialSettings(("111", "222"), redial_interval=2.0), book=book(n111=BUSY))
    assert verdicts(records)["redial-interval"] is Verdict.FAIL


def test_dialling_for_more_than_ten_minutes_is_caught():
    pair = DialPair(DialSettings(("111",), give_up_after=1500.0), book=PhoneBook(unknown=BUSY))
    pair.start(2000)
    (report,) = check(pair.records, RULES)
    finding = next(f for f in report.findings if f.rule == "give-up")
    assert finding.verdict is Verdict.FAIL
    assert all(
        r.t_dial - pair.records[0].t_dial > 600 for r in pair.records if r.call in finding.offenders
    )


def test_redialling_the_same_busy_number_when_others_are_stored_is_caught():
    records = session(DialSettings(("111", "222")), book=book(n111=BUSY, n222=BUSY, n333=BUSY))
    assert verdicts(records)["number-order"] is Verdict.PASS
    stuck = [replace(r, digits="111") if r.call == 2 else r for r in records]
    assert verdicts(stuck)["number-order"] is Verdict.FAIL


def test_tone_dialling_on_a_pulse_line_is_caught():
    line = LineProfile(**FAST, line_type="pulse")
    records = session(DialSettings(("111",), give_up_after=30), line=line)
    assert verdicts(records)["line-type"] is Verdict.FAIL
    records = session(DialSettings(("111",), line_type=LineType.PULSE), line=line)
    assert verdicts(records)["line-type"] is Verdict.PASS


def test_a_console_reset_without_hanging_up_is_caught():
    """The console stops talking but never hangs up: the ISP's idle timer ends the call."""
    line = LineProfile(**FAST, idle_timeout=1200.0)
    pair = DialPair(DialSettings(("111",)), line=line)
    pair.start(3000)  # connected, then nothing: a reset that did not hang up
    (record,) = pair.records
    assert record.hangup.value == "idle"
    v = verdicts(pair.records)
    assert v["hang-up-on-reset"] is Verdict.FAIL
    assert v["idle-disconnect"] is Verdict.FAIL


def test_runs_are_split_by_long_pauses_and_by_connections():
    records = session(DialSettings(("111", "222")), book=book(n111=BUSY))
    later = [
        replace(r, call=r.call + 10, t_dial=r.t_dial + 5000, t_end=r.t_end + 5000) for r in records
    ]
    runs = runs_of([attempt(r) for r in records + later])
    assert [len(run) for run in runs] == [2, 2]
    assert [a.record for a in runs[1]] == later


def test_the_command_line(tmp_path, capsys):
    records = session(DialSettings(("111", "222"), redial_interval=1.0), book=book(n111=BUSY))
    log = tmp_path / "calls.jsonl"
    log.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    assert main(["check", str(log)]) == 1
    out = capsys.readouterr().out
    assert "redial-interval" in out and "FAIL" in out
    assert main(["check", "--json", str(log)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False and data["calls"] == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "calls.jsonl:1: not a log record"),
        ('{"v": 1}\n', "calls.jsonl:1: not a log record: neither a modem call record"),
        ("", "no calls or sessions in the log"),
    ],
)
def test_a_bad_log_is_one_line_of_error(tmp_path, capsys, content, message):
    log = tmp_path / "calls.jsonl"
    log.write_text(content)
    assert main(["check", str(log)]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_log(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nothing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_render_names_every_rule():
    records = session(DialSettings(("111",)))
    text = render(check(records, RULES))
    for rule in ("redial-interval", "give-up", "number-order", "line-type"):
        assert rule in text
