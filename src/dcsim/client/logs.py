"""Reading the logs ``dcsim check`` judges: the fake modem's call log and the DCNet
session log, JSON lines, each record's format told by its own fields (a file may mix
them). Anything else is one :class:`LogError` naming the file and the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dcsim.config import ConfigError
from dcsim.dcnet.sessionlog import RECORD, SessionRecord
from dcsim.modem.calllog import CallRecord

MAX_LINE = 1 << 20  # a record is at most a few kilobytes; a longer line is not one
LogRecord = CallRecord | SessionRecord


class LogError(ValueError):
    """A log that cannot be read: ``FILE:LINE: what is wrong`` (or ``FILE: ...``)."""


def parse_record(data: Any) -> LogRecord:
    """One decoded JSON value as a record; :class:`ValueError` says what is wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    version = data.get("v")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"v: expected the format version (1, 2...), got {version!r:.40}")
    kind = data.get("record")
    try:
        if kind == RECORD:
            return SessionRecord.from_json(data)
        if kind is None and "modem" in data:
            return CallRecord.from_json(data)
    except ConfigError as e:
        raise ValueError(f"{e.source}: {e.key}: {e.message}") from None
    if kind is not None:
        raise ValueError(f"record: unknown kind {kind!r:.40} (this dcsim reads {RECORD!r})")
    raise ValueError("neither a modem call record nor a DCNet session record")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a log holds")


def read_log(path: Path) -> list[LogRecord]:
    """Every record of the log at *path*, in order."""
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if len(line) > MAX_LINE:
                    raise LogError(f"{path}:{n}: a line of {len(line)} characters is no record")
                if not line.strip():
                    continue
                try:
                    records.append(parse_record(json.loads(line, parse_constant=_no_constant)))
                except (ValueError, RecursionError) as e:
                    raise LogError(f"{path}:{n}: not a log record: {e}") from None
    except FileNotFoundError:
        raise LogError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LogError(f"{path}: is a directory, expected a log") from None
    except UnicodeDecodeError:
        raise LogError(f"{path}: not UTF-8 text") from None
    except PermissionError:
        raise LogError(f"{path}: permission denied") from None
    return records
