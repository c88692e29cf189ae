"""The ``[dns]`` settings section: the authoritative server and its 2006 knobs."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Literal

from dcsim.address import Listen
from dcsim.config import setting
from dcsim.dns import names
from dcsim.dns.authority import DEFAULT_EDNS_PAYLOAD, EdnsPolicy, ForeignNames, Policy, Revival
from dcsim.dns.server import TcpLimits
from dcsim.dns.zone import load_hints


@dataclass(frozen=True)
class DnsSettings:
    zones: Path = setting(
        Path("configs/zones"),
        "Directory of zone files, one per zone, named ORIGIN.zone (root.zone for the root).\n"
        "configs/zones holds the revival zones; configs/zones/2006/ the 2006 scenarios'.",
    )
    listen: list[Listen] = setting(
        default_factory=lambda: [
            Listen.from_text("udp:127.0.0.1:5353"),
            Listen.from_text("tcp:127.0.0.1:5353"),
        ],
        doc="Where `dcsim dns` listens on this machine (transport:address:port).",
    )
    transport: Literal["udp", "udp+tcp"] = setting(
        "udp+tcp",
        "udp: never listen on TCP (tinydns, Sylverant's pso_dns, maybe Sega's 2006 server);\n"
        "udp+tcp: both, as RFC 7766 requires today.",
    )
    tcp_closed: Literal["rst", "drop"] = setting(
        "rst",
        "With transport = udp, what a TCP SYN to port 53 meets: rst (connection refused at\n"
        "once) or drop (a firewall: the client's connect times out). On real sockets the\n"
        "kernel always resets; on the virtual internet the scenario's host applies this.",
    )
    foreign_names: ForeignNames = setting(
        ForeignNames.REFUSED,
        "Queries for names in none of the zones: refused (RCODE 5), drop (no answer: the\n"
        "client times out) or upward_referral (NOERROR with the root servers, as BIND 9.3\n"
        "did; needs root_hints).",
    )
    root_hints: Path | None = setting(
        None, "Root servers for upward referrals, in named.root format (zone-file syntax)."
    )
    edns: EdnsPolicy = setting(
        EdnsPolicy.ANSWER,
        "Queries with an EDNS OPT record: answer, formerr (a server that does not know\n"
        "EDNS, RFC 6891 §7) or drop (no answer).",
    )
    edns_payload: int = setting(
        DEFAULT_EDNS_PAYLOAD,
        "The UDP payload size we advertise and answer up to (RFC 6891).",
        min=512,
        max=4096,
    )
    axfr_clients: list[IPv4Network] = setting(
        default_factory=list,
        doc="Networks allowed zone transfers (AXFR); empty: none (every transfer REFUSED).",
    )
    revival_address: IPv4Address | None = setting(
        None,
        "If set, answer A queries for revival_suffixes (or, if empty, every name) with this\n"
        "address, as newserv's DNS server does, ahead of the zones.",
    )
    revival_suffixes: list[str] = setting(
        default_factory=list,
        doc='Domains the revival address answers for, e.g. ["dricas.ne.jp", "sega.net"].',
    )
    tcp_idle_timeout: float = setting(
        10.0,
        "Seconds a TCP connection may stay without a complete query (RFC 7766 §6.2.3).",
        min=0.1,
        max=3600,
    )
    tcp_max_connections: int = setting(100, "Open TCP connections at most.", min=1, max=100000)
    tcp_max_per_client: int = setting(
        10, "Open TCP connections at most from one address.", min=1, max=100000
    )

    def __post_init__(self) -> None:
        for suffix in self.revival_suffixes:
            try:
                names.from_text(suffix.rstrip(".") + ".")
            except ValueError as e:
                raise ValueError(
                    f"revival_suffixes: {suffix!r} is not a domain name: {e}"
                ) from None

    def policy(self) -> Policy:
        """The answerer's policy these settings describe (reads the root hints file)."""
        revival = None
        if self.revival_address is not None:
            suffixes = tuple(
                names.key(names.from_text(s.rstrip(".") + ".")) for s in self.revival_suffixes
            )
            revival = Revival(self.revival_address, suffixes)
        hints = load_hints(self.root_hints) if self.root_hints is not None else ()
        if self.foreign_names is ForeignNames.UPWARD_REFERRAL and not hints:
            raise ValueError("foreign_names = upward_referral needs root_hints")
        return Policy(
            foreign_names=self.foreign_names,
            edns=self.edns,
            edns_payload=self.edns_payload,
            axfr_clients=tuple(self.axfr_clients),
            revival=revival,
            root_hints=hints,
        )

    def tcp_limits(self) -> TcpLimits:
        return TcpLimits(
            idle_timeout=self.tcp_idle_timeout,
            max_connections=self.tcp_max_connections,
            max_per_client=self.tcp_max_per_client,
        )
