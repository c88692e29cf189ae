"""The command line: help, exit codes, one-line errors, log formats."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dcsim import cli
from tests.running import run_dcsim


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_dcsim(*args)


def test_help_lists_working_subcommands():
    result = run("--help")
    assert result.returncode == 0
    assert "config" in result.stdout
    for name in cli.build_parser()._subparsers._group_actions[0].choices:
        sub = run(name, "--help")
        assert sub.returncode == 0, sub.stderr
        assert "usage: dcsim " + name in sub.stdout


def test_a_broken_config_prints_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('[log]\nlevel = "loud"\n')
    result = run("--config", str(bad), "config", "defaults")
    assert result.returncode == cli.EXIT_USAGE
    assert result.stdout == ""
    assert result.stderr == (
        f'dcsim: {bad}: log.level: expected one of "debug", "info", "warn", "error", got "loud"\n'
    )
    result = run("config", "check", str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_config_check_accepts_the_shipped_defaults():
    result = run("config", "check", "configs/default.toml")
    assert result.returncode == 0
    assert result.stdout == "configs/default.toml: ok\n"


def test_usage_errors_exit_2():
    assert run("no-such-command").returncode == 2
    assert run().returncode == 2


def test_log_formats(capsys):
    from twisted.logger import Logger

    from dcsim.log import LogLevel, start_logging

    log = Logger(namespace="dcsim.test")
    try:
        start_logging("json", LogLevel.info, sys.stderr)
        capsys.readouterr()  # events other tests logged before logging started are flushed now
        log.info("query {name} from {peer}", name="pso01.dricas.ne.jp", peer=("10.0.0.2", 1024))
        log.debug("not shown at info")
        # Events logged by earlier tests before logging began are replayed first.
        records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        [record] = [r for r in records if r["namespace"] == "dcsim.test"]
        assert record["message"] == "query pso01.dricas.ne.jp from ('10.0.0.2', 1024)"
        assert record["level"] == "info" and record["namespace"] == "dcsim.test"
        assert record["name"] == "pso01.dricas.ne.jp"
        start_logging("text", LogLevel.debug, sys.stderr)
        log.debug("now {what}", what="shown")
        line = capsys.readouterr().err
        assert line.endswith(" debug dcsim.test: now shown\n")
    finally:
        start_logging("text", LogLevel.warn, sys.stderr)


@pytest.mark.parametrize(
    ("verbose", "quiet", "expected"),
    [(0, 0, "info"), (1, 0, "debug"), (3, 0, "debug"), (0, 1, "warn"), (0, 5, "error")],
)
def test_verbosity_moves_the_level(verbose, quiet, expected):
    from dcsim.log import level_from_verbosity

    assert level_from_verbosity("info", verbose, quiet).name == expected


def test_twisted_port_chatter_is_debug_detail(capsys):
    from twisted.logger import Logger

    from dcsim.log import LogLevel, start_logging

    legacy = Logger(namespace="log_legacy")
    try:
        start_logging("text", LogLevel.info, sys.stderr)
        legacy.info("DnsDatagramProtocol starting on 5353")
        legacy.info("Starting factory <dcsim.x.Factory object at 0x1>")
        legacy.info("(TCP Port 7654 Closed)")
        legacy.info("something else")
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].endswith("log_legacy: something else")
        start_logging("text", LogLevel.debug, sys.stderr)
        legacy.info("DnsDatagramProtocol starting on 5353")
        assert "starting on 5353" in capsys.readouterr().err
    finally:
        start_logging("text", LogLevel.warn, sys.stderr)
