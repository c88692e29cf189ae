"""Run ``dcsim dns`` as a separate process on loopback, for tests with real clients."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.dns.helpers import ROOT
from tests.peers import free_port

START_TIMEOUT = 30.0


@dataclass
class Running:
    process: subprocess.Popen
    host: str
    port: int
    log: list[str] = field(default_factory=list)


@contextlib.contextmanager
def dcsim_dns(
    tmp_path: Path,
    settings: str = "",
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    tcp: bool = True,
    zones: Path | None = None,
) -> Iterator[Running]:
    """Start ``dcsim dns`` with *settings* (TOML lines for the ``[dns]`` table)."""
    port = free_port(host) if port is None else port
    config = tmp_path / f"dns-{host}-{port}.toml"
    zone_dir = zones or ROOT / "configs" / "zones"
    config.write_text(f'[dns]\nzones = "{zone_dir}"\n{settings}\n')
    args = [sys.executable, "-m", "dcsim.cli", "--config", str(config), "dns"]
    args += ["--listen", f"udp:{host}:{port}"]
    if tcp:
        args += ["--listen", f"tcp:{host}:{port}"]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    running = Running(process, host, port)
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            running.log.append(line)
            if "serving" in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(START_TIMEOUT) or process.poll() is not None:
            raise RuntimeError("dcsim dns did not start:\n" + "".join(running.log))
        yield running
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)
