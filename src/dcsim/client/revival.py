"""A revival world for the virtual Dreamcast: every PSO, licence and Dreamcast name at
dcsim's own servers (configs/zones), the DNS handed out by the access network."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from dcsim.client.settings import ConsoleSettings
from dcsim.scenario.model import AccessKnobs, SegaDnsKnobs, WorldKnobs
from dcsim.scenario.world import World, build_world

DNS = IPv4Address("192.0.2.53")
REVIVAL = WorldKnobs(sega_dns=SegaDnsKnobs(zones=Path("configs/zones"), transport="udp+tcp"))


def revival_world(kind: str, console: ConsoleSettings, data_dir: Path, **kw: object) -> World:
    """The world for *console* on a *kind* line (dialup, dcnet or broadband)."""
    access = AccessKnobs(kind=kind, dns=[DNS])  # type: ignore[arg-type]
    return build_world(REVIVAL, access, console, data_dir=data_dir, **kw)  # type: ignore[arg-type]
