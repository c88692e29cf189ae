"""Run twistd (the plugin or a ``servers/*.tac`` file) in a subprocess, every port on a
free loopback port, the data directory in tmp."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers import free_port

ROOT = Path(__file__).resolve().parents[2]
TWISTD = str(Path(sys.executable).with_name("twistd"))
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
ANNOUNCED = "[dcsim.service#info]"

# Every listening setting of dcsim, by a name the tests use.
TCP = ("dns_tcp", "auth", "login", "ship", "ppp", "ppp_7656", "ethernet", "modem", "status")
UDP = ("dns_udp", "probe")


@dataclass
class Ports:
    number: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.number[name]


def settings_file(tmp_path: Path, extra: str = "") -> tuple[Path, Ports]:
    """A settings file putting every listener on a free loopback port."""
    ports = Ports({name: free_port() for name in (*TCP, *UDP)})
    ports.number["dns_tcp"] = ports["dns_udp"]

    def at(transport: str, name: str) -> str:
        return f'"{transport}:127.0.0.1:{ports[name]}"'

    text = f"""\
data_dir = "{tmp_path / "data"}"
[modem]
profiles = "{ROOT / "modem"}"
[auth]
listen = [{at("tcp", "auth")}]
[auth.certificates]
key_bits = 1024
ca_key_bits = 512
[dns]
zones = "{ROOT / "configs" / "zones"}"
listen = [{at("udp", "dns_udp")}, {at("tcp", "dns_tcp")}]
[pso]
listen = [{at("tcp", "login")}]
ship_listen = {at("tcp", "ship")}
[dcnet]
ppp = [{at("tcp", "ppp")}]
ppp_7656 = [{at("tcp", "ppp_7656")}]
ethernet = [{at("tcp", "ethernet")}]
probe = [{at("udp", "probe")}]
modem = [{at("tcp", "modem")}]
[status]
listen = {at("tcp", "status")}
{extra}"""
    path = tmp_path / "dcsim.toml"
    path.write_text(text)
    return path, ports


@dataclass
class Twistd:
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)
    exited: threading.Event = field(default_factory=threading.Event)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send *sig* and wait; twistd ends by re-raising the signal it was stopped with,
        so a clean stop is ``-sig``."""
        self.process.send_signal(sig)
        code = self.process.wait(STOP_TIMEOUT)
        self.exited.wait(5)
        return code


@contextlib.contextmanager
def twistd(
    tmp_path: Path, *args: str, config: Path | None = None, until: str = ""
) -> Iterator[Twistd]:
    """``twistd -n *args`` in *tmp_path*, with ``$DCSIM_CONFIG`` = *config*; yields once
    the service has announced what it listens on (a line containing *until*, by default
    its first line), with every line so far in ``output``."""
    env = dict(os.environ)
    env.pop("DCSIM_CONFIG", None)
    if config is not None:
        env["DCSIM_CONFIG"] = str(config)
    command = [TWISTD, "-n", "--pidfile", str(tmp_path / "twistd.pid"), *args]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Twistd(process)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.output.append(line)
            if ANNOUNCED in line and until in line:
                ready.set()
        running.exited.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(START_TIMEOUT) or process.poll() is not None:
            raise RuntimeError(f"twistd {' '.join(args)} did not start:\n{running.text}")
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(5)


def run_twistd(
    tmp_path: Path, *args: str, config: Path | None = None
) -> subprocess.CompletedProcess:
    """``twistd -n *args`` to completion (for start-up failures)."""
    env = dict(os.environ)
    env.pop("DCSIM_CONFIG", None)
    if config is not None:
        env["DCSIM_CONFIG"] = str(config)
    command = [TWISTD, "-n", "--pidfile", str(tmp_path / "twistd.pid"), *args]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=START_TIMEOUT
    )
