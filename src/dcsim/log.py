"""Logging through Twisted's logger: readable lines on a terminal, or JSON lines.

Code everywhere logs with ``twisted.logger.Logger()``; only the command line calls
:func:`start_logging`. Events should carry their facts as fields
(``log.info("query {name} from {peer}", name=..., peer=...)``) so the JSON form keeps them
as data. Secrets (passwords) are never put into an event.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    PredicateResult,
    formatEvent,
    globalLogBeginner,
)
from zope.interface import provider

LEVELS: dict[str, LogLevel] = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "error": LogLevel.error,
}


def level_from_verbosity(base: str, verbose: int, quiet: int) -> LogLevel:
    """Move *base* one step down per ``-v`` and one step up per ``-q``."""
    order = list(LEVELS.values())
    index = order.index(LEVELS[base]) - verbose + quiet
    return order[max(0, min(len(order) - 1, index))]


def _event_time(event: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(event.get("log_time", 0.0), UTC)


def format_text(event: dict[str, Any]) -> str:
    """``13:20:01.123 info  dcsim.dns.server: message`` plus a traceback if any."""
    stamp = _event_time(event).strftime("%H:%M:%S.%f")[:-3]
    level = event.get("log_level", LogLevel.info).name
    namespace = event.get("log_namespace", "-")
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text += "\n" + failure.getTraceback()
    return f"{stamp} {level:<5} {namespace}: {text}\n"


def format_json(event: dict[str, Any]) -> str:
    """One JSON object a line: time, level, namespace, message and the event's own fields."""
    record: dict[str, Any] = {
        "time": _event_time(event).isoformat(timespec="milliseconds"),
        "level": event.get("log_level", LogLevel.info).name,
        "namespace": event.get("log_namespace", "-"),
        "message": formatEvent(event),
    }
    for key, value in event.items():
        if key.startswith("log_") or key in record or key == "format":
            continue
        record[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
    failure = event.get("log_failure")
    if failure is not None:
        record["traceback"] = failure.getTraceback()
    return json.dumps(record, ensure_ascii=False) + "\n"


# Twisted announces every port and factory it starts or stops at info level; dcsim prints
# what it listens on itself, so these are debug detail.
_CHATTER = re.compile(
    r" starting on \d+$|^\(.* Port \d+ Closed\)$|^(Starting|Stopping) (factory|protocol) "
)


def _chatter_is_debug(level: LogLevel) -> Callable[[dict[str, Any]], PredicateResult]:
    def predicate(event: dict[str, Any]) -> PredicateResult:
        if level <= LogLevel.debug or event.get("log_level", LogLevel.info) > LogLevel.info:
            return PredicateResult.maybe
        if _CHATTER.search(formatEvent(event)):
            return PredicateResult.no
        return PredicateResult.maybe

    return predicate


def make_observer(stream: TextIO, fmt: str, level: LogLevel) -> ILogObserver:
    """An observer writing events at *level* and above to *stream* in format *fmt*."""
    formatter = format_json if fmt == "json" else format_text

    @provider(ILogObserver)
    def write(event: dict[str, Any]) -> None:
        stream.write(formatter(event))
        stream.flush()

    predicate = LogLevelFilterPredicate(defaultLogLevel=level)
    return FilteringLogObserver(write, [predicate, _chatter_is_debug(level)])


@provider(ILogObserver)
class _Switch:
    """The one observer handed to Twisted's log beginner; later calls swap its target."""

    target: ILogObserver | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        if self.target is not None:
            self.target(event)


_switch = _Switch()


def start_logging(fmt: str, level: LogLevel, stream: TextIO | None = None) -> None:
    """Send all of Twisted's log events to *stream* (stderr by default).

    Safe to call again (tests run the command in-process): the new settings replace the old.
    """
    first = _switch.target is None
    _switch.target = make_observer(stream or sys.stderr, fmt, level)
    if first:
        globalLogBeginner.beginLoggingTo([_switch], redirectStandardIO=False)
