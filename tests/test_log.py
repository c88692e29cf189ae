"""dcsim.log's quick paths: the level filter and the hot-path Logger give the same events
as Twisted's FilteringLogObserver and Logger."""

from __future__ import annotations

import io

import pytest
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
)
from twisted.logger import Logger as TwistedLogger

from dcsim.log import Logger, _LevelFilter, start_logging

LEVELS = [LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical]


def events():
    for level in LEVELS:
        yield {"log_level": level, "log_namespace": "dcsim.test", "log_format": "x"}
    yield {"log_level": LogLevel.error, "log_format": "no namespace"}
    yield {"log_namespace": "dcsim.test", "log_format": "no level"}


@pytest.mark.parametrize("level", LEVELS)
def test_the_level_filter_passes_what_twisteds_filter_passes(level):
    ours, theirs = [], []
    ours_filter = _LevelFilter(ours.append, level)
    theirs_filter = FilteringLogObserver(
        theirs.append, [LogLevelFilterPredicate(defaultLogLevel=level)]
    )
    for event in events():
        ours_filter(dict(event))
        theirs_filter(dict(event))
    assert ours == theirs


@pytest.fixture
def seen(log_events):
    yield log_events
    start_logging("text", LogLevel.critical, io.StringIO())  # as tests/conftest.py has it


def test_events_carry_the_same_fields_as_twisteds(seen):
    start_logging("text", LogLevel.info, io.StringIO())
    Logger(namespace="dcsim.test").info("x {a}", a=1)
    TwistedLogger(namespace="dcsim.test").info("x {a}", a=1)
    ours, theirs = seen
    assert ours.keys() == theirs.keys()
    assert {k: v for k, v in ours.items() if k not in ("log_time", "log_logger")} == {
        k: v for k, v in theirs.items() if k not in ("log_time", "log_logger")
    }


def test_debug_events_are_built_only_when_logging_runs_at_debug(seen):
    log = Logger(namespace="dcsim.test")
    start_logging("text", LogLevel.info, io.StringIO())
    assert not log.debugging
    log.debug("dropped {a}", a=1)
    log.info("kept")
    start_logging("text", LogLevel.debug, io.StringIO())
    assert log.debugging
    log.debug("kept {a}", a=2)
    assert [e["log_format"] for e in seen] == ["kept", "kept {a}"]


def test_an_invalid_level_is_reported_as_twisted_does(seen):
    start_logging("text", LogLevel.info, io.StringIO())
    Logger(namespace="dcsim.test").emit("not a level", "x")  # type: ignore[arg-type]
    assert [e["log_level"] for e in seen] == [LogLevel.critical]
    assert "invalid log level" in seen[0]["log_format"]
