"""The ``[client]`` settings section: the virtual Dreamcast and the rules it is judged by.

:class:`ConsoleSettings` is what a Dreamcast keeps in its flash (the provider settings of
Dream Passport or PlanetWeb: line type, outside-line prefix, the AT string, three access
numbers, two DNS servers, the PPP login; for the broadband adapter DHCP or a static
address) plus the behaviour of the disc's network library that no source documents
(marked [U]: the stub resolver's tries and timeout, whether it asks for DNS in IPCP, its
MSS). Scenarios describe their consoles with the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

from dcsim.client.dialler import LineType
from dcsim.client.discs import DISCS
from dcsim.client.rules import SegaRules
from dcsim.config import setting
from dcsim.dcnet.ethernet import mac_from_text

ANY = IPv4Address(0)


@dataclass(frozen=True)
class ConsoleSettings:
    disc: str = setting("jp-v2", f"The PSO disc: {', '.join(DISCS)}.")
    link: Literal["modem", "bba"] = setting(
        "modem", "modem: dial up with PPP; bba: the broadband adapter on Ethernet."
    )
    # --- the modem's provider settings --------------------------------------------------
    line_type: LineType = setting(LineType.TONE, "tone or pulse (Sega: tone by default).")
    outside_prefix: str = setting("", 'Digits for an outside line, e.g. "0," (empty: none).')
    modem_init: str = setting("AT&F0", "The stored AT command string, sent before dialling.")
    numbers: list[str] = setting(
        default_factory=lambda: ["0355703001"], doc="Access point numbers, tried in order (1-3)."
    )
    ppp_user: str = setting("dream", "PPP (PAP/CHAP) user name.")
    ppp_password: str = setting("cast", "PPP password (never logged).")
    ipcp_dns: Literal["ask", "flash", "none"] = setting(
        "flash",
        "[U] What IPCP asks for DNS: ask (0.0.0.0: take the ISP's), flash (the stored\n"
        "servers; an ISP that Naks them overrides them, RFC 1877), none (no DNS options:\n"
        "keep the stored servers).",
    )
    # --- the broadband adapter ----------------------------------------------------------
    bba_method: Literal["dhcp", "static"] = setting(
        "dhcp", "dhcp: address, router and DNS from DHCP; static: the values below."
    )
    address: IPv4Address = setting(
        ANY, "Static address (bba_method = static; in a scenario, the line's address)."
    )
    netmask: IPv4Address = setting(IPv4Address("255.255.255.0"), "Static netmask.")
    gateway: IPv4Address = setting(ANY, "Static router.")
    bba_mac: str = setting(
        "0c:0a:0f:0e:00:00",
        "The broadband adapter's hardware address (Flycast's emulated RTL8139's).",
    )
    # --- both -----------------------------------------------------------------------------
    dns: list[IPv4Address] = setting(
        default_factory=lambda: [ANY, ANY],
        doc="The two stored DNS servers (0.0.0.0: none stored).",
    )
    mss: int | None = setting(
        None, "[U] The stack's own TCP MSS ceiling (unset: the link's MTU - 40).", min=88
    )
    resolver_tries: int = setting(4, "[U] Queries per DNS server (KallistiOS: 4).", min=1, max=20)
    resolver_timeout: float = setting(
        0.5, "[U] Seconds per DNS query (KallistiOS: 0.5).", min=0.05, max=60
    )
    licence_id: str = setting("HL0001", "The Hunter's License ID sent in the licence check.")
    licence_password: str = setting("hunter", "Its password (never logged).")
    ssl_profile: str = setting(
        "ntssl console",
        'The SSL hello: "ntssl console" (the disc\'s), "tls 1.0" (a new disc with\n'
        'stronger algorithms), "windows ce export-only".',
    )
    licence_host: str | None = setting(
        None, "Override the disc's licence host (a patched disc); an IPv4 skips DNS."
    )
    login_host: str | None = setting(
        None, "Override the disc's login host (a patched disc); an IPv4 skips DNS."
    )
    login_port: int | None = setting(None, "Override the disc's login port.", min=1, max=65535)
    patch_url: str | None = setting(
        None,
        "Before the game, download an in-memory patch from this http:// URL (lines\n"
        "licence_host=... and login_host=...): the players' remedy 7.",
    )
    segment_words: bool = setting(
        True,
        "[I] PSO decrypts each received TCP segment in whole 4-byte words (the players'\n"
        '"packet size must be a multiple of 4", failure2006.md M4a).',
    )
    step_timeout: float = setting(
        60.0, "[U] Seconds the disc waits for the licence check and for the login.", min=1
    )
    lobby_time: float = setting(
        30.0, "Seconds to stay in the lobby before leaving (a scenario's observation).", min=0
    )

    def __post_init__(self) -> None:
        if self.disc not in DISCS:
            raise ValueError(f"disc: unknown {self.disc!r}; known: {', '.join(DISCS)}")
        if not 1 <= len(self.numbers) <= 3:
            raise ValueError("numbers: a console stores one to three access numbers")
        if len(self.dns) > 2:
            raise ValueError("dns: a console stores two DNS servers")
        try:
            IPv4Network(f"0.0.0.0/{self.netmask}")
        except ValueError:
            raise ValueError(f"netmask: {self.netmask} is not a netmask") from None
        try:
            mac = mac_from_text(self.bba_mac)
        except ValueError:
            raise ValueError(
                f"bba_mac: {self.bba_mac!r} is not a MAC address like 0c:0a:0f:0e:00:00"
            ) from None
        if mac[0] & 1:
            raise ValueError(f"bba_mac: {self.bba_mac} is a group address, not an adapter's")
        if self.patch_url is not None and not self.patch_url.startswith("http://"):
            raise ValueError(f"patch_url: {self.patch_url!r} is not an http:// URL")

    @property
    def stored_dns(self) -> tuple[IPv4Address, ...]:
        """The stored DNS servers that are set."""
        return tuple(a for a in self.dns if a != ANY)


@dataclass(frozen=True)
class ClientSettings:
    console: ConsoleSettings = setting(
        default_factory=ConsoleSettings,
        doc="The virtual Dreamcast `dcsim dial` runs: its stored settings and its disc.",
    )
    rules: SegaRules = setting(
        default_factory=SegaRules,
        doc="Sega's network rules: how the virtual Dreamcast dials and disconnects, and\n"
        "what `dcsim check` holds a real client's call log to.",
    )
