"""dcsim.service: settings from $DCSIM_CONFIG, one-line exits, and a server as a Twisted
service (started, announced, stopped; a failure to start is one critical line)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogLevel

from dcsim.address import Listen
from dcsim.cli import Failed, UsageError
from dcsim.dns.command import ZoneServer
from dcsim.dns.settings import DnsSettings
from dcsim.modem.command import ModemServer
from dcsim.modem.settings import ModemSettings
from dcsim.service import ServerService, StartFailed, or_exit, settings_from_environment

ROOT = Path(__file__).resolve().parents[2]


def test_settings_come_from_dcsim_config_or_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('data_dir = "/srv/dcsim"\n')
    assert str(settings_from_environment({"DCSIM_CONFIG": str(path)}).data_dir) == "/srv/dcsim"
    assert settings_from_environment({}).data_dir == Path("~/.local/share/dcsim")


def test_or_exit_turns_mistakes_into_one_line_and_dcsim_exit_codes(capsys) -> None:
    def fail(error: Exception):
        def make():
            raise error

        return make

    with pytest.raises(SystemExit) as usage:
        or_exit(fail(UsageError("modem: give --listen")))
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as failed:
        or_exit(fail(Failed("cannot open accounts.sqlite3")))
    assert failed.value.code == 1
    assert capsys.readouterr().err == (
        "dcsim: modem: give --listen\ndcsim: cannot open accounts.sqlite3\n"
    )
    assert or_exit(lambda: 42) == 42


def test_a_server_is_started_announced_and_stopped(log_events) -> None:
    reactor = MemoryReactorClock()
    dns = DnsSettings(
        zones=ROOT / "configs" / "zones",
        listen=[Listen("tcp", "127.0.0.1", 5353)],
    )
    service = ServerService("dns", ZoneServer(dns, reactor))
    service.startService()
    assert service.running
    assert [(port, interface) for port, _, _, interface in reactor.tcpServers] == [
        (5353, "127.0.0.1")
    ]
    (announced,) = [e for e in log_events if e.get("log_namespace") == "dcsim.service"]
    assert announced["line"].startswith("serving ") and announced["line"].endswith(":5353")
    done = service.stopService()
    assert not service.running
    results: list[object] = []
    done.addBoth(results.append)
    assert len(results) == 1 and not isinstance(results[0], Exception)


def test_a_server_that_cannot_start_is_one_critical_line_and_one_line_on_exit(
    log_events, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(sys, "__stderr__", sys.stderr)
    modem = ModemSettings(serial="/nonexistent/ttyUSB9", profiles=ROOT / "modem")
    service = ServerService("modem", ModemServer(modem, MemoryReactorClock()))
    with pytest.raises(StartFailed) as failed:
        service.startService()
    assert not service.running
    # Uncaught, as under twistd, it is printed as one line.
    sys.excepthook(StartFailed, failed.value, failed.value.__traceback__)
    assert capsys.readouterr().err == f"dcsim: {failed.value}\n"
    (critical,) = [e for e in log_events if e.get("log_namespace") == "dcsim.service"]
    assert critical["log_level"] is LogLevel.critical
    assert critical["error"].startswith("modem: cannot open /nonexistent/ttyUSB9")
