"""`dcsim dns` as users run it: checks, one-line errors, exit codes; serving on a host."""

from __future__ import annotations

import socket
from pathlib import Path

from twisted.internet import task

from dcsim.address import Listen
from dcsim.dns.settings import DnsSettings
from dcsim.net.network import Network
from tests.dns.helpers import ZONES
from tests.running import run_dcsim


def dcsim(*args: str, config: str | None = None, tmp: Path | None = None):
    path = None
    if config is not None and tmp is not None:
        path = tmp / "dns.toml"
        path.write_text(config)
    return run_dcsim(*args, config=path)


def test_check_lists_the_zones():
    result = dcsim("dns", "--check", "--zones", str(ZONES / "2006" / "gtld"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["com.", "net."]


def test_a_broken_zone_file_is_one_line_and_exit_2(tmp_path: Path):
    (tmp_path / "example.zone").write_text("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nw A 1.2.3\n")
    result = dcsim("dns", "--check", "--zones", str(tmp_path))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"dcsim: {tmp_path}/example.zone:4: expected an IPv4 address, got '1.2.3'\n"
    )


def test_settings_that_cannot_work_are_one_line_and_exit_2(tmp_path: Path):
    result = dcsim(
        "dns", "--check", config='[dns]\nforeign_names = "upward_referral"\n', tmp=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.endswith("dns: foreign_names = upward_referral needs root_hints\n")
    bad = dcsim("dns", "--check", config='[dns]\nedns = "sometimes"\n', tmp=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "dns.edns" in bad.stderr
    listen = dcsim("dns", "--listen", "udp:localhost:53")
    assert listen.returncode == 2 and "numeric IP address" in listen.stderr


def test_a_port_in_use_is_a_failure_exit_1():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        result = dcsim("dns", "--listen", f"udp:127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.startswith(f"dcsim: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in result.stderr


def test_serve_on_a_virtual_host_applies_the_tcp_knobs():
    net = Network(task.Clock())
    host = net.add_host("sega")
    router = net.add_router("r")
    net.link(host, router, "192.0.2.53/24", "192.0.2.1/24")
    listen = [Listen("udp", "192.0.2.53", 53), Listen("tcp", "192.0.2.53", 53)]
    settings = DnsSettings(zones=ZONES / "2006" / "sega", transport="udp", tcp_closed="drop")
    server = settings.serve(host, listen)
    assert [a.transport for a, _ in server.listening] == ["udp"]
    assert host.rst_for_closed_ports is False
    host.rst_for_closed_ports = True
    both = DnsSettings(zones=ZONES / "2006" / "sega").serve(
        host, [Listen("udp", "192.0.2.53", 5353), Listen("tcp", "192.0.2.53", 5353)]
    )
    assert [a.transport for a, _ in both.listening] == ["udp", "tcp"]
    assert host.rst_for_closed_ports is True
