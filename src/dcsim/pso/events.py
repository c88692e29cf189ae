"""What the PSO cores tell their edges: small frozen events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address

from dcsim.causes import Cause
from dcsim.pso.commands import Command, RawCommand
from dcsim.pso.credentials import Credentials
from dcsim.pso.version import Version


class Step(Enum):
    """Where in the login a credential check happens."""

    CHECK = "check"  # 90 / 9A / 88 on the login server
    LOGIN = "login"  # 93 / 9D / 8B on the login server
    SHIP_LOGIN = "ship-login"  # 93 / 9D / 8B on the ship, after 02


@dataclass(frozen=True, slots=True)
class CheckCredentials:
    """The edge must run the credential policy and call ``credentials_checked``."""

    credentials: Credentials
    step: Step


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class CommandIgnored:
    """A command the session does not act on in its phase (logged, and captured)."""

    command: RawCommand | Command
    phase: str


@dataclass(frozen=True, slots=True)
class LoggedIn:
    guild_card: int
    version: Version
    sub_version: int
    name: bytes
    step: Step


@dataclass(frozen=True, slots=True)
class Redirected:
    ship: str
    address: IPv4Address
    port: int


@dataclass(frozen=True, slots=True)
class JoinedLobby:
    guild_card: int
    block: int
    lobby: int  # 1-based, as players see it
    client_id: int


@dataclass(frozen=True, slots=True)
class ChatLine:
    """A lobby chat line, for the chat log (Sega's rules: kept at least six months)."""

    time: float
    guild_card: int
    name: bytes
    block: int
    lobby: int
    text: bytes
    japanese: bool


@dataclass(frozen=True, slots=True)
class Closed:
    """The session is over: why, and the cause a console would show where one applies."""

    reason: str
    cause: Cause | None = None
    by_peer: bool = False
