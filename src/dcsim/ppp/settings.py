"""The ``[ppp]`` settings section: the access server every PPP front end shares."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Literal

from dcsim.config import setting
from dcsim.ppp.auth import Accounts
from dcsim.ppp.automaton import Timing
from dcsim.ppp.ipcp import DnsPolicy, VjParams
from dcsim.ppp.lcp import AuthProtocol, LcpConfig
from dcsim.ppp.link import LinkConfig, server_config

_AUTH = {"pap": AuthProtocol.PAP, "chap": AuthProtocol.CHAP_MD5}


@dataclass(frozen=True)
class PppSettings:
    nas: str = setting(
        "nas",
        "The NAS of the [net] topology that consoles attach to: its address is their\n"
        "gateway (the IPCP peer), its pool the addresses handed out, lowest free first.",
    )
    dns: list[IPv4Address] = setting(
        default_factory=lambda: [IPv4Address("192.0.2.53")],
        doc="DNS servers handed to consoles (IPCP options 129/131, DHCP option 6): one or two.",
    )
    dns_policy: DnsPolicy = setting(
        DnsPolicy.NAK,
        "The console's DNS options: nak (hand out ours, as ISPs do), ack (keep what the\n"
        "console asks for; 0.0.0.0 gets ours) or reject (an access server without RFC 1877).",
    )
    auth: list[Literal["pap", "chap"]] = setting(
        default_factory=lambda: ["pap"],
        doc="Authentication demanded of consoles, preferred first; [] for none (KallistiOS\n"
        "programs without a login). Flycast and DreamPi 1.9 use PAP.",
    )
    accept_any_login: bool = setting(
        True, "Accept every user name and password (Flycast sends flycast1/password)."
    )
    logins: dict[str, str] = setting(
        default_factory=dict,
        doc="With accept_any_login = false, the user names and passwords that may log in.\n"
        "Plain text, like pppd's pap-secrets and chap-secrets (CHAP needs the secret).",
    )
    vj: bool = setting(
        False,
        "Accept Van Jacobson TCP/IP header compression (IPCP option 2, RFC 1144) and\n"
        "compress/decompress it. Web TV for Dreamcast needs it; other titles do not.",
    )
    echo_interval: float = setting(
        30.0,
        "Seconds between our LCP Echo-Requests once the link is up; 0 = none\n"
        "(dcnet-ap's lcp-echo-interval). The 7656 front end never sends them.",
        min=0,
        max=3600,
    )
    echo_failure: int = setting(
        4, "Unanswered Echo-Requests before the link is declared dead.", min=1, max=100
    )
    idle_timeout: float = setting(
        0.0,
        "Seconds without IP traffic before hanging up (an automatic disconnect); 0 = never.",
        min=0,
    )
    mru: int = setting(1500, "Our receive MRU (asked for only when not 1500).", min=128, max=16384)
    restart: float = setting(3.0, "LCP/IPCP restart timer, seconds (RFC 1661).", min=0.1, max=60)
    max_configure: int = setting(10, "Configure-Requests before giving up.", min=1, max=100)
    max_terminate: int = setting(2, "Terminate-Requests before giving up.", min=1, max=100)
    max_failure: int = setting(
        5, "Configure-Naks before Naks turn into Rejects (never for DNS).", min=1, max=100
    )
    capture_dir: Path | None = setting(
        None,
        "If set, one pcap per session (PPP with direction, or Ethernet for the broadband\n"
        "adapter) is written here; ~ is expanded.",
    )

    def __post_init__(self) -> None:
        if not 1 <= len(self.dns) <= 2:
            raise ValueError("dns: give one or two DNS server addresses")

    def link_config(
        self, local_address: IPv4Address, *, echo: bool = True, auth: list[str] | None = None
    ) -> LinkConfig:
        """The access server's link configuration at the NAS's *local_address*; *echo* and
        *auth* override per front end."""
        timing = Timing(self.restart, self.max_configure, self.max_terminate, self.max_failure)
        lcp = LcpConfig(
            mru=self.mru,
            authenticate_with=tuple(_AUTH[a] for a in (self.auth if auth is None else auth)),
            passive=True,
            echo_interval=self.echo_interval if echo else 0.0,
            echo_failure=self.echo_failure,
            loopback_limit=min(5, self.max_failure),
            timing=timing,
        )
        return server_config(
            lcp=lcp,
            ipcp_timing=timing,
            accounts=Accounts(dict(self.logins), accept_any=self.accept_any_login),
            local_address=local_address,
            dns=tuple(self.dns),
            dns_policy=self.dns_policy,
            vj=VjParams() if self.vj else None,
            idle_timeout=self.idle_timeout,
        )
