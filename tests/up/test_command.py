"""``dcsim up`` as README's `make run` section describes it: it prints what listens and
how to point Flycast at it, and Ctrl-C (SIGINT) stops it with status 0."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.up.twistd import ROOT, settings_file

pytestmark = pytest.mark.slow


def test_dcsim_up_prints_the_banner_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "dcsim.cli", "--config", str(config), "up"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        banner = "".join(lines)
        assert banner.startswith("dcsim is up. Listening:\n"), banner + process.stderr.read()
        assert f"  DCNet PPP (modem mode)              tcp:127.0.0.1:{ports['ppp']}\n" in banner
        assert f"http://127.0.0.1:{ports['status']}/" in banner
        assert (
            "flycast -config network:DCNet=yes,network:EmulateBBA=no,"
            "network:DCNetServer=127.0.0.1 GAME" in banner
        )
        socket.create_connection(("127.0.0.1", ports["status"]), timeout=10).close()
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_dcsim_up_port_in_use_is_one_line(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports["auth"]))
        busy.listen()
        result = subprocess.run(
            [sys.executable, "-m", "dcsim.cli", "--config", str(config), "up"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"dcsim: cannot listen on 127.0.0.1:{ports['auth']} for licence server"
    )
    assert result.stderr.count("\n") == 1
