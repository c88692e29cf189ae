"""Scenarios as data: the knobs of failure2006.md §6.1, read once into frozen dataclasses.

A scenario file (``configs/scenarios/*.toml``) has:

- ``[scenario]``: title, seed, the virtual time each cell may take;
- ``[world]``: the server side every cell starts from (Sega's DNS, the public DNS tree,
  the licence server, the login server and its lobby, the server-side path, the ISP's
  resolver, an optional patch page);
- ``[consoles.NAME]``: Dreamcasts (:class:`dcsim.client.settings.ConsoleSettings`);
- ``[access.NAME]``: access networks (:class:`AccessKnobs`): dial-up into the ISP's or the
  user's own access server, or a broadband line with or without a home router;
- ``[paths.NAME]``: a user path, one console on one access network;
- ``[configs.NAME]``: server configurations and remedies, each a set of changes to
  ``[world]`` (``[configs.NAME.world]``) and to every console (``[configs.NAME.console]``).

The file describes topologies and knobs only; outcomes come from running them. Changes
are merged into the base tables before typing, so every cell's world and console is a
complete, checked dataclass (an error names the key under ``configs.NAME``).
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Literal

from dcsim import config
from dcsim.auth.policy import Policy as LicencePolicy
from dcsim.client.settings import ConsoleSettings
from dcsim.config import ConfigError, setting
from dcsim.dns.authority import EdnsPolicy, ForeignNames
from dcsim.ppp.ipcp import DnsPolicy

ROOT = Path(__file__).resolve().parents[3]
ISP_RESOLVER = IPv4Address("198.51.100.53")
SEGA_DNS = IPv4Address("192.0.2.53")


@dataclass(frozen=True)
class SegaDnsKnobs:
    zones: Path = setting(Path("configs/zones/2006/sega"), "Zones of Sega's island server.")
    transport: Literal["udp", "udp+tcp"] = setting("udp", "udp: no TCP listener on port 53.")
    tcp_closed: Literal["rst", "drop"] = setting(
        "rst", "With udp: a SYN to port 53 is reset, or dropped by a firewall."
    )
    foreign_names: ForeignNames = setting(
        ForeignNames.REFUSED, "Names outside its zones: refused, drop or upward_referral."
    )
    edns: EdnsPolicy = setting(EdnsPolicy.ANSWER, "EDNS queries: answer, formerr or drop.")


@dataclass(frozen=True)
class PublicDnsKnobs:
    sega_zones: Path = setting(
        Path("configs/zones/2006/public"),
        "What Sega's public servers (203.0.113.4) serve: public (the PSO names NXDOMAIN)\n"
        "or public-stale (old Isao addresses).",
    )
    records: dict[str, IPv4Address] = setting(
        default_factory=dict,
        doc="A records added to those zones, name = address (publishing the island's).",
    )


@dataclass(frozen=True)
class LicenceAccount:
    password: str = setting(doc="The Hunter's License password.")
    state: Literal["active", "suspended", "billing-error"] = setting("active", "Its state.")


@dataclass(frozen=True)
class LicenceKnobs:
    profile: str = setting("ntssl", "SSL profile: ntssl (the console's) or modern.")
    policy: LicencePolicy = setting(
        LicencePolicy.REVIVAL, "revival: every check passes; accounts: the accounts below."
    )
    accounts: dict[str, LicenceAccount] = setting(
        default_factory=dict, doc="Registered Hunter's Licenses (policy = accounts)."
    )
    running: bool = setting(True, "false: nothing listens on port 443.")


@dataclass(frozen=True)
class LoginKnobs:
    v1_round_up: bool = setting(
        True, "Decrypt JP v1's 0x26-byte 90 with a whole keystream word (false: desync)."
    )
    residents: int = setting(
        0,
        "Players already in the lobby the console enters (their data makes it large).",
        min=0,
        max=11,
    )
    credentials: Literal["accept-any", "sylverant", "sega-serial"] = setting(
        "accept-any", "Who may log in."
    )
    idle_timeout: float = setting(
        900.0, "Seconds without a command before the server disconnects a player.", min=10
    )


@dataclass(frozen=True)
class ServerPathKnobs:
    mtu: int = setting(1500, "MTU of the link in front of Sega's servers.", min=576, max=1500)
    frag_needed: bool = setting(
        True, "false: the edge router drops oversize DF datagrams silently (a black hole)."
    )


@dataclass(frozen=True)
class PatchPageKnobs:
    """A Sega web page the console downloads an in-memory patch from (remedy 7)."""

    address: IPv4Address = setting(IPv4Address("192.0.2.80"), "The web host, behind Sega's edge.")
    path: str = setting("/pso/patch.txt", "Its path.")
    licence_host: str = setting("", "The licence host the patch writes into memory.")
    login_host: str = setting("", "The login host the patch writes into memory.")
    size: int = setting(4096, "Bytes of the download (the patch code).", min=16, max=1 << 20)


@dataclass(frozen=True)
class IspKnobs:
    resolver_edns: bool = setting(True, "The ISP's resolver sends EDNS (BIND 9 did in 2006).")
    resolver_timeout: float = setting(2.0, "Its seconds per upstream query.", min=0.01)


@dataclass(frozen=True)
class WorldKnobs:
    sega_dns: SegaDnsKnobs = setting(default_factory=SegaDnsKnobs, doc="Sega's island DNS.")
    public_dns: PublicDnsKnobs = setting(default_factory=PublicDnsKnobs, doc="Public DNS.")
    licence: LicenceKnobs = setting(default_factory=LicenceKnobs, doc="The licence server.")
    login: LoginKnobs = setting(default_factory=LoginKnobs, doc="The PSO login server.")
    server_path: ServerPathKnobs = setting(
        default_factory=ServerPathKnobs, doc="The path in front of Sega's servers."
    )
    isp: IspKnobs = setting(default_factory=IspKnobs, doc="The ISP's resolver.")
    isao_hosts: Literal["silent", "rst"] = setting(
        "silent", "The old Isao addresses: gone (SYNs unanswered) or answering RST."
    )
    patch_page: PatchPageKnobs | None = setting(None, "A patch page (remedy 7).")


@dataclass(frozen=True)
class RouterKnobs:
    """A home broadband router between the console and the line."""

    wan_mtu: int = setting(1500, "MTU of its line (Flet's PPPoE: 1454).", min=576, max=1500)
    mss_clamp: int | None = setting(None, "Clamp SYNs' MSS (PPPoE routers: MTU - 40).", min=88)
    dns_proxy: bool = setting(
        False, "Hand out itself as DNS and forward queries to the ISP's resolver."
    )


@dataclass(frozen=True)
class HomeServerKnobs:
    """The user's own PC: a PPP access server and a DNS forwarder, on a broadband line."""

    forwarders: list[IPv4Address] = setting(
        default_factory=lambda: [SEGA_DNS], doc="Where its DNS forwards queries."
    )
    upstream: Literal["udp", "tcp-first", "tcp-only"] = setting(
        "udp", "How it asks them: UDP (TCP after TC), TCP first, or TCP only."
    )


ETHERNET_KINDS = ("broadband", "dcnet-ethernet")  # lines a broadband adapter uses


@dataclass(frozen=True)
class AccessKnobs:
    kind: Literal["dialup", "dcnet", "dcnet-ethernet", "broadband"] = setting(
        "dialup",
        "The console's line: dialup (modem, PPP), dcnet (PPP straight to the access server,\n"
        "as Flycast's DCNet mode does), dcnet-ethernet (the adapter on DCNet's TCP 7655:\n"
        "ARP and DHCP with the access network) or broadband (the adapter on an Ethernet\n"
        "line; DHCP modelled by its result).",
    )
    ipcp_dns: DnsPolicy = setting(
        DnsPolicy.NAK, "dialup: the access server Naks, Acks or Rejects the DNS options."
    )
    dns: list[IPv4Address] = setting(
        default_factory=lambda: [ISP_RESOLVER],
        doc="The DNS servers the access network hands out (IPCP Naks, DHCP).",
    )
    mss_clamp: int | None = setting(None, "The ISP clamps subscribers' MSS.", min=88)
    udp53_intercept: bool = setting(
        False, "The ISP sends every UDP/53 datagram to its own resolver."
    )
    line_mtu: int = setting(1500, "broadband: the Ethernet line's MTU.", min=576, max=1500)
    router: RouterKnobs | None = setting(None, "broadband: a home router (NAT).")
    home_server: HomeServerKnobs | None = setting(
        None, "dialup: the user's own access server instead of the ISP's."
    )
    phone: str = setting("jp", "dialup: the line profile (jp, jp-pulse, eu, us or a file).")
    dial_tone: bool = setting(True, "dialup: false: the modular cable is unplugged.")
    behaviour: Literal["answer", "busy", "no_answer", "voice", "server_down"] = setting(
        "answer", "dialup: what the access number does."
    )
    busy_first: int = setting(0, "dialup: busy for the first N calls.", min=0)
    drop_after: float = setting(
        0.0, "dialup: the carrier is lost after so many seconds connected (0: never).", min=0
    )
    idle_timeout: float = setting(
        0.0, "dialup: the access server hangs up after so many idle seconds (0: never).", min=0
    )
    ppp_logins: dict[str, str] = setting(
        default_factory=dict, doc="dialup: PPP user = password accepted (empty: anyone)."
    )

    def __post_init__(self) -> None:
        if self.kind != "broadband" and self.router is not None:
            raise ValueError("router: only a broadband line has a home router")
        if self.kind in ETHERNET_KINDS and self.home_server is not None:
            raise ValueError("home_server: only a dial-up path calls a home server")
        if not 1 <= len(self.dns) <= 2:
            raise ValueError("dns: one or two servers")


@dataclass(frozen=True)
class PathSpec:
    text: str
    console: ConsoleSettings
    access: AccessKnobs
    console_name: str = ""
    access_name: str = ""


@dataclass(frozen=True)
class ConfigSpec:
    """A server configuration or remedy: the world it makes, and each path's console."""

    name: str
    text: str
    world: WorldKnobs
    consoles: dict[str, ConsoleSettings]  # by path


@dataclass(frozen=True)
class ScenarioInfo:
    title: str = setting("", "What the scenario shows.")
    seed: int = setting(0, "Seed of every random choice.")
    time_limit: float = setting(1800.0, "Virtual seconds a cell may take at most.", min=1)


@dataclass(frozen=True)
class Scenario:
    info: ScenarioInfo
    paths: dict[str, PathSpec]
    configs: dict[str, ConfigSpec]
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def cells(self) -> list[tuple[PathSpec, ConfigSpec, str]]:
        return [
            (path, cfg, name) for cfg in self.configs.values() for name, path in self.paths.items()
        ]


# --- loading -----------------------------------------------------------------------------

_TOP = {"scenario", "world", "consoles", "access", "paths", "configs"}


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; any problem is one :class:`ConfigError`."""
    return scenario_from(config.read_toml(path), str(path))


def loads_scenario(text: str, source: str = "<string>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "", f"not valid TOML: {e}") from None
    return scenario_from(data, source)


def _entry(raw: object, key: str, allowed: tuple[str, ...], source: str) -> dict[str, Any]:
    """A [paths.X] or [configs.X] table holding only *allowed* keys."""
    if not isinstance(raw, dict):
        raise ConfigError(source, key, "expected a table")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        known = ", ".join(sorted(allowed))
        raise ConfigError(source, f"{key}.{unknown[0]}", f"unknown key; known: {known}")
    return raw


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(source, key, f"expected a table, got {config.describe(value)}")
    return value


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def scenario_from(data: dict[str, Any], source: str) -> Scenario:
    for key in data:
        if key not in _TOP:
            known = ", ".join(sorted(_TOP))
            raise ConfigError(source, key, f"unknown table; known: {known}")
    info = config.from_mapping(_table(data, "scenario", source), ScenarioInfo, source, "scenario")
    world_raw = _table(data, "world", source)
    config.from_mapping(world_raw, WorldKnobs, source, "world")  # check the base alone
    consoles_raw = _table(data, "consoles", source)
    access_raw = _table(data, "access", source)
    consoles = {
        name: config.from_mapping(raw, ConsoleSettings, source, f"consoles.{name}")
        for name, raw in consoles_raw.items()
    }
    access = {
        name: config.from_mapping(raw, AccessKnobs, source, f"access.{name}")
        for name, raw in access_raw.items()
    }
    paths: dict[str, PathSpec] = {}
    for name, entry in _table(data, "paths", source).items():
        key = f"paths.{name}"
        raw = _entry(entry, key, ("text", "console", "access"), source)
        console_name, access_name = raw.get("console"), raw.get("access")
        if console_name not in consoles:
            raise ConfigError(source, f"{key}.console", _choice("console", console_name, consoles))
        if access_name not in access:
            raise ConfigError(source, f"{key}.access", _choice("access", access_name, access))
        ethernet = access[access_name].kind in ETHERNET_KINDS
        if consoles[console_name].link == "modem" and ethernet:
            raise ConfigError(source, key, f"a modem console on the {access_name} broadband line")
        if consoles[console_name].link == "bba" and not ethernet:
            raise ConfigError(source, key, f"a broadband adapter on the {access_name} dial-up")
        paths[name] = PathSpec(
            str(raw.get("text", "")),
            consoles[console_name],
            access[access_name],
            console_name,
            access_name,
        )
    if not paths:
        raise ConfigError(source, "paths", "a scenario needs at least one path")
    configs: dict[str, ConfigSpec] = {}
    for name, entry in _table(data, "configs", source).items():
        key = f"configs.{name}"
        raw = _entry(entry, key, ("text", "world", "console"), source)
        world_changes = raw.get("world", {})
        console_changes = raw.get("console", {})
        for sub, value in (("world", world_changes), ("console", console_changes)):
            if not isinstance(value, dict):
                raise ConfigError(source, f"{key}.{sub}", "expected a table")
        world = config.from_mapping(
            _merge(world_raw, world_changes), WorldKnobs, source, f"{key}.world"
        )
        per_path = {
            path_name: config.from_mapping(
                _merge(consoles_raw[path.console_name], console_changes),
                ConsoleSettings,
                source,
                f"{key}.console",
            )
            for path_name, path in paths.items()
        }
        configs[name] = ConfigSpec(name, str(raw.get("text", "")), world, per_path)
    if not configs:
        world = config.from_mapping(world_raw, WorldKnobs, source, "world")
        configs["base"] = ConfigSpec("base", "", world, {n: p.console for n, p in paths.items()})
    return Scenario(info, paths, configs, source)


def _choice(what: str, value: object, known: dict[str, Any]) -> str:
    names = ", ".join(sorted(known)) or "none defined"
    return f"no {what} named {config.describe(value)}; known: {names}"


def resolve(path: Path) -> Path:
    """A path in a scenario: as given if it exists, else from the source tree's root."""
    return path if path.is_absolute() or path.exists() else ROOT / path
