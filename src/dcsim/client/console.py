"""The virtual Dreamcast: one session of a PSO disc, from the line to the lobby and back.

Built only from the client sides of dcsim's cores: the AT dialler and the PPP client
(:mod:`dcsim.client.link`), the console's IP stack (a :class:`~dcsim.net.host.VirtualHost`
whose only interface the link drives), the Dreamcast stub resolver (:mod:`dcsim.dns.stub`),
the SSL client with the console's SSLv2-format hello and twisted.web's HTTP client for
the licence check (:mod:`dcsim.client.licence`), and the PSO client core with its edge
(:mod:`dcsim.pso.client_twisted`). The order is the disc's: link up; resolve the licence
host; the licence check; resolve the login host; the login (login server, then the ship);
a while in the lobby; hang up. Every step is reported with its virtual time; the first
failure ends the session and is reported as one of Sega's causes with the detail.

:class:`Console` runs on any reactor-like clock: a ``task.Clock`` inside a simulation, or
the real reactor when ``dcsim dial`` reaches a running dcsim over real sockets.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from twisted.internet import defer
from twisted.internet.abstract import isIPAddress
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from dcsim.causes import Cause
from dcsim.client.dialler import DialSettings, LineType
from dcsim.client.discs import Disc, disc
from dcsim.client.licence import check_licence
from dcsim.client.link import LinkFailed, Online, SerialLine, ppp_failure, ppp_online
from dcsim.client.report import (
    DnsEvidence,
    Evidence,
    LinkEvidence,
    PsoEvidence,
    SessionReport,
    Step,
    StepKind,
)
from dcsim.client.rules import SegaRules
from dcsim.client.settings import ANY, ConsoleSettings
from dcsim.dcnet.bba_client import BbaClientConfig, EthernetUp, StaticAddress
from dcsim.dcnet.ethernet import mac_from_text
from dcsim.dcnet.ethernet_client import EthernetClientSession
from dcsim.dns.stub import DreamcastResolver, StubConfig, StubLookupError
from dcsim.net.host import VirtualHost
from dcsim.ppp.auth import Login
from dcsim.ppp.client import HostLinkSession, PppClientSession
from dcsim.ppp.link import EndReason, LinkEnded, NetworkUp, client_config
from dcsim.pso.client import Client, LobbyJoined, LoginFailed, Redirect, SegmentMisaligned
from dcsim.pso.client_twisted import LoginError, PsoClientConnector
from dcsim.tls.connection import ChainCheck, accept_any_chain
from dcsim.tls.profiles import client_profile

log = Logger()

HANG_UP_TIMEOUT = 15.0  # s to wait for a polite hang-up before dropping the line


class _StepFailed(Exception):
    """The session ends at a step; *cause* None when the user ended it (cancel, reset)."""

    def __init__(self, cause: Cause | None, detail: str) -> None:
        super().__init__(cause, detail)
        self.cause = cause
        self.detail = detail


@dataclass(frozen=True)
class Patch:
    """An in-memory patch a download applied (remedy 7): the new hosts."""

    licence_host: str | None = None
    login_host: str | None = None
    login_port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Patch:
        """``key=value`` lines; unknown keys are ignored, bad values refused."""
        values: dict[str, Any] = {}
        for line in text.splitlines():
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if key in ("licence_host", "login_host") and value:
                values[key] = value
            elif key == "login_port":
                if not value.isdigit() or not 0 < int(value) < 65536:
                    raise ValueError(f"login_port {value!r} is not a port")
                values[key] = int(value)
        if not values:
            raise ValueError("the download holds no patch")
        return cls(**values)


class Console:
    """One Dreamcast with one disc (see the module docstring)."""

    def __init__(
        self,
        settings: ConsoleSettings,
        host: VirtualHost,
        *,
        rules: SegaRules | None = None,
        check_chain: ChainCheck = accept_any_chain,
        seed: int | str = 0,
        label: str = "",
    ) -> None:
        self.settings = settings
        self.host = host
        self.clock = host
        self.rules = rules or SegaRules()
        self.check_chain = check_chain
        self.seed = seed
        self.disc: Disc = disc(settings.disc)
        self.label = label or f"{settings.disc} {settings.link}"
        self.patch_url = settings.patch_url
        self.steps: list[Step] = []
        self.connector: PsoClientConnector | None = None
        self._hang_up: Callable[[], defer.Deferred[None]] | None = None
        self._link_ended: defer.Deferred[LinkEnded] | None = None
        self._lost: LinkEnded | None = None
        if settings.mss is not None:
            host.tcp_config = replace(host.tcp_config, mss=settings.mss)
        self.started = host.seconds()

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{purpose}")

    # --- the links -----------------------------------------------------------------------

    def dial_settings(self) -> DialSettings:
        s = self.settings
        return DialSettings(
            tuple(s.numbers),
            line_type=LineType(s.line_type),
            outside_prefix=s.outside_prefix,
            init=s.modem_init,
            redial_interval=self.rules.redial_min,
            give_up_after=self.rules.give_up_after,
        )

    def ppp_session(self) -> PppClientSession:
        s = self.settings
        if s.ipcp_dns == "ask":
            dns: tuple[IPv4Address, ...] = (ANY,)
        elif s.ipcp_dns == "flash":
            dns = tuple(s.dns) if s.stored_dns else (ANY,)
        else:
            dns = ()
        config = client_config(Login(s.ppp_user, s.ppp_password), dns=dns)
        return PppClientSession(self.host, config, self.rng("ppp"))

    def run_modem(self, attach: Callable[[Protocol], object]) -> defer.Deferred[SessionReport]:
        """Dial through a modem; *attach* connects the console's serial line to it."""
        session = self.ppp_session()
        line = SerialLine(self.clock, self.dial_settings(), session)

        def hang_up() -> defer.Deferred[None]:
            if line.transport is None or line.ended.called:
                return defer.succeed(None)  # never connected, or already gone
            line.cancel()
            return _within(self.clock, line.ended, HANG_UP_TIMEOUT, line.transport)

        self._hang_up = hang_up
        self._link_ended = _copy(session.ended)
        return self._run(self._modem_up(line, session, attach))

    def run_ppp(self, attach: Callable[[Protocol], object]) -> defer.Deferred[SessionReport]:
        """PPP straight over a connection (DCNet, TCP 7654); *attach* makes it."""
        session = self.ppp_session()
        return self._run_link(session, attach, StepKind.PPP, self.settings.ppp_user, "ipcp")

    def bba_config(self) -> BbaClientConfig:
        """The broadband adapter: its hardware address, and DHCP or its stored address."""
        s = self.settings
        static = None
        if s.bba_method == "static":
            router = s.gateway if s.gateway != ANY else None
            interface = IPv4Interface(f"{s.address}/{s.netmask}")
            static = StaticAddress(interface, router, s.stored_dns)
        return BbaClientConfig(mac=mac_from_text(s.bba_mac), static=static)

    def run_bba(self, attach: Callable[[Protocol], object]) -> defer.Deferred[SessionReport]:
        """The broadband adapter over DCNet's Ethernet (TCP 7655); *attach* makes the
        connection. Hanging up releases a DHCP lease."""
        session = EthernetClientSession(self.host, self.bba_config(), self.rng("bba"))
        s = self.settings
        return self._run_link(session, attach, StepKind.ETHERNET, s.bba_mac, s.bba_method)

    def _run_link(
        self,
        session: HostLinkSession,
        attach: Callable[[Protocol], object],
        kind: StepKind,
        target: str,
        source: str,
    ) -> defer.Deferred[SessionReport]:
        ended = session.ended

        def hang_up() -> defer.Deferred[None]:
            if session.transport is None or ended.called:
                return defer.succeed(None)  # never connected, or already gone
            session.hang_up()
            return _within(self.clock, ended, HANG_UP_TIMEOUT, session.transport)

        self._hang_up = hang_up
        self._link_ended = _copy(ended)
        return self._run(self._link_up(session, attach, kind, target, source))

    def run_ethernet(self, lease: Online, source: str) -> defer.Deferred[SessionReport]:
        """The broadband adapter, already on its link; *lease* is its address and the DNS
        servers DHCP gave (*source* "dhcp"), or its static settings ("static")."""
        return self._run(self._ethernet_up(lease, source))

    @defer.inlineCallbacks
    def _modem_up(
        self, line: SerialLine, session: PppClientSession, attach: Callable[[Protocol], object]
    ) -> Generator[Any, Any, Online]:
        start = self.clock.seconds()
        numbers = ", ".join(self.settings.numbers)
        attach(line)
        try:
            connected = yield line.dialled
        except LinkFailed as e:
            self._record(
                StepKind.DIAL, numbers, start, False, e.detail, LinkEvidence(attempts=line.attempts)
            )
            raise _StepFailed(e.cause, e.detail) from None
        self._record(
            StepKind.DIAL,
            connected.number,
            start,
            True,
            f"{connected.text} after {line.attempts} attempt(s)",
            LinkEvidence(attempts=line.attempts, connect=connected.text),
        )
        online = yield self._link_wait(session, StepKind.PPP, self.settings.ppp_user, "ipcp")
        return online

    @defer.inlineCallbacks
    def _link_up(
        self,
        session: HostLinkSession,
        attach: Callable[[Protocol], object],
        kind: StepKind,
        target: str,
        source: str,
    ) -> Generator[Any, Any, Online]:
        attach(session)
        online = yield self._link_wait(session, kind, target, source)
        return online

    @defer.inlineCallbacks
    def _link_wait(
        self, session: HostLinkSession, kind: StepKind, target: str, source: str
    ) -> Generator[Any, Any, Online]:
        """The link's address (IPCP, DHCP, a static one), or its end if that comes first."""
        start = self.clock.seconds()
        up: defer.Deferred[NetworkUp | EthernetUp] = defer.Deferred()
        session.up.addCallbacks(up.callback, lambda _: None)
        down = _copy(self._link_ended) if self._link_ended is not None else _copy(session.ended)
        first = yield defer.DeferredList([up, down], fireOnOneCallback=True, consumeErrors=True)
        value = first[0]
        if isinstance(value, NetworkUp):
            online = ppp_online(value)
        elif isinstance(value, EthernetUp):
            online = Online(value.interface.ip, value.dns, value.mtu)
        else:
            failure = ppp_failure(value)
            self._record(kind, target, start, False, failure.detail)
            raise _StepFailed(failure.cause or Cause.SERVER_DOWN, failure.detail)
        return self._online(kind, online, source, start, session)

    @defer.inlineCallbacks
    def _ethernet_up(self, lease: Online, source: str) -> Generator[Any, Any, Online]:
        yield None
        return self._online(StepKind.ETHERNET, lease, source, self.clock.seconds(), None)

    def _online(
        self, kind: StepKind, online: Online, source: str, start: float, session: Any
    ) -> Online:
        dns, dns_source = self._dns_servers(online, source)
        online = replace(online, dns=dns)
        self._record(
            kind,
            str(online.address),
            start,
            True,
            f"online as {online.address}, DNS {', '.join(map(str, dns)) or 'none'} "
            f"({dns_source}), MTU {online.mtu}",
            LinkEvidence(str(online.address), tuple(map(str, dns)), dns_source, online.mtu),
        )
        return online

    def _dns_servers(self, online: Online, source: str) -> tuple[tuple[IPv4Address, ...], str]:
        """The servers the stub asks: what the link gave, else the stored ones. (With
        ipcp_dns = "flash" the link gives back the stored ones unless the ISP Naked them.)"""
        stored = self.settings.stored_dns
        if source == "static":
            return stored, "flash"
        if online.dns:
            if source == "ipcp" and self.settings.ipcp_dns == "flash" and online.dns == stored:
                return stored, "flash, kept by IPCP"
            return online.dns, source
        return stored, "flash"

    # --- the session ---------------------------------------------------------------------

    def _run(self, link_up: defer.Deferred[Online]) -> defer.Deferred[SessionReport]:
        return defer.ensureDeferred(self._session(link_up))

    async def _session(self, link_up: defer.Deferred[Online]) -> SessionReport:
        reached = False
        cause: Cause | None = None
        detail = ""
        try:
            online = await link_up
            reached = await self._play(online)
        except _StepFailed as e:
            cause, detail = e.cause, e.detail
        except Exception as e:  # a bug in a layer: report it, never hang the caller
            log.failure("virtual Dreamcast {label}", Failure(), label=self.label)
            cause, detail = Cause.SERVER_DOWN, f"internal error: {type(e).__name__}: {e}"
        await self._leave()
        return SessionReport(
            self.label,
            tuple(self.steps),
            reached,
            cause,
            detail,
            self.started,
            self.clock.seconds(),
        )

    async def _play(self, online: Online) -> bool:
        """The game, ended early if the link goes down under it (carrier lost, the ISP's
        idle timeout, the far end terminating PPP)."""
        game = defer.ensureDeferred(self._game(online))
        start = self.clock.seconds()

        def lost(event: LinkEnded) -> None:
            if not game.called:
                self._lost = event
                game.cancel()

        if self._link_ended is not None:
            self._link_ended.addCallback(lost)
        try:
            return await game
        except defer.CancelledError:
            event = self._lost
            if event is None:
                raise
            detail = f"the link ended under the game: {event.reason.value}" + (
                f" ({event.detail})" if event.detail else ""
            )
            self._record(StepKind.PPP, "link", start, False, detail)
            raise _StepFailed(event.cause, detail) from None

    async def _game(self, online: Online) -> bool:
        disc_ = self.disc
        s = self.settings
        licence_host = s.licence_host or disc_.licence_host
        login_host = s.login_host or disc_.login_host
        login_port = s.login_port or disc_.login_port
        if self.patch_url is not None:
            patch = await self._patch(online)
            licence_host = patch.licence_host or licence_host
            login_host = patch.login_host or login_host
            login_port = patch.login_port or login_port
        if licence_host is not None:
            address = await self._resolve(online, licence_host, "licence")
            await self._licence(address, licence_host)
        address = await self._resolve(online, login_host, "login")
        await self._login(address, login_port)
        await self._lobby()
        return True

    async def _patch(self, online: Online) -> Patch:
        from dcsim.client.patch import download

        assert self.patch_url is not None
        host_name, path = _split_url(self.patch_url)
        address = await self._resolve(online, host_name, "patch")
        start = self.clock.seconds()
        result = await download(
            self.host, address, 80, host_name, path, timeout=self.settings.step_timeout
        )
        if result.error is not None:
            self._record(StepKind.PATCH, self.patch_url, start, False, result.error, result.tcp)
            raise _StepFailed(Cause.SERVER_DOWN, f"patch download: {result.error}")
        try:
            patch = Patch.parse(result.body)
        except ValueError as e:
            self._record(StepKind.PATCH, self.patch_url, start, False, str(e), result.tcp)
            raise _StepFailed(Cause.SERVER_DOWN, f"patch download: {e}") from None
        self._record(
            StepKind.PATCH,
            self.patch_url,
            start,
            True,
            f"{len(result.body)} bytes: {patch}",
            result.tcp,
        )
        return patch

    async def _resolve(self, online: Online, name: str, purpose: str) -> str:
        if isIPAddress(name):
            return name
        start = self.clock.seconds()
        servers = tuple(str(a) for a in online.dns)
        if not servers:
            detail = f"{name}: the console has no DNS server"
            self._record(StepKind.DNS, name, start, False, detail, DnsEvidence(name, (), purpose))
            raise _StepFailed(Cause.SERVER_DOWN, detail)
        config = StubConfig(
            servers, tries=self.settings.resolver_tries, timeout=self.settings.resolver_timeout
        )
        resolver = DreamcastResolver(self.host, config, self.rng(f"dns:{name}"))
        try:
            resolved = await resolver.lookup(name)
        except StubLookupError as e:
            event = e.event
            who = f" from {event.server}" if event.server else ""
            detail = f"{name}: {event.failure.value}{who} after {event.elapsed:.1f} s"
            evidence = DnsEvidence(name, servers, purpose, event.failure.value, event.server)
            self._record(StepKind.DNS, name, start, False, detail, evidence)
            raise _StepFailed(Cause.SERVER_DOWN, detail) from None
        address = resolved.addresses[0]
        evidence = DnsEvidence(name, servers, purpose, None, resolved.server, resolved.addresses)
        self._record(StepKind.DNS, name, start, True, f"{address} from {resolved.server}", evidence)
        return address

    async def _licence(self, address: str, host_name: str) -> None:
        s = self.settings
        start = self.clock.seconds()
        form = {
            "id": s.licence_id,
            "password": s.licence_password,
            "console": f"{self.disc.profile.hardware_id:012x}",
        }
        result = await check_licence(
            self.host,
            address,
            self.disc.licence_port,
            host_name,
            form,
            profile=client_profile(s.ssl_profile),
            check_chain=self.check_chain,
            rng=self.rng("tls"),
            timeout=s.step_timeout,
        )
        target = f"{host_name} ({address}:{self.disc.licence_port})"
        evidence: tuple[Evidence, ...] = (result.tcp, result.tls, result.http)
        ok = result.cause is None
        self._record(StepKind.LICENCE, target, start, ok, result.detail, *evidence)
        if not ok:
            raise _StepFailed(result.cause or Cause.SERVER_DOWN, f"licence check: {result.detail}")

    async def _login(self, address: str, port: int) -> None:
        start = self.clock.seconds()
        client = Client(self.disc.profile, segment_words=self.settings.segment_words)
        connector = PsoClientConnector(client, self.host, timeout=self.settings.step_timeout)
        self.connector = connector
        target = f"{address}:{port}"
        try:
            joined = await connector.connect(address, port)
        except LoginError as e:
            evidence = self._pso_evidence(connector, e.step, e.reason)
            detail = f"{e.step}: {e.reason}"
            self._record(StepKind.LOGIN, target, start, False, detail, evidence)
            raise _StepFailed(_login_cause(e.step, e.reason), f"login: {detail}") from None
        self._record(
            StepKind.LOGIN,
            target,
            start,
            True,
            f"block {joined.block} lobby {joined.lobby} with {len(joined.players)} players",
            self._pso_evidence(connector, None, None),
        )

    async def _lobby(self) -> None:
        connector = self.connector
        assert connector is not None
        start = self.clock.seconds()
        stay = self.settings.lobby_time
        idle = self.rules.idle_disconnect
        failed: list[LoginFailed] = []
        lost = defer.Deferred()

        def watch(event: object) -> None:
            if isinstance(event, LoginFailed) and not lost.called:
                failed.append(event)
                lost.callback(event)

        connector.on_event = watch
        for event in connector.events:
            watch(event)
        waited = min(stay, idle)
        timer = self.clock.callLater(waited, lambda: lost.called or lost.callback(None))
        await lost
        if timer.active():
            timer.cancel()
        evidence = self._pso_evidence(
            connector, failed[0].step if failed else None, failed[0].reason if failed else None
        )
        if failed:
            detail = f"{failed[0].step}: {failed[0].reason}"
            self._record(StepKind.LOBBY, "lobby", start, False, detail, evidence)
            raise _StepFailed(_login_cause(failed[0].step, failed[0].reason), f"lobby: {detail}")
        if stay > idle:
            detail = f"no input for {idle:g} s: the title disconnects (Sega's idle rule)"
            self._record(StepKind.LOBBY, "lobby", start, False, detail, evidence)
            raise _StepFailed(Cause.AUTOMATIC_DISCONNECT, detail)
        self._record(StepKind.LOBBY, "lobby", start, True, f"stayed {waited:g} s", evidence)

    def _pso_evidence(
        self, connector: PsoClientConnector, step: str | None, reason: str | None
    ) -> PsoEvidence:
        misaligned = tuple(e.length for e in connector.events if isinstance(e, SegmentMisaligned))
        joined = [e for e in connector.events if isinstance(e, LobbyJoined)]
        players = tuple(_shown(p.name) for p in joined[-1].players) if joined else ()
        redirects = [e for e in connector.events if isinstance(e, Redirect)]
        return PsoEvidence(
            connector.client.phase.value,
            step,
            reason,
            misaligned,
            redirected=bool(redirects),
            players=players,
            ship=str(redirects[-1].address) if redirects else None,
        )

    async def _leave(self) -> None:
        start = self.clock.seconds()
        connector = self.connector
        if connector is not None and connector.protocol is not None:
            connector.hang_up()
        if self._hang_up is None:
            return
        try:
            await self._hang_up()
        except Exception as e:  # never let the hang-up hide the session's own result
            self._record(StepKind.HANG_UP, "line", start, False, str(e))
            return
        self._record(StepKind.HANG_UP, "line", start, True, "")

    def link_failed(self, reason: str) -> None:
        """The connection to the modem or the access server could not be made."""
        if self._link_ended is not None and not self._link_ended.called:
            self._link_ended.callback(
                LinkEnded(EndReason.HUNG_UP, Cause.NO_PHYSICAL_CONNECTION, reason)
            )

    def cancel(self) -> None:
        """The user presses cancel, or the console is reset: hang up at once."""
        if self._hang_up is not None:
            self._hang_up()

    # --- helpers -------------------------------------------------------------------------

    def _record(
        self,
        kind: StepKind,
        target: str,
        start: float,
        ok: bool,
        detail: str,
        *evidence: Evidence,
    ) -> None:
        step = Step(kind, target, start, self.clock.seconds(), ok, detail, tuple(evidence))
        self.steps.append(step)
        log.debug(
            "{label}: {kind} {target}: {result} {detail}",
            label=self.label,
            kind=kind.value,
            target=target,
            result="ok" if ok else "FAILED",
            detail=detail,
        )


def _shown(name: bytes) -> str:
    """A lobby name as the screen would show it (NULs end it; the rest as Latin-1)."""
    return name.split(b"\0", 1)[0].decode("latin-1")


def _login_cause(step: str, reason: str) -> Cause:
    """What the title shows when the PSO login stops at *step*."""
    if step in ("licence check", "registration"):
        return Cause.AUTHENTICATION_FAILURE
    return Cause.SERVER_DOWN


def _split_url(url: str) -> tuple[str, str]:
    rest = url.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    return host, "/" + path


def _copy(d: defer.Deferred[Any]) -> defer.Deferred[Any]:
    copy: defer.Deferred[Any] = defer.Deferred()
    d.addBoth(lambda r: (copy.callback(r), r)[1])
    return copy


def _within(
    clock: Any, done: defer.Deferred[Any], seconds: float, transport: Any
) -> defer.Deferred[None]:
    """Wait for *done*; after *seconds*, drop the line (DTR) and stop waiting."""
    result: defer.Deferred[None] = defer.Deferred()

    def finish(_: object = None) -> None:
        if not result.called:
            result.callback(None)

    def force() -> None:
        if transport is not None:
            transport.loseConnection()
        finish()

    timer = clock.callLater(seconds, force)
    _copy(done).addBoth(lambda _: (timer.active() and timer.cancel(), finish()))
    return result
