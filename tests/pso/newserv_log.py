"""Read the newserv session excerpts in tests/data/newserv/ (see the README there)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent.parent / "data" / "newserv"
_EVENT = re.compile(
    r"\[Commands\] (?P<dir>Sending to|Received from) (?P<client>C-\d+)\b.*\(version=\w+ "
    r"command=(?P<cmd>[0-9A-F]{2}) flag=(?P<flag>[0-9A-F]{2})\)"
)
_CONNECTED = re.compile(r"Client connected: (?P<client>C-\d+)")
_HEX = re.compile(r"^(?P<offset>[0-9A-F]{4}) \| (?P<bytes>(?:[0-9A-F]{2} ?)+)")


@dataclass(frozen=True)
class Logged:
    """One logged command: who sent it, on which connection, and its decrypted bytes."""

    client: str  # newserv's connection name, C-n
    from_client: bool
    data: bytes

    @property
    def command(self) -> int:
        return self.data[0]

    @property
    def flag(self) -> int:
        return self.data[1]


def read(name: str) -> list[Logged]:
    """The commands of an excerpt, in order (hex is authoritative, labels are not)."""
    commands: list[Logged] = []
    current: tuple[str, bool] | None = None
    chunk = bytearray()

    def finish() -> None:
        if current is not None:
            size = int.from_bytes(chunk[2:4], "little")
            assert size == len(chunk), f"{name}: logged size {size:#x} != {len(chunk):#x}"
            commands.append(Logged(current[0], current[1], bytes(chunk)))

    for line in (DATA / name).read_text().splitlines():
        if line.startswith("#"):
            continue
        if m := _HEX.match(line):
            assert int(m["offset"], 16) == len(chunk), f"{name}: gap at {line!r}"
            chunk += bytes.fromhex(m["bytes"])
            continue
        if m := _EVENT.search(line):
            finish()
            current = (m["client"], m["dir"] == "Received from")
            chunk = bytearray()
        elif _CONNECTED.search(line) or "disconnected" in line:
            finish()
            current = None
            chunk = bytearray()
    finish()
    return commands


def connections(commands: list[Logged]) -> dict[str, list[Logged]]:
    """The commands grouped by connection, in the order the connections were made."""
    grouped: dict[str, list[Logged]] = {}
    for c in commands:
        grouped.setdefault(c.client, []).append(c)
    return grouped
