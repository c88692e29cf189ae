"""``dcsim check`` on DCNet session logs written by real sessions of dcsim's front ends
(the console's PPP client core against the access server, in virtual time), and the log
reader on arbitrary JSON lines."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcsim.cli import main
from dcsim.client.check import Verdict, check
from dcsim.client.check_dcnet import NOT_OVER_DCNET
from dcsim.client.logs import LogError, read_log
from dcsim.client.rules import SegaRules
from dcsim.dcnet.sessionlog import SessionRecord
from dcsim.ppp.auth import Login
from dcsim.ppp.settings import PppSettings
from tests.dcnet.sessions import Dcnet

RULES = SegaRules()
WRONG = Login("dream", "dog")


def verdicts(records: list[Any]) -> dict[str, Verdict]:
    (report,) = check(records, RULES)
    return {f.rule: f.verdict for f in report.findings}


def finding(records: list[Any], rule: str):  # type: ignore[no-untyped-def]
    (report,) = check(records, RULES)
    return next(f for f in report.findings if f.rule == rule)


def sessions(dcnet: Dcnet, count: int, *, stay: float, end: str, **kw: Any) -> None:
    """*count* sessions one after another, each online *stay* s, ended by *end*:
    terminate (LCP Terminate-Request), close (a bare close) or nothing."""
    for _ in range(count):
        before = len(dcnet.log.records)
        console = dcnet.ppp_console(**kw)
        dcnet.run(stay)
        if end == "terminate":
            console.hang_up()
        elif end == "close":
            console.transport.loseConnection()
        dcnet.run(30)
        assert len(dcnet.log.records) == before + 1 or end == "nothing"


def test_a_console_that_hangs_up_passes_and_dialling_is_not_judged() -> None:
    dcnet = Dcnet()
    sessions(dcnet, 2, stay=120, end="terminate")
    assert verdicts(dcnet.log.records) == {
        "redial-interval": Verdict.NOT_APPLICABLE,
        "give-up": Verdict.NOT_APPLICABLE,
        "number-order": Verdict.NOT_APPLICABLE,
        "line-type": Verdict.NOT_APPLICABLE,
        "hang-up-on-reset": Verdict.PASS,
        "idle-disconnect": Verdict.PASS,
    }
    for rule in ("number-order", "line-type"):
        assert finding(dcnet.log.records, rule).detail.startswith(NOT_OVER_DCNET)


def test_a_reset_that_closes_without_terminate_fails() -> None:
    dcnet = Dcnet()
    sessions(dcnet, 1, stay=60, end="terminate")
    sessions(dcnet, 1, stay=60, end="close")
    bad = finding(dcnet.log.records, "hang-up-on-reset")
    assert bad.verdict is Verdict.FAIL and bad.offenders == ("dcnet-ppp-2",)
    assert "without LCP Terminate-Request" in bad.detail


def test_a_console_left_silent_past_the_limit_fails_idle_and_hang_up() -> None:
    """dcsim's idle timeout (20 minutes) ends a session the title kept up, silent, beyond
    Sega's 15 minutes: the title does not disconnect an idle player, nor hang up."""
    dcnet = Dcnet(PppSettings(idle_timeout=1200))
    sessions(dcnet, 1, stay=3000, end="nothing")
    (record,) = dcnet.log.records
    assert record.end.value == "idle_timeout"
    v = verdicts(dcnet.log.records)
    assert v["idle-disconnect"] is Verdict.FAIL and v["hang-up-on-reset"] is Verdict.FAIL


def test_an_idle_timeout_shorter_than_the_limit_leaves_idle_unjudged() -> None:
    dcnet = Dcnet(PppSettings(idle_timeout=600))
    sessions(dcnet, 1, stay=3000, end="nothing")
    idle = finding(dcnet.log.records, "idle-disconnect")
    assert idle.verdict is Verdict.NOT_APPLICABLE and "idle_timeout" in idle.detail


def reconnecting(gap: float, until: float) -> Dcnet:
    """A console whose login is refused, trying again *gap* s after each failure."""
    dcnet = Dcnet(PppSettings(accept_any_login=False, logins={"dream": "cast"}))
    while dcnet.clock.seconds() < until:
        count = len(dcnet.log.records)
        dcnet.ppp_console(WRONG)
        while len(dcnet.log.records) == count:
            dcnet.run(0.5)
        dcnet.run(gap)
    return dcnet


def test_reconnect_spacing_is_judged_like_redials() -> None:
    good = reconnecting(6.0, 60)
    assert verdicts(good.log.records)["redial-interval"] is Verdict.PASS
    assert verdicts(good.log.records)["give-up"] is Verdict.PASS
    fast = reconnecting(2.0, 60)
    interval = finding(fast.log.records, "redial-interval")
    assert interval.verdict is Verdict.FAIL and "reconnects outside 5-10 s" in interval.detail


def test_reconnecting_for_more_than_ten_minutes_fails() -> None:
    stubborn = reconnecting(8.0, 700)
    give_up = finding(stubborn.log.records, "give-up")
    assert give_up.verdict is Verdict.FAIL
    assert all(r.t_start > 600 for r in stubborn.log.records if r.session in give_up.offenders)


def test_each_peer_host_is_judged_on_its_own() -> None:
    dcnet = Dcnet()
    sessions(dcnet, 1, stay=10, end="terminate", peer="10.0.0.1")
    sessions(dcnet, 1, stay=10, end="close", peer="10.0.0.2")
    reports = check(dcnet.log.records, RULES)
    assert [(r.subject, r.passed) for r in reports] == [("10.0.0.1", True), ("10.0.0.2", False)]


def write(path: Path, records: list[SessionRecord]) -> Path:
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    return path


def test_the_command_line_on_a_session_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dcnet = Dcnet()
    sessions(dcnet, 1, stay=10, end="close")
    log = write(tmp_path / "sessions.jsonl", dcnet.log.records)
    assert main(["check", str(log)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DCNet sessions from 127.0.0.1: 1 sessions in 1 runs")
    assert f"N/A   {NOT_OVER_DCNET}" in out and "hang-up-on-reset  FAIL" in out
    assert main(["check", "--json", str(log)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["log"] == "dcnet" and data["peer"] == "127.0.0.1" and data["sessions"] == 1
    hang_up = next(f for f in data["findings"] if f["rule"] == "hang-up-on-reset")
    assert hang_up["sessions"] == ["dcnet-ppp-1"]


# --- the reader ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _valid() -> dict[str, Any]:
    dcnet = Dcnet()
    sessions(dcnet, 1, stay=10, end="terminate")
    return dcnet.log.records[0].to_json()


def _valid_call() -> dict[str, Any]:
    from dcsim.client.dialler import DialSettings
    from tests.client.dialpair import DialPair

    pair = DialPair(DialSettings(("111",)))
    pair.start(60)
    pair.dialler.hang_up(pair.now)
    pair.run(30)
    return pair.records[0].to_json()


VALID = _valid()
VALID_CALL = _valid_call()


@st.composite
def damaged(draw: st.DrawFn) -> dict[str, Any]:
    """A real record (a session's or a modem call's) with one field replaced by arbitrary
    JSON, or removed."""
    record = dict(draw(st.sampled_from([VALID, VALID_CALL])))
    key = draw(st.sampled_from(sorted(record)))
    if draw(st.booleans()):
        del record[key]
    else:
        record[key] = draw(JSON)
    return record


LINES = st.lists(
    st.one_of(
        JSON.map(json.dumps),
        damaged().map(json.dumps),
        st.sampled_from([json.dumps(VALID), json.dumps(VALID_CALL)]),
        st.text(max_size=20),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_arbitrary_lines_are_records_or_one_error_naming_the_line(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        path.write_text("\n".join(line.replace("\n", " ") for line in lines) + "\n")
        try:
            records = read_log(path)
        except LogError as e:
            message = str(e)
            assert message.startswith(f"{path}:") and "\n" not in message
            line = int(message[len(str(path)) + 1 :].split(":", 1)[0])
            assert 1 <= line <= len(lines)
            return
        check(records, RULES)  # whatever was read, judging it raises nothing


@settings(max_examples=50, deadline=None)
@given(damaged())
def test_a_damaged_record_through_the_command_is_one_line(record: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        path.write_text(json.dumps(VALID) + "\n" + json.dumps(record) + "\n")
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["check", str(path)])
        if code == 2:
            assert (
                err.getvalue().startswith(f"dcsim: {path}:2: ") and err.getvalue().count("\n") == 1
            )
        else:
            assert code in (0, 1) and "Traceback" not in err.getvalue()


def test_a_record_of_an_unknown_kind_is_named(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps({"v": 1, "record": "fax-session"}) + "\n")
    with pytest.raises(LogError, match=r"log.jsonl:1: .*unknown kind 'fax-session'"):
        read_log(path)


def test_a_wrong_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps({**VALID, "t_end": "late"}) + "\n")
    with pytest.raises(LogError, match=r"log.jsonl:1: .*t_end: expected a number, got \"late\""):
        read_log(path)
