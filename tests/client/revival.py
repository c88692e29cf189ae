"""A revival world for the virtual Dreamcast: every PSO name at dcsim's own servers."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

from twisted.internet import defer

from dcsim.client.console import Console
from dcsim.client.report import SessionReport
from dcsim.client.settings import ConsoleSettings
from dcsim.net.clock import run
from dcsim.scenario.model import AccessKnobs, SegaDnsKnobs, WorldKnobs
from dcsim.scenario.world import World, build_world

SEGA = IPv4Address("192.0.2.53")
REVIVAL = WorldKnobs(sega_dns=SegaDnsKnobs(zones=Path("configs/zones"), transport="udp+tcp"))
LINKS = {"dialup": "modem", "dcnet": "modem", "dcnet-ethernet": "bba", "broadband": "bba"}


def console_for(kind: str, disc: str = "jp-v2", **changes) -> ConsoleSettings:
    return replace(ConsoleSettings(disc=disc, link=LINKS[kind], dns=[SEGA]), **changes)


def session(
    data_dir: Path,
    console: ConsoleSettings,
    access: AccessKnobs,
    knobs: WorldKnobs = REVIVAL,
    *,
    seconds: float = 3600.0,
    capture_dir: Path | None = None,
) -> tuple[SessionReport, World]:
    world = build_world(knobs, access, console, data_dir=data_dir, capture_dir=capture_dir)
    host = world.console_host
    assert host is not None
    started = world.run_console(Console(console, host, check_chain=world.trust))
    report = wait(world, started, seconds)
    world.close()
    return report, world


def wait(world: World, d: defer.Deferred, seconds: float):
    box: list = []
    d.addBoth(box.append)
    run(world.clock, seconds, until=lambda: bool(box))
    assert box, f"nothing after {seconds} virtual seconds"
    if hasattr(box[0], "raiseException"):
        box[0].raiseException()
    return box[0]
