"""The helper that runs programs for end-to-end tests: readiness, announced addresses,
failures at start, stopping."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from dcsim.address import Listen
from tests.running import dcsim_command, started

ANNOUNCE = (
    "import sys, time\n"
    "print('warming up', file=sys.stderr, flush=True)\n"
    "print('dcnet PPP (modem mode) on tcp:127.0.0.1:7654', flush=True)\n"
    "print('modem listening on tcp:[::1]:2323 answered by ppp', flush=True)\n"
    "time.sleep(60)\n"
)


def test_yields_once_announced_and_reads_the_addresses() -> None:
    with started([sys.executable, "-c", ANNOUNCE], until="modem listening") as running:
        assert running.address("modem listening") == Listen("tcp", "::1", 2323)
        # the first line containing the words: "(modem mode)" comes first
        assert running.address("modem") == Listen("tcp", "127.0.0.1", 7654)
        assert running.address("dcnet PPP") == Listen("tcp", "127.0.0.1", 7654)
        with pytest.raises(KeyError):
            running.address("ship on")
        assert running.stop() == -signal.SIGTERM
        # standard error has its own reader: all of it is in once the program has ended
        assert running.log == ["warming up\n"]
    assert running.process.returncode == -signal.SIGTERM


def test_a_program_that_exits_at_start_is_an_error_with_what_it_wrote() -> None:
    command = [sys.executable, "-c", "import sys; sys.exit('no zones here')"]
    with (
        pytest.raises(RuntimeError, match="did not start:\nno zones here"),
        started(command, until="serving"),
    ):
        pass


def test_a_silent_program_times_out_and_is_stopped() -> None:
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    with (
        pytest.raises(RuntimeError, match=r"python.* did not start"),
        started(command, until="serving", start_timeout=0.5, stop_timeout=5),
    ):
        pass


def test_dcsim_command_names_the_settings_file(tmp_path) -> None:
    config = tmp_path / "dcsim.toml"
    assert dcsim_command("dns", "--check", config=config)[-4:] == [
        "--config",
        str(config),
        "dns",
        "--check",
    ]
    done = subprocess.run(dcsim_command("--help"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "usage: dcsim" in done.stdout
