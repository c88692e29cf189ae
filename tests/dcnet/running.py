"""Run ``dcsim dcnet`` as a separate process on loopback, for tests with real sockets."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dcsim.address import Listen

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
_LINE = re.compile(r"^dcnet (?P<what>.+) on (?P<address>\S+)$")
_MODEM = re.compile(r"^modem listening on (?P<address>\S+)")


@dataclass
class Running:
    process: subprocess.Popen
    listening: dict[str, Listen] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def address(self, what: str) -> Listen:
        for name, listen in self.listening.items():
            if name.startswith(what):
                return listen
        raise KeyError(f"{what} not in {list(self.listening)}")


@contextlib.contextmanager
def dcsim_dcnet(tmp_path: Path, *args: str, settings: str = "") -> Iterator[Running]:
    """Start ``dcsim dcnet`` with *args*; *settings* are more TOML lines (after [dcnet])."""
    config = tmp_path / "dcnet.toml"
    # every front end off unless an option names it: tests never bind the fixed ports
    config.write_text(
        f'[dns]\nzones = "{ROOT / "configs" / "zones"}"\n'
        "[dcnet]\nppp = []\nppp_7656 = []\nethernet = []\nprobe = []\nmodem = []\n"
        f"{settings}\n"
    )
    command = [sys.executable, "-m", "dcsim.cli", "--config", str(config), "dcnet", *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    running = Running(process)
    ready = threading.Event()
    expected = sum(1 for a in args if a.startswith("--") and a not in ("--pcap", "--session-log"))

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.strip()
            if m := _LINE.match(line):
                running.listening[m["what"]] = Listen.from_text(m["address"])
            elif m := _MODEM.match(line):
                running.listening["modem"] = Listen.from_text(m["address"])
            if len(running.listening) >= expected:
                ready.set()
        ready.set()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            running.log.append(line)

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
    for reader in readers:
        reader.start()
    try:
        if not ready.wait(START_TIMEOUT) or process.poll() is not None:
            raise RuntimeError("dcsim dcnet did not start:\n" + "".join(running.log))
        yield running
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for reader in readers:
            reader.join(5)
