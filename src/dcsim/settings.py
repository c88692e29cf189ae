"""dcsim's settings: one section per subsystem, composed into :class:`Settings`.

Each subsystem declares its own section dataclass next to its code and adds one field
here. ``configs/default.toml`` is generated from these defaults (``dcsim config
defaults``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dcsim.auth.accounts import AccountSettings
from dcsim.auth.service import AuthSettings
from dcsim.client.settings import ClientSettings
from dcsim.config import setting
from dcsim.dcnet.settings import DcnetSettings
from dcsim.dns.settings import DnsSettings
from dcsim.modem.settings import ModemSettings
from dcsim.net.settings import NetSettings
from dcsim.ppp.settings import PppSettings
from dcsim.pso.settings import PsoSettings
from dcsim.status.settings import StatusSettings
from dcsim.up.settings import UpSettings


@dataclass(frozen=True)
class LogSettings:
    level: Literal["debug", "info", "warn", "error"] = setting(
        "info", "Lowest level written; -v and -q on the command line move it."
    )
    format: Literal["text", "json"] = setting(
        "text", "text: readable lines; json: one JSON object a line."
    )


@dataclass(frozen=True)
class Settings:
    data_dir: Path = setting(
        Path("~/.local/share/dcsim"),
        "Where databases, generated certificates, stored modem profiles and captures live.\n"
        "~ is expanded; relative paths are taken from the working directory.",
    )
    log: LogSettings = setting(default_factory=LogSettings, doc="Logging.")
    modem: ModemSettings = setting(
        default_factory=ModemSettings, doc="Fake Hayes modems (dcsim modem)."
    )
    accounts: AccountSettings = setting(
        default_factory=AccountSettings,
        doc="The accounts database (licence check, PSO login): `dcsim accounts --help`.",
    )
    auth: AuthSettings = setting(
        default_factory=AuthSettings, doc="The licence server: `dcsim auth --help`."
    )
    dns: DnsSettings = setting(
        default_factory=DnsSettings, doc="DNS: the zones, the server and its 2006 knobs."
    )
    net: NetSettings = setting(
        default_factory=NetSettings,
        doc="The virtual internet: topology, captures, the gateway to real sockets.",
    )
    pso: PsoSettings = setting(
        default_factory=PsoSettings,
        doc="The PSO login server, dcsim's ship and the lobby chat log.",
    )
    ppp: PppSettings = setting(
        default_factory=PppSettings,
        doc="The ISP's PPP access server (and the DHCP of DCNet's Ethernet mode): which\n"
        "NAS, the DNS handed to consoles, authentication, LCP timers.",
    )
    dcnet: DcnetSettings = setting(
        default_factory=DcnetSettings,
        doc="Flycast's DCNet front ends (dcsim dcnet): where each one listens.",
    )
    status: StatusSettings = setting(
        default_factory=StatusSettings, doc="The live status page (who is connected, how far)."
    )
    up: UpSettings = setting(
        default_factory=UpSettings,
        doc="dcsim up: where its services stand on the virtual internet.",
    )
    client: ClientSettings = setting(
        default_factory=ClientSettings,
        doc="The virtual Dreamcast (dcsim dial, scenarios) and Sega's rules (dcsim check).",
    )

    @property
    def data_path(self) -> Path:
        """The data directory with ``~`` expanded."""
        return self.data_dir.expanduser()
