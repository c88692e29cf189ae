"""Logs of records kept in memory and appended to a file as JSON lines: the fake modem's
call log (:mod:`dcsim.modem.calllog`) and the DCNet session log
(:mod:`dcsim.dcnet.sessionlog`), which ``dcsim check`` reads back."""

from __future__ import annotations

import json
from typing import IO, Any, Generic, Protocol, TypeVar


class Record(Protocol):
    def to_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)


class RecordLog(Generic[R]):
    """Records in the order they were appended; each also written to *sink* at once."""

    def __init__(self, sink: IO[str] | None = None) -> None:
        self.records: list[R] = []
        self._sink = sink

    def append(self, record: R) -> None:
        self.records.append(record)
        if self._sink is not None:
            self._sink.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            self._sink.flush()
