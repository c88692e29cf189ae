"""The same login server and ship on hosts of the simulated internet, in virtual time,
with the virtual Dreamcast's client edge (``reactor=`` a VirtualHost)."""

from __future__ import annotations

import random
from ipaddress import IPv4Address

from twisted.internet import task

from dcsim.address import Listen
from dcsim.net.clock import run
from dcsim.net.network import Network
from dcsim.pso.client import PROFILES, ChatReceived, Client, make_profile
from dcsim.pso.client_twisted import LoginError, PsoClientConnector
from dcsim.pso.server import PsoService
from dcsim.pso.settings import PsoSettings
from dcsim.pso.version import Region, Version


def world(tmp_path, **pso):
    clock = task.Clock()
    clock.advance(1_150_000_000)  # 2006-06-11: virtual time, not the wall clock
    net = Network(clock, seed=3)
    sega = net.add_host("sega")
    isp = net.add_router("isp")
    net.link(sega, isp, "192.0.2.20/24", "192.0.2.1/24")
    consoles = []
    for i in range(3):
        dc = net.add_host(f"dc{i}")
        net.link(dc, isp, f"198.51.100.{130 + 4 * i}/30", f"198.51.100.{129 + 4 * i}/30")
        consoles.append(dc)
    net.build_routes()
    settings = PsoSettings(
        listen=[Listen.from_text("tcp:0.0.0.0:9200")],
        ship_listen=Listen.from_text("tcp:0.0.0.0:5110"),
        **pso,
    )
    service = PsoService(
        settings, tmp_path, reactor=sega, rng=random.Random(5), database=":memory:"
    )
    service.start()
    return clock, service, consoles


def test_two_consoles_meet_in_the_lobby_over_the_virtual_internet(tmp_path):
    clock, service, (dc0, dc1, _) = world(tmp_path)
    results = {}
    a = PsoClientConnector(Client(PROFILES["jp-v2"]), dc0, timeout=120)
    b = PsoClientConnector(Client(PROFILES["eu-v1"]), dc1, timeout=120)
    a.connect("192.0.2.20", 9200).addBoth(lambda r: results.__setitem__("a", r))
    b.connect("192.0.2.20", 9200).addBoth(lambda r: results.__setitem__("b", r))
    assert run(clock, 120, until=lambda: len(results) == 2)
    assert results["a"].lobby == 1 and {p.name for p in results["b"].players} == {
        PROFILES["jp-v2"].name,
        PROFILES["eu-v1"].name,
    }
    # The ship was found at the address the console used for the login server.
    redirects = [e for e in a.events if type(e).__name__ == "Redirect"]
    assert redirects[0].address == IPv4Address("192.0.2.20")

    b.chat("hello from Europe")
    run(clock, 5)
    assert [e.text for e in a.events if isinstance(e, ChatReceived)] == [
        PROFILES["eu-v1"].name + b"\t\tEhello from Europe"
    ]
    (line,) = service.chat_log.export()
    assert line.text == "hello from Europe" and line.time >= 1_150_000_000

    b.hang_up()
    run(clock, 5)
    assert any(type(e).__name__ == "PlayerLeft" for e in a.events)


def test_idle_players_are_disconnected_after_fifteen_minutes(tmp_path):
    clock, service, (dc0, _, _) = world(tmp_path)
    joined = []
    c = PsoClientConnector(Client(PROFILES["us-v2"]), dc0)
    c.connect("192.0.2.20", 9200).addCallback(joined.append)
    run(clock, 60, until=lambda: bool(joined))
    assert service.ship.online == 1
    run(clock, 899)
    assert service.ship.online == 1
    run(clock, 5)
    assert service.ship.online == 0


def test_jp_v1_with_round_up_off_times_out_at_the_login(tmp_path):
    clock, _service, (dc0, dc1, _) = world(tmp_path, jp_v1_round_up=False)
    outcomes = {}
    jp = PsoClientConnector(Client(PROFILES["jp-v1"]), dc0, timeout=90)
    us = PsoClientConnector(Client(PROFILES["us-v1"]), dc1, timeout=90)
    jp.connect("192.0.2.20", 9200).addBoth(lambda r: outcomes.__setitem__("jp", r))
    us.connect("192.0.2.20", 9200).addBoth(lambda r: outcomes.__setitem__("us", r))
    run(clock, 100, until=lambda: len(outcomes) == 2)
    assert outcomes["us"].lobby == 1
    failure = outcomes["jp"]
    failure.trap(LoginError)
    # The garbled 92 makes the server hang up; the console sees the server go.
    assert failure.value.step == "connection"
    assert "await-register" in failure.value.reason


def test_a_login_server_that_is_down(tmp_path):
    clock, _service, (dc0, _, _) = world(tmp_path)
    outcome = []
    c = PsoClientConnector(Client(make_profile(Region.US, Version.V1)), dc0, timeout=60)
    c.connect("192.0.2.20", 9999).addErrback(outcome.append)
    run(clock, 60, until=lambda: bool(outcome))
    assert outcome[0].value.step == "connect"
