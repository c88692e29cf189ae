"""Run ``dcsim dns`` as a separate process on loopback, for tests with real clients."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.dns.helpers import ZONES
from tests.peers import free_port
from tests.running import Running, started_dcsim


@dataclass(frozen=True)
class DnsServer:
    """``dcsim dns`` answering on *port* of *host*, over UDP and (unless told) TCP."""

    host: str
    port: int
    running: Running


@contextlib.contextmanager
def dcsim_dns(
    tmp_path: Path,
    settings: str = "",
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    tcp: bool = True,
    zones: Path | None = None,
) -> Iterator[DnsServer]:
    """Start ``dcsim dns`` with *settings* (TOML lines for the ``[dns]`` table). UDP and
    TCP share one port, as on a real name server, so it is looked up free beforehand."""
    port = free_port(host) if port is None else port
    config = tmp_path / f"dns-{host}-{port}.toml"
    config.write_text(f'[dns]\nzones = "{zones or ZONES}"\n{settings}\n')
    listen = ["--listen", f"udp:{host}:{port}"]
    if tcp:
        listen += ["--listen", f"tcp:{host}:{port}"]
    with started_dcsim("dns", *listen, config=config, until="serving") as running:
        yield DnsServer(host, port, running)
