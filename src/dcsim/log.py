"""Logging through Twisted's logger: readable lines on a terminal, or JSON lines.

Code everywhere logs with ``twisted.logger.Logger()`` (or :class:`Logger`, the same
with a cheaper level check, for code that logs on a hot path); only the command line
calls :func:`start_logging`. Events should carry their facts as fields
(``log.info("query {name} from {peer}", name=..., peer=...)``) so the JSON form keeps them
as data, and are only formatted by an observer that keeps them. Secrets (passwords) are
never put into an event.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from time import time
from typing import Any, TextIO

import twisted.logger
from twisted.logger import (
    ILogObserver,
    LogLevel,
    formatEvent,
    globalLogBeginner,
)
from zope.interface import implementer, provider

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


_ALL_LEVELS = frozenset(LogLevel.iterconstants())


class Logger(twisted.logger.Logger):
    """``twisted.logger.Logger`` for code that logs on a hot path.

    The check that a level is valid is a set lookup (Twisted sorts the levels for
    every event), and debug events are not even built unless logging runs at debug
    level (:func:`start_logging`; before it is called they are kept, as Twisted keeps
    every event until logging begins): they are the chattiest, and on a hot path
    building and dropping them costs more than the work they describe. Other events
    are the same as Twisted's."""

    @property
    def debugging(self) -> bool:
        """Whether debug events are wanted: test it before a debug call whose fields
        cost something to gather."""
        return _switch.debug

    def debug(self, format: str | None = None, **kwargs: object) -> None:
        if _switch.debug:
            self.emit(LogLevel.debug, format, **kwargs)

    def emit(self, level: LogLevel, format: str | None = None, **kwargs: object) -> None:
        if level not in _ALL_LEVELS:
            super().emit(level, format, **kwargs)  # Twisted reports the bad level
            return
        kwargs.update(
            log_logger=self,
            log_level=level,
            log_namespace=self.namespace,
            log_source=self.source,
            log_format=format,
            log_time=time(),
        )
        if "log_trace" in kwargs:
            kwargs["log_trace"].append((self, self.observer))  # type: ignore[attr-defined]
        self.observer(kwargs)


# Twisted announces every port and factory it starts or stops at info level; dcsim prints
# what it listens on itself, so these are debug detail.
_CHATTER = re.compile(
    r" starting on \d+$|^\(.* Port \d+ Closed\)$|^(Starting|Stopping) (factory|protocol) "
)


@implementer(ILogObserver)
class _LevelFilter:
    """Passes on events at *level* and above that name a namespace, as Twisted's
    ``FilteringLogObserver`` with a ``LogLevelFilterPredicate`` does, in one set lookup:
    events below the level (debug lines on a hot path) cost next to nothing. Twisted's
    port and factory chatter counts as debug."""

    def __init__(self, observer: ILogObserver, level: LogLevel) -> None:
        self._observer = observer
        self._wanted = frozenset(lvl for lvl in _ALL_LEVELS if lvl >= level)
        self._chatter_shown = level <= LogLevel.debug

    def __call__(self, event: dict[str, Any]) -> None:
        level = event.get("log_level")
        if level in self._wanted and event.get("log_namespace"):
            if (
                not self._chatter_shown
                and level is LogLevel.info
                and _CHATTER.search(formatEvent(event))
            ):
                return
            if "log_trace" in event:
                event["log_trace"].append((self, self._observer))
            self._observer(event)


def make_observer(stream: TextIO, fmt: str, level: LogLevel) -> ILogObserver:
    """An observer writing events at *level* and above to *stream* in format *fmt*."""
    formatter = format_json if fmt == "json" else format_text

    @provider(ILogObserver)
    def write(event: dict[str, Any]) -> None:
        stream.write(formatter(event))
        stream.flush()

    return _LevelFilter(write, level)


@provider(ILogObserver)
class _Switch:
    """The one observer handed to Twisted's log beginner; later calls swap its target."""

    target: ILogObserver | None = None
    #: Whether debug events are wanted (see :class:`Logger`).
    debug = True

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
    _switch.debug = level <= LogLevel.debug
    if first:
        globalLogBeginner.beginLoggingTo([_switch], redirectStandardIO=False)
