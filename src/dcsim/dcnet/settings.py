"""The ``[dcnet]`` settings section: where Flycast's DCNet front ends listen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dcsim.address import Listen
from dcsim.config import setting
from dcsim.dcnet.probe import AccessPoint


def _at(*texts: str) -> list[Listen]:
    return [Listen.from_text(t) for t in texts]


@dataclass(frozen=True)
class DcnetSettings:
    ppp: list[Listen] = setting(
        default_factory=lambda: _at("tcp:127.0.0.1:7654"),
        doc="Modem mode: the console's raw PPP over TCP (Flycast's port 7654); [] = off.\n"
        "Flycast: -config network:DCNet=yes,network:DCNetServer=127.0.0.1",
    )
    ppp_7656: list[Listen] = setting(
        default_factory=lambda: _at("tcp:127.0.0.1:7656"),
        doc="The same for Power Smash, Pro Yakyuu Team de Asobou Net! and Virtual-On\n"
        "Oratorio Tangram (port 7656): PAP only, no LCP echoes, as dcnet-ap does.",
    )
    ethernet: list[Listen] = setting(
        default_factory=lambda: _at("tcp:127.0.0.1:7655"),
        doc="Broadband adapter mode: Ethernet frames over TCP (port 7655); [] = off.",
    )
    probe: list[Listen] = setting(
        default_factory=lambda: _at("udp:127.0.0.1:7655"),
        doc="The UDP 7655 access-point probe Flycast sends when it finds the server through\n"
        "a hosts-file entry for dcnet.flyca.st; [] = off.",
    )
    access_points: list[AccessPoint] = setting(
        default_factory=list,
        doc="Access points listed in the probe's answer; none sends Flycast to the address\n"
        "it resolved dcnet.flyca.st to (this machine).",
    )
    modem: list[Listen] = setting(
        default_factory=lambda: _at("tcp:127.0.0.1:2323"),
        doc="Fake Hayes modems (TCP, one connection per modem) whose calls the same access\n"
        "server answers (the [modem] section applies; answerer ppp); [] = off.",
    )

    session_log: Path | None = setting(
        None,
        'If set, one JSON line per DCNet session is appended here (docs/ppp.md, "The\n'
        'DCNet session log"): how it ended, idle time, what the console asked for.\n'
        "`dcsim check FILE` judges the client from it; ~ is expanded.",
    )

    def __post_init__(self) -> None:
        for name in ("ppp", "ppp_7656", "ethernet", "modem"):
            for listen in getattr(self, name):
                if listen.transport != "tcp":
                    raise ValueError(f"{name}: {listen} must be a tcp: address")
        for listen in self.probe:
            if listen.transport != "udp":
                raise ValueError(f"probe: {listen} must be a udp: address")
