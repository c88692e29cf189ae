"""``dcsim up`` as a user runs it: one process, the banner with every address and the
Flycast setting, real peers (dig, an HTTP client) on what it prints, a port in use as
one line with exit 1, and Ctrl-C stopping it cleanly."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.request
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.peers import require_program
from tests.running import ROOT, Running, dcsim_command, started_dcsim

ANY = "tcp:127.0.0.1:0"
SETTINGS = f"""
data_dir = "{{data}}"
[dns]
zones = "{ROOT / "configs" / "zones"}"
listen = ["udp:127.0.0.1:0", "{ANY}"]
[auth]
listen = ["{ANY}"]
[auth.certificates]
key_bits = 1024
ca_key_bits = 512
[pso]
listen = ["{ANY}"]
ship_listen = "{ANY}"
[dcnet]
ppp = ["{ANY}"]
ppp_7656 = ["{ANY}"]
ethernet = ["{ANY}"]
probe = ["udp:127.0.0.1:0"]
modem = ["{ANY}"]
[status]
listen = "{{status}}"
"""
_ROW = re.compile(r"^  (?P<what>.+?)\s{2,}(?P<where>\S+)$")


def settings(tmp_path: Path, status: str = ANY) -> Path:
    path = tmp_path / "dcsim.toml"
    path.write_text(SETTINGS.format(data=tmp_path / "data", status=status))
    return path


def start(config: Path, *options: str) -> AbstractContextManager[Running]:
    """``dcsim up`` as from a terminal, yielded once its banner is out: Ctrl-C (SIGINT) at
    its default, even where the test runner was started with SIGINT ignored (a
    background job)."""
    return started_dcsim(
        "up",
        *options,
        config=config,
        until=lambda up: any(line.startswith("Ctrl-C") for line in up.output),
        stop_timeout=30,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def banner(up: Running) -> tuple[dict[str, str], list[str]]:
    """The listening table and the rest of the banner, up to its last line."""
    rows: dict[str, str] = {}
    lines: list[str] = []
    for line in up.output:
        lines.append(line.rstrip("\n"))
        if m := _ROW.match(lines[-1]):
            rows.setdefault(m["what"], m["where"])
        if line.startswith("Ctrl-C"):
            return rows, lines
    raise AssertionError(f"no banner from dcsim up: {up.text}")


@pytest.mark.slow
def test_up_prints_where_everything_is_answers_there_and_stops_on_ctrl_c(tmp_path):
    dig = require_program("dig", "bind9-dnsutils")
    with start(settings(tmp_path)) as up:
        rows, lines = banner(up)
        for what in (
            "DNS over UDP",
            "licence server (HTTPS, SSL 3.0)",
            "PSO login",
            "PSO ship",
            "DCNet PPP (modem mode)",
            "DCNet Ethernet (broadband adapter)",
            "fake modem, answered by PPP",
            "status page",
        ):
            assert what in rows, (what, lines)
        flycast = "network:DCNet=yes,network:EmulateBBA=no,network:DCNetServer=127.0.0.1"
        assert any(flycast in line for line in lines)

        dns = rows["DNS over UDP"].rsplit(":", 1)[1]
        answer = subprocess.run(
            [dig, "+short", "@127.0.0.1", "-p", dns, "pso01.dricas.ne.jp"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert answer.stdout.split() == ["192.0.2.20"]
        with urllib.request.urlopen(rows["status page"] + "api/snapshot", timeout=30) as reply:
            snapshot = json.load(reply)
        assert [q["name"] for q in snapshot["dns"]] == ["pso01.dricas.ne.jp"]
        assert snapshot["dns"][0]["answers"] == ["192.0.2.20"]

        # A virtual Dreamcast from a second process dials the DCNet port and stands in a
        # lobby while the status page shows it there.
        ppp = rows["DCNet PPP (modem mode)"]
        console = ["--dcnet", ppp, "--disc", "jp-v2", "--lobby-time", "10", "--json"]
        dial = subprocess.Popen(
            dcsim_command("dial", *console, config=tmp_path / "dcsim.toml"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        states = []
        for _ in range(300):
            with urllib.request.urlopen(rows["status page"] + "api/snapshot", timeout=30) as r:
                live = json.load(r)["live"]
            states += [(s["kind"], s["state"]) for s in live]
            if ("dcnet-ppp", "lobby") in states or dial.poll() is not None:
                break
            time.sleep(0.1)
        report = json.loads(dial.communicate(timeout=120)[0])
        assert dial.returncode == 0 and report["reached_lobby"], report
        assert ("dcnet-ppp", "lobby") in states

        # A second dcsim wanting the same status port: one line naming it, exit 1.
        port = rows["status page"].rstrip("/").rsplit(":", 1)[1]
        (tmp_path / "second").mkdir()
        second_config = settings(tmp_path / "second", status=f"tcp:127.0.0.1:{port}")
        second = subprocess.run(
            dcsim_command("up", config=second_config),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        err = second.stderr
        assert second.returncode == 1 and second.stdout == "", err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"127.0.0.1:{port}" in err and "status.listen" in err
        code = up.stop(signal.SIGINT)
    assert code == 0


@pytest.mark.slow
def test_a_broadband_adapter_reaches_the_lobby_on_the_ethernet_port_and_is_judged(tmp_path):
    """`dcsim dial --dcnet-ethernet` from a second process: the console's adapter gets
    its address by DHCP on `dcsim up`'s 7655 port, plays to the lobby and releases its
    lease; `dcsim up --session-log` keeps the session, and `dcsim check` judges it."""
    sessions = tmp_path / "sessions.jsonl"
    config = settings(tmp_path)
    with start(config, "--session-log", str(sessions)) as up:
        rows, _ = banner(up)
        ethernet = rows["DCNet Ethernet (broadband adapter)"]
        console = ["--dcnet-ethernet", ethernet, "--disc", "us-v2", "--lobby-time", "2", "--json"]
        dial = subprocess.run(
            dcsim_command("dial", *console, config=config),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        report = json.loads(dial.stdout)
        assert dial.returncode == 0 and report["reached_lobby"], dial.stdout + dial.stderr
        steps = [s["step"] for s in report["steps"]]
        assert steps[0] == "ethernet" and "licence" in steps and steps[-1] == "hang-up"
        assert "(dhcp)" in report["steps"][0]["detail"]
        code = up.stop(signal.SIGINT)
    assert code == 0
    (record,) = [json.loads(line) for line in sessions.read_text().splitlines()]
    assert (record["front_end"], record["link"], record["end"]) == (
        "dcnet-bba",
        "ethernet",
        "dhcp_release",
    )
    assert record["mac"] == "0c:0a:0f:0e:00:00" and record["datagrams_from_console"] > 10
    check = subprocess.run(
        dcsim_command("check", "--json", str(sessions)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    verdicts = {f["rule"]: f["verdict"] for f in json.loads(check.stdout)["findings"]}
    assert verdicts["number-order"] == "n/a" and verdicts["idle-disconnect"] == "pass"
