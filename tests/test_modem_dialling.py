"""Dialling in virtual time: pulses, DTMF, pauses, waits, and the redial restriction."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcsim.causes import Cause
from dcsim.modem.calllog import Hangup
from dcsim.modem.dialling import pulses
from dcsim.modem.dialstring import DialError, Digit, Step, parse
from dcsim.modem.line import Entry, LineProfile, PhoneBook, RedialRules, load_profile
from tests.modemkit import FAST, Console

ROOT = Path(__file__).resolve().parent.parent
PULSE_LINE = LineProfile(**FAST, line_type="pulse")


def dial_duration(console: Console, command: str) -> float:
    console.at(command)
    console.until_result()
    return console.records[-1].dial_duration if console.records else console.now


def test_atdp0_takes_ten_pulses_at_10_pps():
    c = Console(PULSE_LINE, book=PhoneBook(unknown=Entry(behaviour="busy")))
    c.at("ATE0")
    # 1.0 s to recognise dial tone, then 10 pulses of 100 ms
    assert dial_duration(c, "ATDP0") == pytest.approx(1.0 + 10 * 0.1)
    c.at("AT&P3")  # 20 pps
    assert dial_duration(c, "ATDP0") == pytest.approx(1.0 + 10 * 0.05)


def test_a_ten_digit_pulse_number_takes_its_pulses_plus_the_pauses():
    c = Console(PULSE_LINE, book=PhoneBook(unknown=Entry(behaviour="busy")))
    c.at("ATE0")
    number = "0355703001"
    expected = 1.0 + sum(pulses(d) for d in number) * 0.1 + 9 * 0.8
    assert expected == pytest.approx(1.0 + 6.4 + 7.2)
    assert dial_duration(c, f"ATDP{number}") == pytest.approx(expected)
    record = c.records[-1]
    assert record.method == "pulse" and record.pulse_pps == 10 and record.digits == number


def test_dtmf_digits_take_s11_tone_and_gap():
    c = Console(book=PhoneBook(unknown=Entry(behaviour="busy")))
    c.at("ATE0S11=50")
    assert dial_duration(c, "ATDT0355703001") == pytest.approx(1.0 + 10 * 0.05 + 9 * 0.05)


def test_modifiers_take_their_time():
    c = Console(book=PhoneBook(unknown=Entry(behaviour="busy")))
    c.at("ATE0S8=3S29=50")
    # comma: S8; W: dial tone again; !: S29 x 10 ms; digits around them
    assert dial_duration(c, "ATDT1,2W3!4") == pytest.approx(1.0 + 4 * 0.095 + 3 + 1.0 + 0.5)
    c.at("ATX3")  # blind dialling waits S6 instead of listening for dial tone
    assert dial_duration(c, "ATDT1") == pytest.approx(2.0 + 0.095)


def test_quiet_answer_waits_for_the_answer_and_five_seconds_of_silence():
    c = Console()
    c.at("ATE0")
    c.at("ATDT1@23")
    took, said = c.until_result()
    assert said == b"\r\nCONNECT 33600\r\n"
    # 1 s dial tone, digit 1, 2 s ringing, 5 s quiet, digits 2 and 3 (with a gap), training
    assert took == pytest.approx(1.0 + 0.095 + 2 + 5 + 0.095 * 3 + 3)
    c2 = Console(book=PhoneBook(unknown=Entry(behaviour="no_answer")))
    c2.at("ATE0")
    c2.at("ATDT1@2")
    assert c2.until_result()[1] == b"\r\nNO ANSWER\r\n"


def test_dial_strings_parse():
    d = parse("t 0120-333-906;", True, None, [])
    assert d.digits == "0120333906" and d.stay_in_command and d.tone
    d = parse("P*9,T#1W@!", True, None, [])
    assert d.steps == (
        Digit("9", False), Step.PAUSE, Digit("#", True), Digit("1", True),
        Step.WAIT_DIAL_TONE, Step.QUIET_ANSWER, Step.FLASH,
    )  # fmt: skip
    assert parse("L", True, "T555;", []).digits == "555"
    assert parse("S=2", True, None, ["", "", "9,0120"]).digits == "90120"
    for bad in ("L", "S=", "S=7", "S=1"):
        with pytest.raises(DialError):
            parse(bad, True, None, ["1"])


def test_pulse_on_a_tone_line_is_busy_every_time_and_tone_on_a_pulse_line_too():
    for line, command in [(LineProfile(**FAST), "ATDP123"), (PULSE_LINE, "ATDT123")]:
        c = Console(line)
        c.at("ATE0")
        for _ in range(3):
            c.at(command)
            assert c.until_result()[1] == b"\r\nBUSY\r\n"
        assert {r.cause for r in c.records} == {int(Cause.BUSY)}
        assert "dialling on a line that accepts" in c.records[-1].route


def test_the_japanese_line_refuses_a_20_pps_make_ratio_it_does_not_allow():
    jp = load_profile(ROOT / "modem" / "jp-pulse.toml")
    assert jp.accepted == {"pulse10", "pulse20"}
    c = Console(jp)
    c.at("ATE0&P2")  # 39 % make at 20 pps: Japan allows 30-36 %
    c.at("ATDP1")
    assert c.until_result()[1] == b"\r\nBUSY\r\n"
    assert "make ratio" in c.records[-1].route
    c.at("AT&P3")  # 33 %
    c.at("ATDP1")
    assert c.until_result()[1] == b"\r\nCONNECT 33600\r\n"


def test_redial_restriction_trips_on_the_third_redial_within_three_minutes():
    line = LineProfile(**FAST, redial=RedialRules(enabled=True))
    c = Console(line, book=PhoneBook(unknown=Entry(behaviour="busy")))
    c.at("ATE0")
    times = []
    for _ in range(3):  # the first call and two redials are allowed
        times.append(c.now)
        c.at("ATDT0355703001")
        assert c.until_result()[1] == b"\r\nBUSY\r\n"
        c.advance(10)
    c.at("ATDT0355703001")  # the third redial, well within 180 s of the first call
    assert c.out.endswith(b"\r\nDELAYED\r\n")
    refused = c.records[-1]
    assert refused.hangup is Hangup.REFUSED and refused.cause == Cause.REDIAL_RESTRICTION
    assert refused.digits == "0355703001" and refused.dial_duration == 0
    c.at("ATX3")
    c.at("ATDT0355703001")
    assert c.out.endswith(b"\r\nERROR\r\n")  # below X4 DELAYED shows as ERROR
    c.at("ATX4")
    c.advance(180 - (c.now - times[0]))  # the series ends 3 minutes after its first call
    c.at("ATDT0355703001")
    assert c.until_result()[1] == b"\r\nBUSY\r\n"


def test_a_connect_clears_the_number_and_blacklisting_lasts():
    book = PhoneBook(numbers={"1": Entry(busy_first=3)})
    line = LineProfile(**FAST, redial=RedialRules(enabled=True, max_redials=2))
    c = Console(line, book)
    c.at("ATE0")
    for _ in range(3):
        c.at("ATDT1")
        assert c.until_result()[1] == b"\r\nBUSY\r\n"
    c.at("ATDT1")
    assert c.out.endswith(b"\r\nDELAYED\r\n")
    c.advance(200)
    c.at("ATDT1")
    assert c.until_result()[1] == b"\r\nCONNECT 33600\r\n"
    assert not c.engine.limiter._series
    strict = LineProfile(**FAST, redial=RedialRules(enabled=True, mode="blacklisted"))
    c = Console(strict, PhoneBook(unknown=Entry(behaviour="busy")))
    c.at("ATE0")
    for _ in range(3):
        c.at("ATDT1")
        c.until_result()
    c.at("ATDT1")
    assert c.out.endswith(b"\r\nBLACKLISTED\r\n")
    c.advance(1000)  # blacklisted for the rest of the session
    c.at("ATDT1")
    assert c.out.endswith(b"\r\nBLACKLISTED\r\n")
