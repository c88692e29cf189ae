"""Run ``dcsim dcnet`` as a separate process on loopback, for tests with real sockets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.running import ROOT, Running, started_dcsim


@contextlib.contextmanager
def dcsim_dcnet(tmp_path: Path, *args: str, settings: str = "") -> Iterator[Running]:
    """Start ``dcsim dcnet`` with *args*; *settings* are more TOML lines (after [dcnet]).
    Yields once every front end the options name has announced its address:
    ``running.address("dcnet Ethernet")``, ``running.address("modem listening")``."""
    config = tmp_path / "dcnet.toml"
    # every front end off unless an option names it: tests never bind the fixed ports
    config.write_text(
        f'[dns]\nzones = "{ROOT / "configs" / "zones"}"\n'
        "[dcnet]\nppp = []\nppp_7656 = []\nethernet = []\nprobe = []\nmodem = []\n"
        f"{settings}\n"
    )
    expected = sum(1 for a in args if a.startswith("--") and a not in ("--pcap", "--session-log"))

    def announced(running: Running) -> bool:
        return sum(" on " in line for line in running.output) >= expected

    with started_dcsim("dcnet", *args, config=config, until=announced, stop_timeout=20) as running:
        yield running
