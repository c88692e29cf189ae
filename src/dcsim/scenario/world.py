"""One cell's world: the virtual internet of 2006 built from a scenario's knobs.

The address plan is docs/architecture.md's. Every server is dcsim's own, running on a
virtual host; every knob of failure2006.md §6.1 becomes configuration of those servers,
of the routers between them, or of the console::

    console ─ (modem ─ PPP | Ethernet [─ home router]) ─ isp (NAS 198.51.100.1)
       isp ─ isp-resolver 198.51.100.53 (recursive, or hands out; UDP/53 interception)
       isp ─ core ─ public-dns 203.0.113.1-.4 (root, jp., com./net., Sega's public)
                  ─ isao 203.0.113.110/.120 (old hosts: nothing listens)
                  ─ sega-edge (server_path.mtu, frag_needed) ─ sega-dns 192.0.2.53 (island)
                                                             ─ licence 192.0.2.10:443
                                                             ─ pso 192.0.2.20 (login), .30 (ship)
                                                             ─ web 192.0.2.80 (patch page)
    dial-up into the user's own server:  console ─ modem ─ PPP ─ home (NAS 192.168.1.1,
                                          DNS forwarder, NAT) ─ isp

Nothing here knows what a path or a configuration is called, or what it should give.
"""

from __future__ import annotations

import functools
import hashlib
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from dnslib import QTYPE, RR, A
from twisted.internet import defer, task
from twisted.web import resource, server

from dcsim.address import Listen
from dcsim.auth.accounts import Accounts
from dcsim.auth.accounts import State as AccountState
from dcsim.auth.policy import Policy as LicencePolicy
from dcsim.auth.service import AuthSettings, licence_factory
from dcsim.client import wire
from dcsim.client.console import Console
from dcsim.client.link import Online
from dcsim.client.report import SessionReport
from dcsim.client.settings import ConsoleSettings
from dcsim.dcnet.bba import BbaConfig, subnet_for
from dcsim.dcnet.ethernet_server import EthernetServer
from dcsim.dcnet.internet import serve_dns_on
from dcsim.dns import names
from dcsim.dns.authority import Authority
from dcsim.dns.authority import Policy as DnsPolicy
from dcsim.dns.server import DnsController
from dcsim.dns.settings import ResolverSettings
from dcsim.dns.zone import Zone, Zones, load_hints, origin_from_filename
from dcsim.dns.zonefile import Record, read_file
from dcsim.modem.calllog import CallLog
from dcsim.modem.line import Entry, LineProfile, PhoneBook, find_profile, load_profile
from dcsim.modem.protocol import ModemSetup
from dcsim.net.host import VirtualHost
from dcsim.net.nat import DnsIntercept, Nat
from dcsim.net.network import Network
from dcsim.net.router import Nas
from dcsim.ppp.pool import AddressPool
from dcsim.ppp.server import AccessServer
from dcsim.ppp.settings import PppSettings
from dcsim.pso.server import PsoService
from dcsim.pso.settings import PsoSettings
from dcsim.pso.version import Version
from dcsim.scenario.model import AccessKnobs, WorldKnobs, resolve
from dcsim.tls.certs import CA_FILE, CertificateSettings, ensure_credentials, trust_roots
from dcsim.tls.connection import ChainCheck, accept_any_chain
from dcsim.tls.keys import Credentials

ROOT, JP, GTLD, PUBLIC = "203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"
ISP_NAS, ISP_POOL, ISP_RESOLVER = "198.51.100.1", "198.51.100.128/25", "198.51.100.53"
SEGA_DNS, LICENCE, LOGIN, SHIP = "192.0.2.53", "192.0.2.10", "192.0.2.20", "192.0.2.30"
ISAO = ("203.0.113.110", "203.0.113.120")
HOME_NAS, HOME_POOL, HOME_LAN = "192.168.1.1", "192.168.1.128/25", "192.168.1.0/24"
ROUTER_LAN, ROUTER_ADDRESS, CONSOLE_LAN = "192.168.0.0/24", "192.168.0.1", "192.168.0.2"
LOGIN_PORTS = (9200, 9201)
SHIP_PORT = 5110
BLACK_HOLE = "black hole: DF datagram too big, no ICMP"
ACCOUNT_HASH_LOG2_N = 10  # scrypt cost for the cells' throw-away databases


@functools.lru_cache(maxsize=64)
def _zones(directory: Path, extra: tuple[tuple[str, str], ...] = ()) -> Zones:
    """The zones of *directory* with *extra* A records added to the zone each falls in."""
    if not extra:
        return Zones.load(directory)
    wanted = []  # each name parsed once: (label, its key, address)
    for name, address in extra:
        label = names.from_text(name.rstrip(".") + ".")
        wanted.append((label, names.key(label), address))
    zones = []
    for path in sorted(p for p in directory.iterdir() if p.name.endswith(".zone")):
        origin = origin_from_filename(path)
        records = read_file(path, origin)
        key = names.key(origin)
        for label, label_key, address in wanted:
            if names.under(label_key, key):
                rr = RR(label, QTYPE.A, rdata=A(address), ttl=300)
                records.append(Record(rr, "scenario", 0))
        zones.append(Zone(origin, records, str(path)))
    return Zones(zones)


@functools.lru_cache(maxsize=4)
def _hints(path: Path) -> tuple[RR, ...]:
    return load_hints(path)


@dataclass(eq=False)
class Resident:
    """A player already in the lobby (PSO's ship ``Member``); it hears and says nothing."""

    guild_card: int
    name: bytes
    version: Version
    address: IPv4Address
    player_data: bytes

    def send(self, command: object) -> None:
        pass

    def kick(self, reason: str) -> None:
        pass


@dataclass
class World:
    clock: Any  # IReactorTime: a task.Clock, or the reactor
    net: Network
    knobs: WorldKnobs
    access: AccessKnobs
    hosts: dict[str, VirtualHost] = field(default_factory=dict)
    services: list[Any] = field(default_factory=list)
    pso: PsoService | None = None
    call_log: CallLog = field(default_factory=CallLog)
    server_events: list[tuple[str, object]] = field(default_factory=list)
    # The console's chain check: the licence CA's once a licence server runs.
    trust: ChainCheck = accept_any_chain
    _start: Callable[[Console], defer.Deferred[SessionReport]] | None = None
    console_host: VirtualHost | None = None
    routes_after: list[tuple[VirtualHost, str]] = field(default_factory=list)
    cleanups: list[Callable[[], object]] = field(default_factory=list)
    lobby_names: list[str] = field(default_factory=list)  # the residents' names
    access_server: AccessServer | None = None  # dial-up and DCNet: the PPP access server
    ethernet_server: EthernetServer | None = None  # DCNet Ethernet: the 7655 front end
    modem_setup: ModemSetup | None = None  # dial-up: what the fake modems share

    # --- what the world knows that a console does not -----------------------------------

    @property
    def licence_addresses(self) -> set[str]:
        return {LICENCE} if self.knobs.licence.running else set()

    @property
    def login_addresses(self) -> set[str]:
        return {LOGIN, SHIP}

    def black_hole_drops(self) -> int:
        return sum(node.drops[BLACK_HOLE] for node in self.net.nodes.values())

    def run_console(self, console: Console) -> defer.Deferred[SessionReport]:
        assert self._start is not None
        return self._start(console)

    def close(self) -> None:
        if self.pso is not None:
            self.pso.db.close()
        for cleanup in self.cleanups:
            cleanup()
        self.net.close()


def build_world(
    knobs: WorldKnobs,
    access: AccessKnobs,
    console: ConsoleSettings,
    *,
    data_dir: Path,
    seed: int | str = 0,
    capture_dir: Path | None = None,
    clock: Any = None,
) -> World:
    """The world of one cell on *clock* (a ``task.Clock``; the real reactor when the
    world serves real consoles)."""
    clock = clock if clock is not None else task.Clock()
    net = Network(clock, seed=zlib.crc32(str(seed).encode()), capture_dir=capture_dir)
    world = World(clock, net, knobs, access)
    rng = random.Random(f"{seed}:world")
    _internet(world, rng)
    _sega(world, data_dir, rng)
    _access(world, console, rng, capture_dir)
    net.build_routes()
    _after_routes(world)
    return world


# --- the internet between the ISP and Sega -------------------------------------------------


def _host(world: World, name: str, *addresses: str) -> VirtualHost:
    host = world.net.add_host(name)
    for address in addresses:
        host.add_address(address)
    world.hosts[name] = host
    return host


def _dns(
    world: World, host: VirtualHost, address: str, controller: DnsController, tcp: bool
) -> None:
    world.services.append(serve_dns_on(host, address, controller, tcp=tcp))


def _internet(world: World, rng: random.Random) -> None:
    net, knobs = world.net, world.knobs
    isp = net.add_nas("isp", ISP_NAS, ISP_POOL, mss_clamp=world.access.mss_clamp)
    world.hosts["isp"] = isp
    core = net.add_router("core")
    net.link(isp, core, "198.51.100.4/31", "198.51.100.5/31", latency=0.005)
    resolver = _host(world, "isp-resolver", ISP_RESOLVER)
    net.link(isp, resolver, "198.51.100.2/31", "198.51.100.3/31", latency=0.001)
    settings = ResolverSettings(
        root_hints=resolve(Path("configs/zones/2006/root.hints")),
        clients=[IPv4Network("198.51.100.0/24")],
        timeout=knobs.isp.resolver_timeout,
        edns=knobs.isp.resolver_edns,
    )
    _dns(world, resolver, ISP_RESOLVER, settings.controller(resolver, _rng(rng)), True)
    public = _host(world, "public-dns", ROOT, JP, GTLD, PUBLIC)
    net.link(core, public, "203.0.113.254/31", "203.0.113.255/31", latency=0.02)
    extra = tuple(sorted((n, str(a)) for n, a in knobs.public_dns.records.items()))
    for address, directory in (
        (ROOT, "configs/zones/2006/root"),
        (JP, "configs/zones/2006/jp"),
        (GTLD, "configs/zones/2006/gtld"),
        (PUBLIC, str(knobs.public_dns.sega_zones)),
    ):
        zones = _zones(resolve(Path(directory)), extra if address == PUBLIC else ())
        _dns(world, public, address, DnsController(Authority(zones, DnsPolicy())), True)
    isao = _host(world, "isao", *ISAO)
    isao.rst_for_closed_ports = knobs.isao_hosts == "rst"
    isao.answer_echo = knobs.isao_hosts == "rst"
    net.link(core, isao, "203.0.113.252/31", "203.0.113.253/31", latency=0.02)
    edge = net.add_router("sega-edge")
    net.link(
        core, edge, "192.0.2.252/31", "192.0.2.253/31", latency=0.01, mtu=knobs.server_path.mtu
    )
    edge.interfaces["to-core"].frag_needed = knobs.server_path.frag_needed
    world.hosts["sega-edge"] = edge


def _rng(rng: random.Random) -> random.Random:
    return random.Random(rng.getrandbits(64))


# --- Sega's side ---------------------------------------------------------------------------


def _sega(world: World, data_dir: Path, rng: random.Random) -> None:
    net, knobs = world.net, world.knobs
    edge = world.hosts["sega-edge"]
    links = iter(range(0, 240, 2))

    def lan_host(name: str, *addresses: str) -> VirtualHost:
        host = _host(world, name, *addresses)
        n = next(links)
        net.link(edge, host, f"192.0.2.{100 + n}/31", f"192.0.2.{101 + n}/31", latency=0.001)
        return host

    sega = knobs.sega_dns
    island = lan_host("sega-dns", SEGA_DNS)
    hints: tuple[RR, ...] = ()
    if sega.foreign_names.value == "upward_referral":
        hints = _hints(resolve(Path("configs/zones/2006/root.hints")))
    policy = DnsPolicy(foreign_names=sega.foreign_names, edns=sega.edns, root_hints=hints)
    controller = DnsController(Authority(_zones(resolve(sega.zones)), policy))
    _dns(world, island, SEGA_DNS, controller, sega.transport == "udp+tcp")
    if sega.transport == "udp":
        island.rst_for_closed_ports = sega.tcp_closed == "rst"

    licence = lan_host("licence", LICENCE)
    lic = knobs.licence
    if lic.running:
        accounts = None
        if lic.policy is LicencePolicy.ACCOUNTS:
            accounts = _accounts(world, data_dir, rng)
        settings = AuthSettings(profile=lic.profile, policy=lic.policy)
        factory = licence_factory(
            settings,
            data_dir,
            reactor=licence,
            accounts=accounts,
            rng=_rng(rng),
            credentials=_credentials(data_dir),
        )
        licence.listenTCP(443, factory, interface=LICENCE)
        world.trust = trust_roots([_ca(data_dir)])

    pso = lan_host("pso", LOGIN, SHIP)
    settings_pso = PsoSettings(
        listen=[Listen("tcp", LOGIN, p) for p in LOGIN_PORTS],
        ship_listen=Listen("tcp", SHIP, SHIP_PORT),
        ship_address=IPv4Address(SHIP),
        jp_v1_round_up=knobs.login.v1_round_up,
        credentials=knobs.login.credentials,
        idle_timeout=knobs.login.idle_timeout,
    )
    service = PsoService(settings_pso, data_dir, reactor=pso, rng=_rng(rng), database=":memory:")
    service.start()
    for factory in (service.login, service.ship_factory):
        _observe(world, factory)
    for n in range(knobs.login.residents):
        member = Resident(
            0x10000000 + n,
            f"HUNTER{n}".encode(),
            Version.V2,
            IPv4Address("198.51.100.200"),
            bytes(0x41C),
        )
        service.ship.admit(member)
        service.ship.enter(member)
        world.lobby_names.append(member.name.decode("latin-1"))
    world.pso = service

    page = knobs.patch_page
    if page is not None:
        web = lan_host("web", str(page.address))
        body = (f"licence_host={page.licence_host}\nlogin_host={page.login_host}\n".encode()).ljust(
            page.size, b"#"
        )
        root = resource.Resource()
        leaf: resource.Resource = root
        parts = [p for p in page.path.split("/") if p]
        for part in parts[:-1]:
            child = resource.Resource()
            leaf.putChild(part.encode(), child)
            leaf = child
        leaf.putChild(parts[-1].encode(), _Static(body))
        site = server.Site(root, reactor=web)
        site.noisy = False
        web.listenTCP(80, site, interface=str(page.address))


def _accounts(world: World, data_dir: Path, rng: random.Random) -> Accounts:
    """An accounts database holding exactly the knobs' licences. Cells with the same
    licences share one (the licence server only reads it)."""
    held = tuple(sorted((i, a.password, a.state) for i, a in world.knobs.licence.accounts.items()))
    return _accounts_cached(data_dir, held)


@functools.lru_cache(maxsize=16)
def _accounts_cached(data_dir: Path, held: tuple[tuple[str, str, str], ...]) -> Accounts:
    digest = hashlib.sha256(repr(held).encode()).hexdigest()[:16]
    path = data_dir / "cells" / f"accounts-{digest}.sqlite3"
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    accounts = Accounts.open(path, scrypt_log2_n=ACCOUNT_HASH_LOG2_N)
    for licence_id, password, state in held:
        accounts.add(licence_id, password, now=0.0, state=AccountState(state))
    return accounts


@functools.lru_cache(maxsize=8)
def _credentials(data_dir: Path) -> Credentials:
    """The licence servers' chain and keys, made once per data directory."""
    return ensure_credentials(data_dir / "tls", CertificateSettings(), random.Random(1))


class _Static(resource.Resource):
    isLeaf = True

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/plain")
        return self.body


@functools.lru_cache(maxsize=8)
def _ca_cached(path: Path) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes())


def _ca(data_dir: Path) -> Any:
    return _ca_cached(data_dir / "tls" / CA_FILE)


def _observe(world: World, factory: Any) -> None:
    """Keep what the login server and the ship say happened (their events)."""
    role = factory.config.role.value

    def watch(protocol: Any, event: object) -> None:
        world.server_events.append((role, event))

    factory.watch = watch


# --- the console's side --------------------------------------------------------------------


def _isp_policies(world: World) -> list[Any]:
    if world.access.udp53_intercept:
        return [DnsIntercept(world.clock, IPv4Address(ISP_RESOLVER))]
    return []


def _access(
    world: World, console: ConsoleSettings, rng: random.Random, capture_dir: Path | None
) -> None:
    access, net = world.access, world.net
    isp = world.hosts["isp"]
    assert isinstance(isp, Nas)
    isp.subscriber_policies.extend(_isp_policies(world))
    if access.kind in ("dialup", "dcnet"):
        nas = isp
        dns = [str(a) for a in access.dns]
        if access.home_server is not None:
            nas = _home_server(world, rng)
            dns = [HOME_NAS]
        host = net.add_host("console")
        world.hosts["console"] = host
        world.console_host = host
        _dialup(world, nas, dns, capture_dir, rng)
        return
    if access.kind == "dcnet-ethernet":
        host = net.add_host("console")
        world.hosts["console"] = host
        world.console_host = host
        _dcnet_ethernet(world, isp, capture_dir, rng)
        return
    router = access.router
    if router is None:
        host = net.add_host("console")
        link = net.link(
            host, isp, "198.51.100.14/30", "198.51.100.13/30", latency=0.002, mtu=access.line_mtu
        )
        _customer_side(world, link.b)
        lease = Online(IPv4Address("198.51.100.14"), tuple(access.dns), access.line_mtu)
        gateway = "198.51.100.13"
    else:
        home = net.add_router("home-router")
        world.hosts["home-router"] = home
        wan = net.link(
            home, isp, "198.51.100.14/30", "198.51.100.13/30", latency=0.002, mtu=router.wan_mtu
        )
        _customer_side(world, wan.b)
        wan.a.mss_clamp = router.mss_clamp
        wan.a.policies.append(Nat(world.clock, inside=[IPv4Network(ROUTER_LAN)], rng=_rng(rng)))
        host = net.add_host("console")
        net.link(host, home, f"{CONSOLE_LAN}/24", f"{ROUTER_ADDRESS}/24", latency=0.0005)
        if router.dns_proxy:
            settings = ResolverSettings(
                forwarders=list(access.dns), clients=[IPv4Network(ROUTER_LAN)], edns=False
            )
            _dns(world, home, ROUTER_ADDRESS, settings.controller(home, _rng(rng)), True)
            dns = (IPv4Address(ROUTER_ADDRESS),)
        else:
            dns = tuple(access.dns)
        lease = Online(IPv4Address(CONSOLE_LAN), dns, 1500)
        gateway = ROUTER_ADDRESS
    world.hosts["console"] = host
    world.console_host = host
    world.routes_after.append((host, gateway))
    source = "dhcp" if console.bba_method == "dhcp" else "static"
    world._start = lambda c: c.run_ethernet(lease, source)


def _customer_side(world: World, iface: Any) -> None:
    """The ISP's end of a broadband line gets the ISP's subscriber policies."""
    iface.mss_clamp = world.access.mss_clamp
    iface.policies.extend(_isp_policies(world))


def _home_server(world: World, rng: random.Random) -> Nas:
    knobs = world.access.home_server
    assert knobs is not None
    net = world.net
    home = net.add_nas("home", HOME_NAS, HOME_POOL)
    world.hosts["home"] = home
    wan = net.link(home, world.hosts["isp"], "198.51.100.10/30", "198.51.100.9/30", latency=0.002)
    _customer_side(world, wan.b)
    wan.a.policies.append(Nat(world.clock, inside=[IPv4Network(HOME_LAN)], rng=_rng(rng)))
    settings = ResolverSettings(
        forwarders=list(knobs.forwarders),
        clients=[IPv4Network(HOME_LAN)],
        upstream=knobs.upstream,
        edns=False,
    )
    _dns(world, home, HOME_NAS, settings.controller(home, _rng(rng)), True)
    return home


def _dialup(
    world: World, nas: Nas, dns: list[str], capture_dir: Path | None, rng: random.Random
) -> None:
    access = world.access
    ppp = PppSettings(
        dns=[IPv4Address(a) for a in dns],
        dns_policy=access.ipcp_dns,
        idle_timeout=access.idle_timeout,
        accept_any_login=not access.ppp_logins,
        logins=dict(access.ppp_logins),
    )
    pool = AddressPool(nas.pool, exclude=[nas.nas_address])
    server_ = AccessServer(
        world.clock,
        nas,
        ppp.link_config(nas.nas_address),
        pool,
        name="ppp",
        capture_dir=capture_dir,
        seed=rng.getrandbits(32),
    )
    world.services.append(server_)
    line = _line_profile(access)
    entry = Entry(
        behaviour=access.behaviour,
        answerer="ppp",
        busy_first=access.busy_first,
        drop_after=access.drop_after,
    )
    book = PhoneBook(unknown=entry)
    setup = ModemSetup(line, book, {"ppp": server_}, world.clock, call_log=world.call_log)
    world.access_server, world.modem_setup = server_, setup

    def start(console: Console) -> defer.Deferred[SessionReport]:
        if access.kind == "dcnet":
            return console.run_ppp(
                lambda protocol: wire.connect(
                    world.clock, protocol, server_.buildProtocol(None), ("console", "dcnet")
                )
            )

        def attach(line: Any) -> None:
            modem = setup.protocol("console-line", set_dcd=line.carrier)
            wire.connect(world.clock, line, modem, ("console", "modem"))

        return console.run_modem(attach)

    world._start = start


def _dcnet_ethernet(world: World, nas: Nas, capture_dir: Path | None, rng: random.Random) -> None:
    """The broadband adapter on DCNet's TCP 7655: dcsim's Ethernet front end at the ISP's
    NAS (ARP, DHCP with the access network's DNS, IP), the console's adapter on it."""
    address = nas.nas_address
    config = BbaConfig(address, subnet_for(nas.pool, address), tuple(world.access.dns))
    server_ = EthernetServer(
        world.clock,
        nas,
        config,
        AddressPool(nas.pool, exclude=[address]),
        name="bba",
        capture_dir=capture_dir,
        seed=rng.getrandbits(32),
    )
    world.services.append(server_)
    world.ethernet_server = server_

    def start(console: Console) -> defer.Deferred[SessionReport]:
        return console.run_bba(
            lambda protocol: wire.connect(
                world.clock, protocol, server_.buildProtocol(None), ("console", "dcnet")
            )
        )

    world._start = start


@functools.lru_cache(maxsize=16)
def _profile(name: str) -> LineProfile:
    return load_profile(find_profile(name, resolve(Path("modem"))))


def _line_profile(access: AccessKnobs) -> LineProfile:
    profile = _profile(access.phone)
    return profile if access.dial_tone else replace(profile, dial_tone=False)


def _after_routes(world: World) -> None:
    for host, gateway in world.routes_after:
        route = host.routes.lookup(IPv4Address(gateway))
        assert route is not None
        host.add_route("0.0.0.0/0", route.interface, gateway, metric=0)
