"""The ``[dns]`` settings section: the authoritative server and its 2006 knobs."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Literal

from dcsim.address import Listen
from dcsim.config import setting
from dcsim.dns import names
from dcsim.dns.authority import (
    DEFAULT_EDNS_PAYLOAD,
    Authority,
    EdnsPolicy,
    ForeignNames,
    Policy,
    Revival,
)
from dcsim.dns.recursive import RecursiveResolver, ResolverConfig
from dcsim.dns.server import DnsController, DnsServer, TcpLimits
from dcsim.dns.stub import KOS_TIMEOUT, KOS_TRIES, StubConfig
from dcsim.dns.zone import Zones, load_hints


@dataclass(frozen=True)
class StubSettings:
    """The Dreamcast's resolver (the virtual Dreamcast uses these)."""

    tries: int = setting(
        KOS_TRIES,
        "Queries per server before the next. The official Dreamcast stack's value is\n"
        "unknown (failure2006.md §3); the default is KallistiOS's.",
        min=1,
        max=20,
    )
    timeout: float = setting(
        KOS_TIMEOUT,
        "Seconds to wait for each query. Unknown for the official stack; KallistiOS's.",
        min=0.01,
        max=60,
    )

    def config(self, servers: Sequence[str]) -> StubConfig:
        return StubConfig(tuple(servers), self.tries, self.timeout)


@dataclass(frozen=True)
class ResolverSettings:
    """The ISP's recursive resolver on the virtual internet (never on real sockets)."""

    root_hints: Path = setting(
        Path("configs/zones/2006/root.hints"), "Where iteration starts (named.root format)."
    )
    forwarders: list[IPv4Address] = setting(
        default_factory=list, doc="If set, ask these servers (RD=1) instead of iterating."
    )
    clients: list[IPv4Network] = setting(
        default_factory=lambda: [IPv4Network("198.51.100.0/24")],
        doc="Networks the resolver answers; everyone else gets REFUSED for outside names.",
    )
    timeout: float = setting(2.0, "Seconds to wait for each upstream query.", min=0.01, max=60)
    tries: int = setting(2, "Rounds over a zone's servers before giving up.", min=1, max=10)
    upstream: Literal["udp", "tcp-first", "tcp-only"] = setting(
        "udp", "udp: UDP, TCP after TC; tcp-first: TCP, then UDP; tcp-only: TCP alone."
    )
    tcp_fallback: bool = setting(True, "Ask again over TCP when a UDP reply is truncated.")
    edns: bool = setting(True, "Send EDNS (BIND 9 did by default in 2006).")
    edns_payload: int = setting(4096, "The EDNS payload size sent.", min=512, max=65535)
    edns_timeout_fallback: bool = setting(
        True, "After a timeout with EDNS, try the server once more without it."
    )

    def config(self) -> ResolverConfig:
        """The resolver's configuration (reads the root hints file)."""
        hints = load_hints(self.root_hints) if not self.forwarders else ()
        return ResolverConfig(
            root_hints=hints,
            forwarders=tuple(str(a) for a in self.forwarders),
            timeout=self.timeout,
            tries=self.tries,
            upstream=self.upstream,
            tcp_fallback=self.tcp_fallback,
            edns=self.edns,
            edns_payload=self.edns_payload,
            edns_timeout_fallback=self.edns_timeout_fallback,
        )

    def controller(self, reactor: Any, rng: random.Random) -> DnsController:
        """A DNS service that recurses for :attr:`clients` only, on *reactor* (a virtual
        host): hand it to :class:`~dcsim.dns.server.DnsServer`."""
        resolver = RecursiveResolver(reactor, self.config(), rng)
        return DnsController(Authority(Zones()), resolver, self.clients)


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
    tcp_max_queries: int = setting(
        1000,
        "Queries one TCP connection may carry before the server closes it (RFC 7766 §6.2.3).",
        min=1,
        max=2**31 - 1,
    )
    resolver: ResolverSettings = setting(
        default_factory=ResolverSettings,
        doc="The ISP's recursive resolver (virtual internet only: never an open resolver).",
    )
    stub: StubSettings = setting(default_factory=StubSettings, doc="The Dreamcast's resolver.")

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

    def authority(self) -> Authority:
        """The zones and the policy (raises ZoneFileError or ValueError)."""
        return Authority(Zones.load(self.zones), self.policy())

    def serve(
        self,
        reactor: Any,
        listen: Sequence[Listen] | None = None,
        *,
        controller: DnsController | None = None,
    ) -> DnsServer:
        """An authoritative server for these settings on *reactor* (real or a virtual
        host), answering through *controller* (default: one for :meth:`authority`) and
        listening on *listen* (default: :attr:`listen`). With ``transport = udp``
        TCP addresses are skipped, and a virtual host is told whether a SYN to a closed
        port gets a reset or nothing (``tcp_closed``); the real kernel always resets.
        Raises ZoneFileError, ValueError or CannotListenError."""
        if controller is None:
            controller = DnsController(self.authority())
        server = DnsServer(reactor, controller, self.tcp_limits())
        self.open(server, self.listen if listen is None else listen)
        if self.transport == "udp" and hasattr(reactor, "rst_for_closed_ports"):
            reactor.rst_for_closed_ports = self.tcp_closed == "rst"
        return server

    def open(self, server: DnsServer, listen: Sequence[Listen]) -> None:
        """Make *server* listen on each address of *listen* that ``transport`` allows
        (with ``transport = udp`` TCP addresses are skipped). Raises CannotListenError."""
        for address in self.allowed(listen):
            server.listen(address)

    def allowed(self, listen: Sequence[Listen]) -> list[Listen]:
        """The addresses of *listen* that ``transport`` allows: with ``transport = udp``,
        the UDP ones."""
        return [a for a in listen if not (a.transport == "tcp" and self.transport == "udp")]

    def tcp_limits(self) -> TcpLimits:
        return TcpLimits(
            idle_timeout=self.tcp_idle_timeout,
            max_connections=self.tcp_max_connections,
            max_per_client=self.tcp_max_per_client,
            max_queries=self.tcp_max_queries,
        )
