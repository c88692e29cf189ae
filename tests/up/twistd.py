"""Run twistd (the plugin or a ``servers/*.tac`` file) in a subprocess, every port on a
free loopback port, the data directory in tmp."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers import free_port
from tests.running import ROOT, Running, started

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


@contextlib.contextmanager
def twistd(
    tmp_path: Path, *args: str, config: Path | None = None, until: str = ""
) -> Iterator[Running]:
    """``twistd -n *args`` in *tmp_path*, with ``$DCSIM_CONFIG`` = *config*; yields once
    the service has announced what it listens on (a line containing *until*, by default
    its first line), with every line so far (standard output and error) in ``output``.
    twistd ends by re-raising the signal it was stopped with, so a clean ``stop()`` is
    ``-SIGTERM``."""

    def announced(running: Running) -> bool:
        return any(ANNOUNCED in line and until in line for line in running.output)

    with started(
        _command(tmp_path, args),
        until=announced,
        name=f"twistd {' '.join(args)}",
        cwd=tmp_path,
        env=_environment(config),
        stderr=subprocess.STDOUT,
        start_timeout=START_TIMEOUT,
        stop_timeout=STOP_TIMEOUT,
    ) as running:
        yield running


def run_twistd(
    tmp_path: Path, *args: str, config: Path | None = None
) -> subprocess.CompletedProcess:
    """``twistd -n *args`` to completion (for start-up failures)."""
    return subprocess.run(
        _command(tmp_path, args),
        cwd=tmp_path,
        env=_environment(config),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )


def _command(tmp_path: Path, args: tuple[str, ...]) -> list[str]:
    return [TWISTD, "-n", "--pidfile", str(tmp_path / "twistd.pid"), *args]


def _environment(config: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DCSIM_CONFIG", None)
    if config is not None:
        env["DCSIM_CONFIG"] = str(config)
    return env
