"""The ``[pso]`` settings section: the login server, dcsim's ship and the chat log."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Literal

from dcsim.address import Listen
from dcsim.config import setting
from dcsim.pso.framing import MAX_COMMAND_SIZE
from dcsim.pso.session import ShipChoice
from dcsim.pso.version import Version


@dataclass(frozen=True, slots=True)
class HostPort:
    """IPv4:port, for example 192.0.2.77:9100"""

    address: IPv4Address
    port: int

    @classmethod
    def from_text(cls, text: str) -> HostPort:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ValueError("expected IPv4:port, for example 192.0.2.77:9100")
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(
                f"expected a numeric IPv4 address (command 19 carries one), not {host!r}"
            ) from None
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("expected a port number in [1, 65535]")
        return cls(address, int(port))

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class ShipSettings:
    name: str = setting("dcsim", "The name in the ship menu (at most 16 Latin-1 characters).")
    v1: HostPort | None = setting(
        None,
        "An external ship (newserv, Sylverant...) for DC v1 clients, as IPv4:port.\n"
        "A ship with no v1, v2 or nte address is dcsim's own ship.",
    )
    v2: HostPort | None = setting(None, "The external ship's address for DC v2 clients.")
    nte: HostPort | None = setting(None, "The external ship's address for DC NTE clients.")

    def __post_init__(self) -> None:
        try:
            encoded = self.name.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"ship name {self.name!r} is not Latin-1 text") from None
        if not 0 < len(encoded) <= 16:
            raise ValueError(f"ship name {self.name!r} must have 1 to 16 characters")

    def choice(self) -> ShipChoice:
        addresses = {
            version: (hp.address, hp.port)
            for version, hp in (
                (Version.V1, self.v1),
                (Version.V2, self.v2),
                (Version.NTE, self.nte),
            )
            if hp is not None
        }
        return ShipChoice(self.name, addresses)


def _default_listen() -> list[Listen]:
    return [Listen.from_text(f"tcp:127.0.0.1:{port}") for port in (9200, 9201, 9000)]


@dataclass(frozen=True)
class PsoSettings:
    listen: list[Listen] = setting(
        default_factory=_default_listen,
        doc="Where the login server listens: 9200 (DC v1/v2), 9201 (EU at 50 Hz),\n"
        "9000 (DC NTE). Use 0.0.0.0 to let consoles on the LAN in.",
    )
    ship_listen: Listen = setting(
        Listen.from_text("tcp:127.0.0.1:5110"), "Where dcsim's own ship listens."
    )
    ship_address: IPv4Address | None = setting(
        None,
        "The IPv4 address of dcsim's ship as told to clients (command 19).\n"
        "Unset: the address the client reached the login server at.",
    )
    server_name: str = setting("dcsim", "The title of the ship menu.")
    ships: list[ShipSettings] = setting(
        default_factory=lambda: [ShipSettings()],
        doc="The ship menu: dcsim's own ship and any external ones.",
    )
    credentials: Literal["accept-any", "sylverant", "sega-serial", "accounts"] = setting(
        "accept-any",
        "Who may log in. accept-any: everyone; sylverant: Sylverant's serial and\n"
        "access key rules; sega-serial: Sega's serial number algorithm; accounts:\n"
        "registered accounts (serial = licence ID, access key = password) in the\n"
        "accounts database shared with the licence server (`dcsim accounts`).",
    )
    register_new_v1: bool = setting(
        True,
        "Answer a DC v1 disc seen for the first time with 90 flag 01 (register),\n"
        "so it sends its 92 registration; false answers 02 (ok, save the licence).",
    )
    jp_v1_round_up: bool = setting(
        True,
        "JP DC v1 sends its 90 with size 0x26, not a multiple of 4. true: decrypt it\n"
        "with a whole keystream word for the last bytes, as the disc encrypts it.\n"
        "false: a byte-stream reading that leaves the cipher out of step, so JP v1\n"
        'fails right after its licence check (the 2006 "v1 cannot connect" hypothesis).',
    )
    login_timeout: float = setting(
        60.0,
        "Seconds a client has from connecting to reaching the menu or lobby.",
        min=1,
        max=3600,
    )
    idle_timeout: float = setting(
        900.0,
        "Seconds without a command before a logged-in client is disconnected\n"
        "(Sega's rules: an idle disconnect, 15 minutes by default, never unlimited).",
        min=10,
        max=86400,
    )
    max_sessions: int = setting(
        1000,
        "Connections each server takes at once; more are refused with a message.",
        min=1,
        max=100000,
    )
    blocks: int = setting(10, "Blocks of dcsim's ship (each 15 lobbies of 12).", min=1, max=99)
    max_command_size: int = setting(
        MAX_COMMAND_SIZE,
        "The largest command accepted from a client, in bytes.",
        min=0x40,
        max=MAX_COMMAND_SIZE,
    )
    database: Path = setting(
        Path("pso.sqlite3"), "Guild card numbers and the chat log; relative to data_dir."
    )
    chat_retention_days: float = setting(
        183.0,
        "Lobby chat is kept this many days, then purged. Sega's rules require at\n"
        "least six months so misconduct can be traced.",
        min=1,
        max=36500,
    )

    def __post_init__(self) -> None:
        for listen in (*self.listen, self.ship_listen):
            if listen.transport != "tcp":
                raise ValueError(f"PSO runs over TCP; {listen} is not a tcp: address")
        if not self.ships:
            raise ValueError("the ship menu needs at least one ship")

    def database_path(self, data_dir: Path) -> Path:
        return self.database if self.database.is_absolute() else data_dir / self.database
