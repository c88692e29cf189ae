"""Run ``dcsim pso`` as a separate process on loopback, and a small blocking-socket PSO
client that drives the client core, for end-to-end tests over real TCP."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dcsim.pso.client import Client, Phase, Profile, Redirect
from tests.dns.running import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


@dataclass
class Running:
    process: subprocess.Popen
    config: Path
    login_port: int
    ship_port: int
    log: list[str] = field(default_factory=list)


@contextlib.contextmanager
def dcsim_pso(tmp_path: Path, name: str, settings: str = "") -> Iterator[Running]:
    """Start ``dcsim pso`` with its own data directory and *settings* (TOML lines for
    the ``[pso]`` table)."""
    login_port, ship_port = free_port(), free_port()
    config = tmp_path / f"{name}.toml"
    config.write_text(f'data_dir = "{tmp_path / name}"\n[pso]\n{settings}\n')
    args = [
        sys.executable,
        "-m",
        "dcsim.cli",
        "--config",
        str(config),
        "pso",
        "--listen",
        f"tcp:127.0.0.1:{login_port}",
        "--ship-listen",
        f"tcp:127.0.0.1:{ship_port}",
    ]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    running = Running(process, config, login_port, ship_port)
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            running.log.append(line)
            if "ship on" in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(START_TIMEOUT) or process.poll() is not None:
            raise RuntimeError("dcsim pso did not start:\n" + "".join(running.log))
        yield running
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)


class SocketClient:
    """A Dreamcast on plain sockets: the client core, a TCP socket, and the 19 hop."""

    def __init__(self, profile: Profile, timeout: float = 10.0) -> None:
        self.client = Client(profile)
        self.timeout = timeout
        self.events: list[object] = []
        self.sock: socket.socket | None = None
        self.connections: list[tuple[str, int]] = []

    def login(self, host: str, port: int) -> None:
        """Connect and follow redirects until the lobby, a failure, or a hang-up."""
        target: tuple[str, int] | None = (host, port)
        while target is not None:
            self.close()
            self.connections.append(target)
            self.sock = socket.create_connection(target, self.timeout)
            self.client.connection_made(0)
            target = self._until(lambda: self.client.phase in (Phase.LOBBY, Phase.FAILED))

    def pump(self, seconds: float = 0.3) -> None:
        """Read what the server sends for a while (chat, joins...)."""
        assert self.sock is not None
        self.sock.settimeout(seconds)
        try:
            while chunk := self.sock.recv(65536):
                self._feed(chunk)
        except TimeoutError:
            pass
        finally:
            self.sock.settimeout(self.timeout)

    def chat(self, text: str) -> None:
        self.client.chat(text)
        self._flush()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _flush(self) -> None:
        out = self.client.data_to_send()
        if out and self.sock is not None:
            self.sock.sendall(out)

    def _feed(self, data: bytes) -> tuple[str, int] | None:
        self.client.receive_data(data, 0)
        self._flush()
        redirect = None
        for event in self.client.events():
            self.events.append(event)
            if isinstance(event, Redirect):
                redirect = (str(event.address), event.port)
        return redirect

    def _until(self, done) -> tuple[str, int] | None:  # type: ignore[no-untyped-def]
        assert self.sock is not None
        while not done():
            chunk = self.sock.recv(65536)
            redirect = self._feed(chunk)
            if redirect is not None:
                return redirect
            if not chunk:
                return None
        return None
