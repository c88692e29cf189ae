"""Run ``dcsim pso`` as a separate process on loopback, and a small blocking-socket PSO
client that drives the client core, for end-to-end tests over real TCP."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dcsim.pso.client import Client, Phase, Profile, Redirect
from tests.running import ROOT, Running, started_dcsim

__all__ = ["ROOT", "PsoServer", "SocketClient", "dcsim_pso"]


@dataclass(frozen=True)
class PsoServer:
    """``dcsim pso`` with its settings file *config*, its login server and ship on
    loopback ports the kernel chose."""

    config: Path
    login_port: int
    ship_port: int
    running: Running

    @property
    def log(self) -> list[str]:
        return self.running.log


@contextlib.contextmanager
def dcsim_pso(tmp_path: Path, name: str, settings: str = "") -> Iterator[PsoServer]:
    """Start ``dcsim pso`` with its own data directory and *settings* (TOML lines for
    the ``[pso]`` table)."""
    config = tmp_path / f"{name}.toml"
    config.write_text(f'data_dir = "{tmp_path / name}"\n[pso]\n{settings}\n')
    listen = ["--listen", "tcp:127.0.0.1:0", "--ship-listen", "tcp:127.0.0.1:0"]
    with started_dcsim("pso", *listen, config=config, until="ship on") as running:
        login, ship = running.address("login server on"), running.address("ship on")
        yield PsoServer(config, login.port, ship.port, running)


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
