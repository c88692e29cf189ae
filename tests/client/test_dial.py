"""`dcsim dial`: in virtual time, and over real sockets against a running dcsim (a fake
modem and a DCNet port in front of dcsim's own servers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dcsim.cli import main
from tests.running import run_dcsim, started, started_dcsim

ROOT = Path(__file__).resolve().parents[2]


def test_dial_in_virtual_time(capsys):
    assert main(["-q", "dial", "--virtual", "dialup", "--disc", "us-v2", "--lobby-time", "5"]) == 0
    out = capsys.readouterr().out
    assert "licence  auth01.dricas.com" in out and "in the lobby and back" in out


def test_dial_the_broadband_adapter_on_dcnet_ethernet_in_virtual_time(capsys):
    """The adapter's own DHCP on the 7655 front end, then the game; it releases its lease
    on the way out."""
    argv = ["-q", "dial", "--virtual", "dcnet-ethernet", "--disc", "jp-v2", "--lobby-time", "5"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    first = report["steps"][0]
    assert first["step"] == "ethernet" and first["ok"]
    assert "DNS 192.0.2.53 (dhcp)" in first["detail"] and report["reached_lobby"]


def test_dial_reports_a_failure_as_a_cause(tmp_path, capsys):
    """A console set to its own (static) DNS, the ISP's resolver, which follows the
    public tree of 2006: no PSO name there, so the lookup fails (cause 4)."""
    settings = tmp_path / "console.toml"
    settings.write_text('[client.console]\nbba_method = "static"\ndns = ["198.51.100.53"]\n')
    argv = ["-q", "--config", str(settings), "dial", "--virtual", "broadband", "--json"]
    assert main(argv) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failed_step"] == "dns" and report["cause"] == 4


def test_dial_refuses_bad_settings(capsys):
    assert (
        main(
            [
                "dial",
                "--virtual",
                "dialup",
                "--number",
                "1",
                "--number",
                "2",
                "--number",
                "3",
                "--number",
                "4",
            ]
        )
        == 2
    )
    assert "one to three" in capsys.readouterr().err


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    data = tmp_path_factory.mktemp("serve")
    with started(
        [sys.executable, "-m", "tests.client.serve_revival", str(data)],
        until=lambda served: len(served.output) >= 2,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as served:
        ports = {kind: int(port) for kind, port in (line.split() for line in served.output)}
        yield ports, data


def _dial(args: list[str], data: Path) -> subprocess.CompletedProcess:
    settings = data / "settings.toml"
    settings.write_text(f'data_dir = "{data}"\n')
    return run_dcsim(
        "-q", "dial", "--json", "--lobby-time", "1", *args, config=settings, timeout=120
    )


@pytest.mark.slow
def test_dial_through_a_running_fake_modem(running):
    """Real TCP to dcsim's fake modem: AT commands and dialling in real time (about 13 s
    for a Japanese line), then PPP to the access server, and the whole game."""
    ports, data = running
    done = _dial(["--modem", f"tcp:127.0.0.1:{ports['modem']}", "--disc", "jp-v2"], data)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [s["step"] for s in report["steps"]][:3] == ["dial", "ppp", "dns"]
    assert report["reached_lobby"]


@pytest.mark.slow
def test_dial_a_running_dcnet_port(running):
    ports, data = running
    done = _dial(["--dcnet", f"tcp:127.0.0.1:{ports['dcnet']}", "--disc", "eu-v2"], data)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["steps"][0]["step"] == "ppp"


@pytest.mark.parametrize("option", ["--dcnet", "--dcnet-ethernet"])
def test_dial_with_nothing_there_is_no_physical_connection(tmp_path, option):
    done = _dial([option, "tcp:127.0.0.1:1"], tmp_path)
    assert done.returncode == 1
    assert json.loads(done.stdout)["cause"] == 1


@pytest.mark.slow
def test_dial_through_a_fake_modem_on_a_pty(running, tmp_path):
    """The console's serial line on the pty of `dcsim modem --pty`, whose calls are
    relayed to the running access server (answerer tcp:HOST:PORT, as DreamPi does)."""
    ports, data = running
    answerer = f"tcp:127.0.0.1:{ports['dcnet']}"
    with started_dcsim(
        "-q",
        "modem",
        "--pty",
        "--answerer",
        answerer,
        until="modem pty at ",
        stderr=subprocess.DEVNULL,
    ) as modem:
        device = modem.line("modem pty at ").split("modem pty at ", 1)[1].split()[0]
        done = _dial(["--pty", device, "--disc", "us-v1"], data)
        assert done.returncode == 0, done.stdout + done.stderr
        steps = [s["step"] for s in json.loads(done.stdout)["steps"]]
        assert steps[:2] == ["dial", "ppp"] and "lobby" in steps
