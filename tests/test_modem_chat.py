"""Real dialers against `dcsim modem`: Debian's chat over the pty, and the TCP listener."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from dcsim.modem.calllog import read_file
from tests.peers import require_program
from tests.running import run_dcsim, started_dcsim

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def modem(tmp_path_factory):
    """`dcsim modem --pty --listen` on a quick Japanese line with a small phone book."""
    tmp = tmp_path_factory.mktemp("modem")
    (tmp / "line.toml").write_text(
        f'extends = "{ROOT / "modem" / "jp.toml"}"\nname = "jp-quick"\n'
        "dial_tone_detect = 0.1\nbusy_detect = 0.3\nanswer_delay = 0.2\ntraining = 0.3\n"
        "[registers.S6]\nmin = 2\ndefault = 2\n"
    )
    (tmp / "book.toml").write_text('[numbers."555"]\nbehaviour = "busy"\n')
    (tmp / "pulse.toml").write_text(
        f'extends = "{tmp / "line.toml"}"\nline_type = "pulse"\naccepts = ["pulse10"]\n'
    )
    with contextlib.ExitStack() as stack:
        procs = {}
        for name, line in [("tone", "line.toml"), ("pulse", "pulse.toml")]:
            log = tmp / f"{name}.jsonl"
            modem = stack.enter_context(
                started_dcsim(
                    "modem",
                    "--pty",
                    "--listen",
                    "tcp:127.0.0.1:0",
                    "--line",
                    str(tmp / line),
                    "--phonebook",
                    str(tmp / "book.toml"),
                    "--call-log",
                    str(log),
                    until="modem pty at",
                )
            )
            port = modem.address("modem listening on").port
            pty = modem.line("modem pty at").split()[3]
            procs[name] = (modem.process, pty, port, log)
        yield procs


def chat(pty: str, *script: str, timeout: int = 8) -> subprocess.CompletedProcess[str]:
    """Run chat on the pty, then leave it closed a moment: that is the DTR drop a serial
    port makes on close (Linux holds DTR low for 0.5 s); a pty reopened within
    microseconds would look as if it had never been closed."""
    path = require_program("chat", "ppp")
    time.sleep(0.3)
    with open(pty, "rb+", buffering=0) as tty:
        return subprocess.run(
            [path, "-v", "-s", "-t", str(timeout), *script],
            stdin=tty,
            stdout=tty,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout * 4,
        )


@pytest.mark.interop
@pytest.mark.slow
def test_chat_init_dial_connect_escape_hang_up(modem):
    _, pty, _, log = modem["tone"]
    result = chat(pty, "", "ATZ", "OK", "AT&FE1V1X4", "OK", "ATDT0120333906", "CONNECT 33600")
    assert result.returncode == 0, result.stderr
    # chat closed the pty: DTR dropped and the modem hung up; dial again and escape
    script = ["", "ATZ", "OK", "ATDT0355703001", "CONNECT", "\\d\\d+++\\c", "OK", "ATH0", "OK"]
    result = chat(pty, *script)
    assert result.returncode == 0, result.stderr
    records = _records(log, 2)
    assert [r.hangup.value for r in records[-2:]] == ["dtr_drop", "dte_command"]
    assert records[-1].rate == 33600 and records[-1].method == "tone"


@pytest.mark.interop
@pytest.mark.slow
def test_chat_sees_busy_and_wrong_dial_methods(modem):
    _, tone_pty, _, tone_log = modem["tone"]
    _, pulse_pty, _, pulse_log = modem["pulse"]
    assert chat(tone_pty, "", "ATZ", "OK", "ATDT555", "BUSY").returncode == 0
    # Sega's example: a tone line dialled with pulse is busy, however many times
    for _ in range(2):
        assert chat(tone_pty, "", "ATZ", "OK", "ATDP12", "BUSY").returncode == 0
    # and a pulse-only exchange ignores DTMF
    assert chat(pulse_pty, "", "ATZ", "OK", "ATDT12", "BUSY").returncode == 0
    assert chat(pulse_pty, "", "ATZ", "OK", "ATDP12", "CONNECT 33600").returncode == 0
    assert [r.cause for r in read_file(tone_log)[-3:]] == [2, 2, 2]
    records = _records(pulse_log, 2)  # the last call ends when chat closes the pty
    assert records[-2].route.startswith("tone dialling on a line")
    assert records[-1].method == "pulse" and records[-1].hangup.value == "dtr_drop"


@pytest.mark.slow
def test_tcp_listener_each_connection_is_a_modem(modem):
    _, _, port, _ = modem["tone"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"ATE0\r")
        assert _read_until(sock, b"OK\r\n") == b"ATE0\r\r\nOK\r\n"
        sock.sendall(b"ATDT1\r")
        assert _read_until(sock, b"33600\r\n").endswith(b"CONNECT 33600\r\n")
        sock.sendall(b"echo me")
        assert _read_until(sock, b"me") == b"echo me"


def _records(path: Path, count: int) -> list:
    deadline = time.monotonic() + 10
    while len(records := read_file(path)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return records


def _read_until(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    deadline = time.monotonic() + 10
    while not data.endswith(end) and time.monotonic() < deadline:
        data += sock.recv(100)
    return data


def test_modem_without_a_transport_is_a_usage_error():
    result = run_dcsim("modem")
    assert result.returncode == 2
    assert (
        result.stderr == "dcsim: modem: give --listen, --pty or --serial (or set them in [modem])\n"
    )


def test_unknown_profile_and_answerer_are_one_line_errors(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_dcsim(
            "modem", "--pty", *args, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}
        )

    result = run("--line", "mars")
    assert result.returncode == 2
    assert result.stderr.startswith("dcsim: modem/mars.toml: no line profile named 'mars'")
    assert "jp" in result.stderr and result.stderr.count("\n") == 1
    book = tmp_path / "book.toml"
    book.write_text('[numbers."1"]\nanswerer = "ppp"\n')
    result = run("--phonebook", str(book))
    assert result.returncode == 2
    assert result.stderr == (
        f'dcsim: {book}: numbers.1.answerer: unknown answerer "ppp"; known: echo, tcp:HOST:PORT\n'
    )
