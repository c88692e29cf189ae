"""Line profiles, phone books, the call log format and the parsers under fuzzing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.config import ConfigError
from dcsim.modem.calllog import CallLog, read_jsonl
from dcsim.modem.commands import CommandError, tokenize
from dcsim.modem.dialstring import DialError, parse
from dcsim.modem.line import find_profile, load_phonebook, load_profile
from dcsim.modem.pacer import Pacer
from tests.modemkit import Console

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "modem"


@pytest.mark.parametrize("name", ["jp", "jp-pulse", "eu", "us"])
def test_shipped_profiles_load(name):
    line = load_profile(find_profile(name, PROFILES))
    assert line.name == name
    c = Console(line)
    c.at("ATE0")
    c.at("ATDT1" if "tone" in line.accepted else "ATDP1")
    assert c.until_result()[1] == f"\r\nCONNECT {line.rate}\r\n".encode()


def test_the_japanese_profile_says_what_the_research_says():
    jp = load_profile(PROFILES / "jp.toml")
    assert jp.redial.enabled and jp.redial.max_redials == 2 and jp.redial.window == 180
    assert jp.register_range(6) == (3, 65) and jp.register_range(7) == (35, 59)
    assert jp.rate == 33600 and jp.accepted == {"tone"}
    us = load_profile(PROFILES / "us.toml")
    assert us.rate > 33600 and us.transmit_rate <= 33600 and not us.redial.enabled


def test_profile_errors_name_file_and_key(tmp_path):
    def error(text: str) -> str:
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(ConfigError) as e:
            load_profile(path)
        return str(e.value)

    assert error('accepts = ["rotary"]') == (
        f'{tmp_path}/bad.toml: accepts[0]: expected one of "tone", "pulse10", "pulse20", '
        'got "rotary"'
    )
    assert "registers.S99: unknown register" in error("[registers.S99]\nmin = 1\n")
    assert "registers.S6: range outside [2, 255]" in error("[registers.S6]\nmin = 1\n")
    assert "defaults.&Q: unknown" in error('[defaults]\n"&Q" = 1\n')
    assert "outside_prefix" in error('outside_prefix = "9,"')
    assert "loops back" in error('extends = "bad"')
    assert "no such file" in error('extends = "missing"')
    with pytest.raises(ConfigError, match="no line profile named 'mars'; available: eu, jp"):
        find_profile("mars", PROFILES)


def test_phone_books_load_and_normalise(tmp_path):
    path = tmp_path / "book.toml"
    path.write_text(
        '[numbers."0120-333-906"]\nbehaviour = "busy"\n'
        '[numbers."(03) 5570 3001"]\nanswerer = "tcp:127.0.0.1:7654"\n'
        '[unknown]\nbehaviour = "voice"\n'
    )
    book = load_phonebook(path)
    assert set(book.numbers) == {"0120333906", "0355703001"}
    assert book.answerers() == {"numbers.0355703001.answerer": "tcp:127.0.0.1:7654"}
    path.write_text('[numbers."12x"]\n')
    with pytest.raises(ConfigError, match=r"numbers\.12x: expected digits"):
        load_phonebook(path)
    path.write_text('[numbers."1"]\nbehaviour = "engaged"\n')
    with pytest.raises(ConfigError, match=r'numbers\.1\.behaviour: expected one of "answer"'):
        load_phonebook(path)


def test_call_log_round_trips_and_is_queryable():
    sink = io.StringIO()
    log = CallLog(sink)
    c = Console()
    c.at("ATE0")
    for number in ("1", "2"):
        c.at(f"ATDT{number}")
        c.until_result()
        c.dtr(False)
        c.dtr(True)
    for record in c.records:
        log.append(record)
    back = list(read_jsonl(sink.getvalue().splitlines()))
    assert back == c.records
    assert [r.number for r in log.find(number="2")] == ["2"]
    assert len(log.find(result="CONNECT 33600")) == 2
    assert log.find(modem="other") == []
    first = json.loads(sink.getvalue().splitlines()[0])
    assert list(first)[:3] == ["v", "modem", "call"]
    assert first["hangup"] == "dtr_drop" and first["hung_up_by"] == "dte"


def test_pacer_releases_bytes_at_the_rate_and_bounds_its_queue():
    p = Pacer(1000.0, limit=100)
    p.push(b"x" * 150, 0.0)
    assert len(p) == 100 and p.dropped == 50
    assert p.pull(0.05) == b"x" * 50
    assert p.deadline() == pytest.approx(0.06)
    assert p.pull(1.0) == b"x" * 50 and p.deadline() is None
    p.push(b"y", 5.0)  # an idle line starts sending when the byte arrives
    assert p.pull(5.0005) == b"" and p.pull(5.001) == b"y"


@given(st.text(max_size=300))
def test_the_command_tokenizer_never_fails_unexpectedly(text):
    try:
        commands = tokenize(text)
    except CommandError:
        return
    assert all(c.number is None or 0 <= c.number < 10**6 for c in commands)


@given(st.text(max_size=300), st.booleans(), st.none() | st.text(max_size=40))
def test_the_dial_string_parser_never_fails_unexpectedly(text, tone, last):
    try:
        dial = parse(text, tone, last, ["", "123", "", "T9,W0"])
    except DialError:
        return
    assert set(dial.digits) <= set("0123456789*#ABCD")
    assert len(dial.steps) <= len(dial.text)
