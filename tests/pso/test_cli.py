"""``dcsim chatlog`` and ``dcsim pso`` from the command line."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from dcsim.pso.events import ChatLine
from dcsim.pso.store import ChatLog, open_database
from tests.running import run_dcsim

pytestmark = pytest.mark.slow  # each test starts dcsim in a process
T0 = 1_150_000_000.0  # 2006-06-11T04:26:40Z


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_dcsim(*args)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "dcsim.toml"
    path.write_text(f'data_dir = "{tmp_path}"\n')
    log = ChatLog(open_database(tmp_path / "pso.sqlite3"))
    for i, gc in enumerate((10000001, 10000002, 10000001)):
        log.record(ChatLine(T0 + i * 86400, gc, b"Tali", 1, 3, f"\tEline {i}".encode(), False))
    return path


def test_export_csv_with_filters(config):
    result = run(
        "--config",
        str(config),
        "chatlog",
        "export",
        "--since",
        "2006-06-12",
        "--guild-card",
        "10000001",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "time,guild_card,name,block,lobby,text",
        "2006-06-13T04:26:40+00:00,10000001,Tali,1,3,line 2",
    ]


def test_export_jsonl_until(config):
    result = run(
        "--config",
        str(config),
        "chatlog",
        "export",
        "--until",
        "2006-06-12T04:26:40+00:00",
        "--format",
        "jsonl",
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["line 0"]
    assert rows[0] == {
        "time": "2006-06-11T04:26:40+00:00",
        "guild_card": 10000001,
        "name": "Tali",
        "block": 1,
        "lobby": 3,
        "text": "line 0",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "yesterday"), "expected an ISO 8601 date or time"),
        (("--since", "2006-06-12", "--until", "2006-06-11"), "--since must be before --until"),
    ],
)
def test_export_usage_errors(config, args, message):
    result = run("--config", str(config), "chatlog", "export", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_export_without_a_database(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text(f'data_dir = "{tmp_path / "nothing"}"\n')
    result = run("--config", str(path), "chatlog", "export")
    assert result.returncode == 2
    assert result.stderr.startswith("dcsim: no PSO database at ")


def test_purge_uses_the_retention_setting(config):
    config.write_text(config.read_text() + "[pso]\nchat_retention_days = 1\n")
    result = run("--config", str(config), "chatlog", "purge")
    assert result.returncode == 0 and result.stdout == "purged 3 chat lines older than 1 days\n"


def test_pso_on_a_port_in_use_fails_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "c.toml"
        config.write_text(f'data_dir = "{tmp_path}"\n')
        result = run(
            "--config",
            str(config),
            "pso",
            "--listen",
            f"tcp:127.0.0.1:{port}",
            "--ship-listen",
            "tcp:127.0.0.1:0",
        )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"dcsim: cannot listen on 127.0.0.1:{port}")
    )


def test_pso_rejects_a_udp_listen_address():
    result = run("pso", "--listen", "udp:127.0.0.1:9200")
    assert result.returncode == 2 and "PSO runs over TCP" in result.stderr
