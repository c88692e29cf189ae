"""The console's AT dialler against the real fake-modem engine, in explicit time: Sega's
rules (numbers in order on busy, 5-10 s between attempts, give up after 10 minutes,
cancel, hang up) and the causes each dial result is shown as."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.causes import Cause
from dcsim.client.dialler import (
    AttemptFailed,
    Cancelled,
    CommandSent,
    Connected,
    DialFailed,
    Dialler,
    Dialling,
    DialSettings,
    HungUp,
    LineType,
    State,
    parse_result,
)
from dcsim.modem.calllog import Hangup
from dcsim.modem.line import Entry, LineProfile, PhoneBook, RedialRules
from dcsim.modem.results import Result
from tests.client.dialpair import FAST, DialPair, book

BUSY = Entry(behaviour="busy")


def test_the_stored_at_string_goes_first_then_the_first_number_connects():
    pair = DialPair(DialSettings(("0355703001", "0120333906")))
    pair.start(60)
    sent = [e.line for e in pair.of(CommandSent)]
    assert sent == ["AT&F0", "ATDT0355703001"]
    (connected,) = pair.of(Connected)
    assert connected.number == "0355703001" and connected.rate == 33600
    assert pair.dialler.state is State.ONLINE
    assert pair.records == []  # the call is still up: the modem logs it when it ends


def test_on_busy_the_next_number_is_dialled_after_the_redial_interval():
    pair = DialPair(
        DialSettings(("111", "222", "333"), redial_interval=7.0),
        book=book(n111=BUSY, n222=BUSY),
    )
    pair.start(120)
    assert [d.number for d in pair.of(Dialling)] == ["111", "222", "333"]
    assert [f.result for f in pair.of(AttemptFailed)] == [Result.BUSY, Result.BUSY]
    first, second = pair.records
    assert second.t_dial - first.t_end == pytest.approx(7.0)
    assert pair.of(Connected)[0].number == "333"


def test_gives_up_after_ten_minutes_with_the_busy_cause():
    pair = DialPair(DialSettings(("111", "222")), book=PhoneBook(unknown=BUSY))
    pair.start(1200)
    (failed,) = pair.of(DialFailed)
    assert failed.cause is Cause.BUSY
    starts = [r.t_dial for r in pair.records]
    assert starts[-1] - starts[0] <= 600.0
    assert len(starts) > 50  # about 7 s per attempt (busy detect + dialling + 5 s wait)
    numbers = [r.digits for r in pair.records]
    assert numbers[:4] == ["111", "222", "111", "222"]  # in order, round and round
    assert pair.dialler.deadline() is None


def test_the_japanese_redial_restriction_is_shown_as_cause_5():
    line = LineProfile(**FAST, redial=RedialRules(enabled=True))
    pair = DialPair(DialSettings(("111",)), line=line, book=PhoneBook(unknown=BUSY))
    pair.start(120)
    (failed,) = pair.of(DialFailed)
    assert failed.cause is Cause.REDIAL_RESTRICTION
    assert [f.result for f in pair.of(AttemptFailed)] == [
        Result.BUSY,
        Result.BUSY,
        Result.BUSY,
        Result.DELAYED,
    ]


def test_tone_dialling_on_a_pulse_line_is_busy_every_time():
    line = LineProfile(**FAST, line_type="pulse")
    pair = DialPair(DialSettings(("111",), give_up_after=60), line=line)
    pair.start(120)
    assert pair.of(DialFailed)[0].cause is Cause.BUSY
    assert {r.far_end for r in pair.records} == {"busy"}
    assert {r.method for r in pair.records} == {"tone"}


def test_the_pulse_setting_is_honoured():
    line = LineProfile(**FAST, line_type="pulse")
    pair = DialPair(DialSettings(("111",), line_type=LineType.PULSE), line=line)
    pair.start(60)
    assert pair.of(Connected)
    assert pair.of(CommandSent)[1].line == "ATDP111"


def test_no_dial_tone_is_the_unplugged_cable():
    pair = DialPair(DialSettings(("111",)), line=LineProfile(**FAST, dial_tone=False))
    pair.start(60)
    assert pair.of(DialFailed)[0].cause is Cause.CABLE_UNPLUGGED
    assert len(pair.records) == 1


def test_the_outside_line_prefix_reaches_the_exchange():
    line = LineProfile(**FAST, outside_prefix="0")
    pair = DialPair(DialSettings(("111",), outside_prefix="0,"), line=line)
    pair.start(60)
    assert pair.of(Connected)
    without = DialPair(DialSettings(("111",), give_up_after=30), line=line)
    without.start(60)
    assert without.of(DialFailed)[0].cause is Cause.SERVER_DOWN


def test_cancel_while_dialling_stops_the_modem():
    pair = DialPair(DialSettings(("0355703001",)))
    pair.dialler.start(0.0)
    pair.run(1.5)  # off hook, listening for dial tone
    pair.dialler.cancel(pair.now)
    pair.run(10)
    assert pair.of(Cancelled) and not pair.of(Connected)
    assert pair.records[-1].hangup is Hangup.DTE_ABORT


def test_hang_up_escapes_and_sends_ath0():
    pair = DialPair(DialSettings(("111",)))
    pair.start(60)
    pair.dialler.hang_up(pair.now)
    pair.run(10)
    (hung,) = pair.of(HungUp)
    assert hung.clean
    assert pair.records[-1].hangup is Hangup.DTE_COMMAND


def test_numeric_results_are_understood():
    pair = DialPair(DialSettings(("111", "222"), init="AT&F0V0"), book=book(n111=BUSY))
    pair.start(60)
    assert pair.of(AttemptFailed)[0].result is Result.BUSY
    assert pair.of(Connected)[0].rate == 33600


def test_a_stored_string_the_modem_refuses_means_no_modem():
    pair = DialPair(DialSettings(("111",), init="AT&Q9"))
    pair.start(60)
    assert pair.of(DialFailed)[0].cause is Cause.NO_PHYSICAL_CONNECTION


def test_silence_means_no_modem():
    dialler = Dialler(DialSettings(("111",)))
    dialler.start(0.0)
    dialler.handle_timer(dialler.deadline())
    (failed,) = [e for e in dialler.events() if isinstance(e, DialFailed)]
    assert failed.cause is Cause.NO_PHYSICAL_CONNECTION


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("BUSY", (Result.BUSY, None)),
        ("7", (Result.BUSY, None)),
        ("CONNECT 33600", (Result.CONNECT, 33600)),
        ("CONNECT 50666/V90", (Result.CONNECT, 50666)),
        ("38", (Result.CONNECT, 33600)),
        ("NO DIALTONE", (Result.NO_DIALTONE, None)),
        ("dcsim fake Hayes modem", None),
        ("99", None),
    ],
)
def test_parse_result(line, expected):
    assert parse_result(line) == expected


def test_settings_are_checked():
    with pytest.raises(ValueError, match="one to three"):
        DialSettings(("1", "2", "3", "4"))
    with pytest.raises(ValueError, match="CR, LF"):
        DialSettings(("1;",))
    with pytest.raises(ValueError, match="start with AT"):
        DialSettings(("1",), init="&F0")


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_any_modem_output_is_survived(chunks):
    dialler = Dialler(DialSettings(("111",)))
    dialler.start(0.0)
    for n, chunk in enumerate(chunks):
        dialler.receive_data(chunk, float(n))
        list(dialler.events())
        dialler.data_to_send()
        assert len(dialler._buffer) <= 300
