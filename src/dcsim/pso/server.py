"""The Twisted edge of the PSO login server and ship.

:class:`PsoServerProtocol` feeds one :class:`~dcsim.pso.session.Session` from a TCP
transport and acts on its events: credential checks go to the :class:`Checker`, chat
lines to the chat log, everything else to the log. :class:`PsoService` builds the
login servers, the ship, the database and the chat retention timer from
:class:`~dcsim.pso.settings.PsoSettings`. The reactor is a constructor argument
everywhere, so the same service listens on real sockets or on a virtual host of the
simulated internet (anything with ``listenTCP`` and ``IReactorTime``).
"""

from __future__ import annotations

import functools
import ipaddress
import random
import socket
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure

from dcsim.address import Listen
from dcsim.auth.accounts import AccountSettings
from dcsim.eager_tcp import listen_tcp
from dcsim.edge import DeadlineTimer
from dcsim.log import Logger
from dcsim.pso.commands import CheckResult, RawCommand
from dcsim.pso.credentials import POLICIES, Credentials, Policy, RegisteredAccounts, Verdict
from dcsim.pso.events import (
    ChatLine,
    CheckCredentials,
    Closed,
    CommandIgnored,
    JoinedLobby,
    LoggedIn,
    Redirected,
)
from dcsim.pso.session import Role, Session, SessionConfig
from dcsim.pso.settings import PsoSettings
from dcsim.pso.ship import Ship
from dcsim.pso.store import ChatLog, GuildCards, open_database

log = Logger(namespace="dcsim.pso")

DAY = 86400.0
#: Linux caps listen backlogs at net.core.somaxconn (4096 by default).
MAX_BACKLOG = 4096
#: How often the chat retention purge runs.
PURGE_INTERVAL = 6 * 3600.0


@functools.lru_cache(maxsize=4096)  # the same few hosts connect again and again
def _ipv4(host: str) -> IPv4Address:
    """The IPv4 address of a transport endpoint (IPv4-mapped IPv6 included)."""
    try:
        return IPv4Address(socket.inet_pton(socket.AF_INET, host))  # the quick way
    except OSError:
        pass
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return IPv4Address(0)
    if isinstance(address, IPv4Address):
        return address
    return address.ipv4_mapped or IPv4Address(0)


class Checker:
    """Runs the credential policy (in a thread when it is slow) and assigns guild cards.

    A player seen before is answered at once. New players' numbers are written at the
    end of the reactor's turn, all of that turn's in one transaction (one commit rather
    than one a player: a crowd logging in at once spends a tenth of its time less), and
    each is answered once its number is committed."""

    def __init__(self, policy: Policy, guild_cards: GuildCards, reactor: Any) -> None:
        self.policy = policy
        self.guild_cards = guild_cards
        self.reactor = reactor
        #: New players waiting for the write: (credentials, verdict, answer).
        self._new: list[tuple[Credentials, Verdict, Callable[[Verdict], None]]] = []

    def check(self, credentials: Credentials, answer: Callable[[Verdict], None]) -> None:
        """Judge *credentials* and call *answer* with the verdict: at once for a quick
        policy and a known player, else from the reactor thread later."""
        if self.policy.blocking and IReactorThreads.providedBy(self.reactor):
            from twisted.internet.threads import deferToThreadPool

            d = deferToThreadPool(
                self.reactor, self.reactor.getThreadPool(), self.policy.check, credentials
            )
            d.addCallbacks(
                self._assign,
                self._failed,
                callbackArgs=(credentials, answer),
                errbackArgs=(credentials, answer),
            )
            return
        try:
            verdict = self.policy.check(credentials)
        except Exception:
            self._failed(Failure(), credentials, answer)
            return
        self._assign(verdict, credentials, answer)

    def _assign(
        self, verdict: Verdict, credentials: Credentials, answer: Callable[[Verdict], None]
    ) -> None:
        if verdict.accepted:
            try:
                number = self.guild_cards.known(credentials.serial, credentials.access_key)
            except Exception:
                self._failed(Failure(), credentials, answer)
                return
            if number is None:
                if not self._new:
                    self.reactor.callLater(0, self._write_new)
                self._new.append((credentials, verdict, answer))
                return
            verdict = Verdict(verdict.result, verdict.reason, number, False)
        answer(verdict)

    def _write_new(self) -> None:
        batch, self._new = self._new, []
        players = [(c.serial, c.access_key) for c, _, _ in batch]
        try:
            numbers = self.guild_cards.assign_all(players, self.reactor.seconds())
        except Exception:
            failure = Failure()
            for credentials, _, answer in batch:
                self._failed(failure, credentials, answer)
            return
        for (_, verdict, answer), (number, new) in zip(batch, numbers, strict=True):
            answer(Verdict(verdict.result, verdict.reason, number, new))

    def _failed(
        self, failure: Failure, credentials: Credentials, answer: Callable[[Verdict], None]
    ) -> None:
        log.failure("credential check for {creds} failed", failure, creds=credentials)
        answer(Verdict(CheckResult.CONNECTION_ERROR, "the credential check failed"))


class PsoServerProtocol(Protocol):
    def __init__(self, factory: PsoServerFactory, peer: Any) -> None:
        self.factory = factory
        #: The client's address, as ``buildProtocol`` was given it.
        self.peer_address = peer
        self.session: Session | None = None
        # lazy: every command a player sends moves the idle deadline later; the call
        # then fires early, finds nothing due and is set again, rather than being moved
        # on every command
        self._timer = DeadlineTimer(factory.reactor, self._on_timer, lazy=True)
        self._closing = False
        #: True while this protocol works its own session: output is written once at
        #: the end rather than after each command.
        self._busy = False
        self.peer = ""

    # --- transport events ------------------------------------------------------------

    def connectionMade(self) -> None:
        f = self.factory
        peer, host = self.peer_address, self.transport.getHost()
        self.peer = f"{peer.host}:{peer.port}"
        self.session = Session(f.config, f.rng, _ipv4(peer.host), _ipv4(host.host), f.ship)
        self.session.on_output = self._output
        self._work(self._start, f.reactor.seconds())

    def _start(self, now: float) -> None:
        f, session = self.factory, self.session
        assert session is not None
        session.connection_made(now)
        f.sessions.add(self)
        if len(f.sessions) > f.max_sessions:
            session.refuse(
                "The server is full. Please try again later.",
                f"refused: {f.max_sessions} sessions already",
            )

    def dataReceived(self, data: bytes) -> None:
        assert self.session is not None
        self._work(self.session.receive_data, data, self.factory.reactor.seconds())

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.sessions.discard(self)
        self._timer.cancel()
        if self.session is not None:
            self.session.receive_data(b"", self.factory.reactor.seconds())
            self._drain_events()

    # --- the pump --------------------------------------------------------------------

    def _work(self, step: Callable[..., object], *args: Any) -> None:
        """Call ``step(*args)`` on the session with its output held back (see
        :meth:`_output`), then :meth:`_pump`. ``_busy`` is restored, not cleared: a
        check answered at once reaches :meth:`answer` inside :meth:`_pump`, which has
        set it and writes everything at its end."""
        busy, self._busy = self._busy, True
        try:
            step(*args)
        finally:
            self._busy = busy
        self._pump()

    def _output(self) -> None:
        """The session queued output: write it now, unless this protocol is working
        the session itself (then :meth:`_pump` writes it all at the end), as when the
        ship sends to this player because of another one."""
        if not self._busy:
            self.factory.flush_later(self)

    def _flush(self) -> None:
        """Write what the session has queued, and hang up once it has ended."""
        if self.session is None or self.transport is None:
            return
        out = self.session.data_to_send()
        if out:
            self.transport.write(out)
        if self.session.closed is not None and not self._closing:
            self._closing = True
            self.transport.loseConnection()

    def _pump(self) -> None:
        """Act on the session's events until there are none, then write and re-arm.
        A check answered at once (a quick policy) comes back through :meth:`answer`
        while the events are being handled; this loop picks up what it caused."""
        if self._busy:
            return
        self._busy = True
        try:
            while self._drain_events():
                pass
        finally:
            self._busy = False
        self._flush()
        self._rearm()

    def _drain_events(self) -> bool:
        """Hand the session's events to the factory; whether there were any."""
        assert self.session is not None
        handled = False
        for event in self.session.events():
            handled = True
            self.factory.handle_event(self, event)
        return handled

    def _rearm(self) -> None:
        if self.session is not None and not self._closing:
            self._timer.at(self.session.deadline())

    def _on_timer(self, _deadline: float) -> None:
        if self.session is not None:
            self.session.handle_timer(self.factory.reactor.seconds())
            self._pump()

    def answer(self, verdict: Verdict) -> None:
        if self.session is None or self.session.closed is not None:
            return
        self._work(self.session.credentials_checked, verdict, self.factory.reactor.seconds())


class PsoServerFactory(Factory):
    """One listening role (login server or ship); every port of that role shares it."""

    noisy = False

    def __init__(
        self,
        config: SessionConfig,
        *,
        reactor: Any,
        rng: random.Random,
        checker: Checker,
        chat_log: ChatLog | None = None,
        ship: Ship | None = None,
        max_sessions: int = 1000,
    ) -> None:
        self.config = config
        self.role = config.role.value  # for log lines
        self.reactor = reactor
        self.rng = rng
        self.checker = checker
        self.chat_log = chat_log
        self.ship = ship
        self.max_sessions = max_sessions
        self.sessions: set[PsoServerProtocol] = set()
        # In the order they were first told (a dict, not a set: the same order of writes
        # every run, so a seeded world on the virtual internet replays alike).
        self._unflushed: dict[PsoServerProtocol, None] = {}
        # Told every session event with its protocol (``dcsim up`` feeds its status page).
        self.watch: Callable[[PsoServerProtocol, object], None] | None = None

    def flush_later(self, protocol: PsoServerProtocol) -> None:
        """Write *protocol*'s queued output at the end of this turn of the reactor, with
        whatever else reaches it in the same turn."""
        if not self._unflushed:
            self.reactor.callLater(0, self._flush_all)
        self._unflushed[protocol] = None

    def _flush_all(self) -> None:
        unflushed, self._unflushed = self._unflushed, {}
        for protocol in unflushed:
            protocol._flush()

    def buildProtocol(self, addr: Any) -> PsoServerProtocol:
        return PsoServerProtocol(self, addr)

    def handle_event(self, protocol: PsoServerProtocol, event: object) -> None:
        if self.watch is not None:
            self.watch(protocol, event)
        handler = _EVENT_HANDLERS.get(type(event))
        if handler is not None:
            handler(self, protocol, event)
        elif log.debugging:  # phase changes: a dozen a login
            log.debug("{role} {peer}: {event}", role=self.role, peer=protocol.peer, event=event)

    def _check(self, protocol: PsoServerProtocol, event: CheckCredentials) -> None:
        self.checker.check(event.credentials, protocol.answer)

    def _chat(self, protocol: PsoServerProtocol, event: ChatLine) -> None:
        if self.chat_log is not None:
            self.chat_log.record(event)

    def _logged_in(self, protocol: PsoServerProtocol, event: LoggedIn) -> None:
        log.info(
            "{role} {peer}: {version} sub_version {sub:02X} logged in as guild card {gc} ({name})",
            role=self.role,
            peer=protocol.peer,
            version=event.version._name_,  # (Enum.name is a slow property)
            sub=event.sub_version,
            gc=event.guild_card,
            name=event.name.decode("latin-1"),
        )

    def _joined(self, protocol: PsoServerProtocol, event: JoinedLobby) -> None:
        log.info(
            "ship {peer}: guild card {gc} in block {block} lobby {lobby}",
            peer=protocol.peer,
            gc=event.guild_card,
            block=event.block,
            lobby=event.lobby,
        )

    def _redirected(self, protocol: PsoServerProtocol, event: Redirected) -> None:
        log.info(
            "login {peer}: sent to ship {ship} at {address}:{port}",
            peer=protocol.peer,
            ship=event.ship,
            address=event.address,
            port=event.port,
        )

    def _ignored(self, protocol: PsoServerProtocol, event: CommandIgnored) -> None:
        raw = event.command
        if isinstance(raw, RawCommand):
            log.info(
                "{role} {peer}: ignored command {cmd} flag {flag:02X}, {size} bytes: {reason}",
                role=self.role,
                peer=protocol.peer,
                cmd=raw.name,
                flag=raw.flag,
                size=len(raw.body) + 4,
                reason=raw.reason,
            )
        else:
            log.info(
                "{role} {peer}: ignored {cmd} in phase {phase}",
                role=self.role,
                peer=protocol.peer,
                cmd=type(raw).__name__,
                phase=event.phase,
            )

    def _closed(self, protocol: PsoServerProtocol, event: Closed) -> None:
        log.info(
            "{role} {peer}: session closed: {reason}{cause}",
            role=self.role,
            peer=protocol.peer,
            reason=event.reason,
            cause=f" [{event.cause.text}]" if event.cause else "",
        )


#: Event type -> what the edge does with it; anything else is logged at debug level.
_EVENT_HANDLERS: dict[type, Callable[[PsoServerFactory, PsoServerProtocol, Any], None]] = {
    CheckCredentials: PsoServerFactory._check,
    ChatLine: PsoServerFactory._chat,
    LoggedIn: PsoServerFactory._logged_in,
    JoinedLobby: PsoServerFactory._joined,
    Redirected: PsoServerFactory._redirected,
    CommandIgnored: PsoServerFactory._ignored,
    Closed: PsoServerFactory._closed,
}


class PsoService:
    """The login servers, dcsim's ship, the guild card directory and the chat log."""

    def __init__(
        self,
        settings: PsoSettings,
        data_dir: Path,
        *,
        reactor: Any,
        rng: random.Random,
        policy: Policy | None = None,
        accounts: AccountSettings | None = None,
        database: Path | str | None = None,
    ) -> None:
        self.settings = settings
        self.reactor = reactor
        self.db = open_database(database or settings.database_path(data_dir))
        self.chat_log = ChatLog(self.db)
        self.ship = Ship(settings.blocks)
        if policy is None:
            if settings.credentials == "accounts":
                accounts = accounts or AccountSettings()
                policy = RegisteredAccounts(accounts.path(data_dir), accounts.scrypt_log2_n)
            else:
                policy = POLICIES[settings.credentials]()
        self.checker = Checker(policy, GuildCards(self.db), reactor)
        common = dict(
            server_name=settings.server_name,
            ships=tuple(s.choice() for s in settings.ships),
            ship_address=settings.ship_address,
            ship_port=settings.ship_listen.port,
            login_address=settings.ship_address,
            login_port=settings.listen[0].port if settings.listen else 9200,
            register_new_v1=settings.register_new_v1,
            round_up=settings.jp_v1_round_up,
            login_timeout=settings.login_timeout,
            idle_timeout=settings.idle_timeout,
            max_command_size=settings.max_command_size,
        )

        def factory(role: Role, **extra: Any) -> PsoServerFactory:
            config = SessionConfig(role, **common)  # type: ignore[arg-type]
            return PsoServerFactory(
                config,
                reactor=reactor,
                rng=rng,
                checker=self.checker,
                max_sessions=settings.max_sessions,
                **extra,
            )

        self.login = factory(Role.LOGIN)
        self.ship_factory = factory(Role.SHIP, chat_log=self.chat_log, ship=self.ship)
        self._purge = task.LoopingCall(self.purge_chat)
        self._purge.clock = reactor
        self.ports: list[Any] = []

    def start(self) -> None:
        """Listen on every configured address and start the chat retention timer.

        Port 0 means any free port; the ports actually bound are told to clients."""
        ship = self.settings.ship_listen
        # A backlog as deep as the session limit, so a crowd connecting at once is
        # answered (or refused with a message) rather than left to SYN retries.
        backlog = min(self.settings.max_sessions, MAX_BACKLOG)
        ship_port = listen_tcp(
            self.reactor, ship.port, self.ship_factory, backlog=backlog, interface=_any(ship)
        )
        self.ports.append(ship_port)
        for listen in self.settings.listen:
            self.ports.append(
                listen_tcp(
                    self.reactor, listen.port, self.login, backlog=backlog, interface=_any(listen)
                )
            )
        bound_ship = ship_port.getHost().port
        self.login.config = replace(self.login.config, ship_port=bound_ship)
        if len(self.ports) > 1:
            bound_login = self.ports[1].getHost().port
            self.ship_factory.config = replace(self.ship_factory.config, login_port=bound_login)
        self._purge.start(PURGE_INTERVAL, now=True)

    @property
    def login_port(self) -> int:
        """The first login server port actually bound (after :meth:`start`)."""
        return self.ports[1].getHost().port

    @property
    def ship_port(self) -> int:
        return self.ports[0].getHost().port

    def stop(self) -> defer.Deferred[None]:
        if self._purge.running:
            self._purge.stop()
        return defer.gatherResults(
            [defer.maybeDeferred(p.stopListening) for p in self.ports]
        ).addCallback(lambda _: None)

    def purge_chat(self) -> int:
        cutoff = self.reactor.seconds() - self.settings.chat_retention_days * DAY
        removed = self.chat_log.purge(cutoff)
        if removed:
            log.info(
                "chat log: purged {n} lines older than {days:g} days",
                n=removed,
                days=self.settings.chat_retention_days,
            )
        return removed


def _any(listen: Listen) -> str:
    """The interface for ``listenTCP``: "" (every address) for 0.0.0.0, which virtual
    hosts of the simulated internet do not take as an address of their own."""
    return "" if listen.host == "0.0.0.0" else listen.host
