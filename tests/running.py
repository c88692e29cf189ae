"""Programs in their own processes, for end-to-end tests and benchmarks: start one (dcsim
with a settings file, or a peer), wait until it says it is ready, read the addresses it
announces, and stop it however the test ends.

Its output is read by threads as it comes, so a chatty program never stalls on a full
pipe, and a program that exits or stays silent at start is an error carrying all it wrote.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dcsim.address import Listen

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
READ_TIMEOUT = 5.0  # for the last lines once the process has exited

_ADDRESS = re.compile(r"\b(?:tcp|udp):(?:\[[0-9A-Fa-f:.]+\]|[0-9.]+):[0-9]+")


@dataclass
class Running:
    """A started program and what it has written so far, a line an item: ``output`` from
    its standard output, ``log`` from its standard error (unless merged into output)."""

    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)
    stop_timeout: float = STOP_TIMEOUT

    @property
    def text(self) -> str:
        return "".join(self.output + self.log)

    def line(self, what: str) -> str:
        """The first line it wrote containing *what*."""
        for line in self.output + self.log:
            if what in line:
                return line
        raise KeyError(f"no line with {what!r} in:\n{self.text}")

    def address(self, what: str) -> Listen:
        """The first ``transport:host:port`` after *what* on the first line containing it:
        ``address("ship on")``, ``address("dcnet Ethernet")``."""
        line = self.line(what)
        found = _ADDRESS.search(line, line.index(what) + len(what))
        if found is None:
            raise KeyError(f"no address after {what!r} in {line!r}")
        return Listen.from_text(found.group())

    def wait(self, timeout: float | None = None) -> int:
        """Its exit status once it has exited and its last lines are read."""
        code = self.process.wait(self.stop_timeout if timeout is None else timeout)
        for reader in self.readers:
            reader.join(READ_TIMEOUT)
        return code

    def stop(self, sig: int = signal.SIGTERM, timeout: float | None = None) -> int:
        """Send *sig* unless it has exited, then :meth:`wait`; killed after *timeout*
        (by default the ``stop_timeout`` it was started with)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.wait()


Ready = Callable[[Running], bool]


@contextlib.contextmanager
def started(
    command: list[str],
    *,
    until: str | Ready | None = None,
    name: str = "",
    stdout: int | IO[Any] = subprocess.PIPE,
    stderr: int | IO[Any] = subprocess.PIPE,
    start_timeout: float = START_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
    **popen: Any,
) -> Iterator[Running]:
    """Run *command* (in the project's root unless *cwd* says otherwise) and yield it once
    it has written a line containing *until* (or ``until(running)`` holds; at once when
    *until* is None). It is stopped on the way out: SIGTERM, SIGKILL after
    *stop_timeout*. *stdout* and *stderr* are read when they are pipes;
    ``stderr=subprocess.STDOUT`` puts both into ``output``."""
    popen.setdefault("cwd", ROOT)
    process = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, **popen)
    running = Running(process, stop_timeout=stop_timeout)
    ready = threading.Event()
    if until is None:
        is_ready: Ready = lambda _: True  # noqa: E731
    elif isinstance(until, str):
        text = until
        is_ready = lambda r: any(text in line for line in r.output + r.log)  # noqa: E731
    else:
        is_ready = until

    def read(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)
            if is_ready(running):
                ready.set()
        ready.set()  # it closed its output: it has exited, or is about to

    for stream, into in ((process.stdout, running.output), (process.stderr, running.log)):
        if stream is not None:
            running.readers.append(threading.Thread(target=read, args=(stream, into), daemon=True))
    for reader in running.readers:
        reader.start()
    if is_ready(running) or not running.readers:
        ready.set()
    try:
        if not ready.wait(start_timeout) or not is_ready(running) or process.poll() is not None:
            running.stop()
            what = name or Path(command[0]).name
            raise RuntimeError(f"{what} did not start:\n{running.text}")
        yield running
    finally:
        running.stop()


def dcsim_command(*args: str, config: Path | None = None) -> list[str]:
    """``dcsim [--config CONFIG] ARGS`` with this interpreter."""
    settings = ["--config", str(config)] if config is not None else []
    return [sys.executable, "-m", "dcsim.cli", *settings, *args]


def run_dcsim(
    *args: str, config: Path | None = None, timeout: float = 60.0, **options: Any
) -> subprocess.CompletedProcess[str]:
    """``dcsim ARGS`` to completion in the project's root, its output captured as text
    (*options* go to :func:`subprocess.run`: ``input=``, ``env=``...)."""
    options.setdefault("cwd", ROOT)
    command = dcsim_command(*args, config=config)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **options)


def started_dcsim(
    *args: str, config: Path | None = None, **options: Any
) -> contextlib.AbstractContextManager[Running]:
    """``dcsim ARGS`` with the settings file *config*, :func:`started` with *options*:
    ``with started_dcsim("auth", "--listen", "tcp:127.0.0.1:0", config=path,
    until="licence server on") as auth: port = auth.address("licence server").port``."""
    subcommand = next((a for a in args if not a.startswith("-")), "")
    options.setdefault("name", f"dcsim {subcommand}".strip())
    return started(dcsim_command(*args, config=config), **options)
