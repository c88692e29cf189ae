"""The virtual Dreamcast end to end in virtual time, against dcsim's own servers: every
disc on every kind of link, and the report it gives of each step."""

from __future__ import annotations

import pytest

from dcsim.client.report import StepKind
from dcsim.scenario.model import AccessKnobs
from tests.client.revival import SEGA, console_for, session

DISCS = ["jp-v1", "jp-v2", "us-v1", "us-v2", "eu-v1", "eu-v2"]
CHECKS_LICENCE = {"jp-v1", "jp-v2", "us-v2"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("dcsim-data")


@pytest.mark.parametrize("disc", DISCS)
@pytest.mark.parametrize("kind", ["dialup", "dcnet", "dcnet-ethernet", "broadband"])
def test_every_disc_reaches_the_lobby_on_every_link(data_dir, disc, kind):
    console = console_for(kind, disc, lobby_time=5.0)
    report, world = session(data_dir, console, AccessKnobs(kind=kind, dns=[SEGA]))
    assert report.ok and report.reached_lobby, report.render()
    kinds = [s.kind for s in report.steps]
    first = {
        "dialup": [StepKind.DIAL, StepKind.PPP],
        "dcnet": [StepKind.PPP],
        "dcnet-ethernet": [StepKind.ETHERNET],
        "broadband": [StepKind.ETHERNET],
    }[kind]
    game = [StepKind.DNS, StepKind.LOGIN, StepKind.LOBBY]
    if disc in CHECKS_LICENCE:
        game = [StepKind.DNS, StepKind.LICENCE, *game]
    tail = [StepKind.HANG_UP] if kind != "broadband" else []
    assert kinds == first + game + tail
    times = [(s.started, s.ended) for s in report.steps]
    assert all(a <= b for a, b in times)
    assert all(times[i][1] <= times[i + 1][0] + 1e-9 for i in range(len(times) - 1))
    if kind == "dialup":
        (call,) = world.call_log.records
        assert call.hangup.value == "dte_command"  # +++ and ATH0 at the end
    if kind == "dcnet-ethernet":  # its own DHCP on 7655, released at the end
        (ended,) = world.ethernet_server.reports
        assert ended.reason.name == "RELEASED" and ended.mac == "0c:0a:0f:0e:00:00"


def test_the_report_names_the_servers_it_used(data_dir):
    report, _ = session(data_dir, console_for("dialup"), AccessKnobs(dns=[SEGA]))
    dns = report.steps_of(StepKind.DNS)
    assert [s.target for s in dns] == ["auth01.dricas.ne.jp", "pso01.dricas.ne.jp"]
    assert dns[0].detail == "192.0.2.10 from 192.0.2.53"
    licence = report.steps_of(StepKind.LICENCE)[0]
    assert "SSL 3.0" in licence.evidence[1].suite
    data = report.to_json()
    assert data["ok"] and data["failed_step"] is None
    assert [s["step"] for s in data["steps"]][:2] == ["dial", "ppp"]


def test_the_console_asks_the_isp_when_its_dns_option_is_naked(data_dir):
    """IPCP Configure-Nak of the DNS option (RFC 1877) replaces the stored server."""
    from ipaddress import IPv4Address

    isp = IPv4Address("198.51.100.53")
    report, _ = session(data_dir, console_for("dialup"), AccessKnobs(dns=[isp]))
    ppp = report.steps_of(StepKind.PPP)[0]
    assert "DNS 198.51.100.53 (ipcp)" in ppp.detail


def _reset_at(data_dir, seconds: float):
    """A console reset (cancel) *seconds* into a dial-up session."""
    from dcsim.client.console import Console
    from dcsim.scenario.world import build_world
    from tests.client.revival import REVIVAL, wait

    console = console_for("dialup", lobby_time=600.0)
    world = build_world(REVIVAL, AccessKnobs(dns=[SEGA]), console, data_dir=data_dir)
    machine = Console(console, world.console_host, check_chain=world.trust)
    started = world.run_console(machine)
    world.clock.callLater(seconds, machine.cancel)
    report = wait(world, started, 3600)
    world.close()
    return report, world.call_log.records


def test_a_reset_while_dialling_stops_the_dial_and_shows_no_cause(data_dir):
    report, calls = _reset_at(data_dir, 3.0)
    assert report.cause is None and not report.reached_lobby
    assert report.failed_step.kind is StepKind.DIAL
    assert calls[-1].hangup.value == "dte_abort"


def test_a_reset_while_online_hangs_up_the_line(data_dir):
    """Sega: a soft reset during a connection must hang up the line."""
    report, calls = _reset_at(data_dir, 60.0)
    assert report.cause is None and report.steps_of(StepKind.LOGIN)
    (call,) = calls
    assert call.hangup.value == "dte_command" and call.t_end < 75.0
