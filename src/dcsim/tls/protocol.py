"""The Twisted edge: a wrapping protocol and factories that put any protocol behind
SSL 3.0 / TLS 1.0, the way ``twisted.protocols.tls.TLSMemoryBIOFactory`` does with
OpenSSL.

``TlsServerFactory(Site(resource), config, reactor)`` serves HTTPS with plain twisted.web;
``TlsClientFactory(factory, profile, reactor)`` connects any client protocol through the
client core. The reactor (``IReactorTime``; the caller listens or connects with it, or with
a virtual host offering the same calls) is a constructor argument; nothing here touches
the global reactor.

The wrapped protocol is connected at once; what it writes before the handshake completes
is sent when it does. When the core reports :class:`~dcsim.tls.connection.Closed`, the
transport is closed after the last records (the alert or close_notify) are written, and
the wrapped protocol's ``connectionLost`` gets the TLS failure, if there was one.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure

from dcsim.address import peer_text
from dcsim.edge import DeadlineTimer
from dcsim.log import Logger
from dcsim.tls.connection import (
    AlertReceived,
    ApplicationData,
    ChainCheck,
    Closed,
    Event,
    HandshakeComplete,
    HelloReceived,
    ServerConfig,
    TlsClient,
    TlsServer,
    accept_any_chain,
)
from dcsim.tls.profiles import ClientProfile
from dcsim.tls.session import Session
from dcsim.tls.suites import suite_name
from dcsim.tls.wire import Alert, TlsError, version_name

log = Logger(namespace="dcsim.tls")

EventHook = Callable[["TlsProtocol", Event], None]


class TlsProtocol(ProtocolWrapper):
    """Feeds a TLS core from the transport and the wrapped protocol; the only code that
    knows the reactor."""

    def __init__(
        self,
        factory: WrappingFactory,
        wrapped: Protocol,
        core: TlsServer | TlsClient,
        clock: IReactorTime,
        on_event: EventHook | None = None,
    ) -> None:
        super().__init__(factory, wrapped)
        self.core = core
        self.clock = clock
        self.on_event = on_event
        self.hello: HelloReceived | None = None
        self.handshake: HandshakeComplete | None = None
        self.error: TlsError | None = None
        self._timer = DeadlineTimer(clock, self._on_timer)
        self._pumping = False
        self._closing = False

    # --- from the transport --------------------------------------------------------------

    def connectionMade(self) -> None:
        # ProtocolWrapper.makeConnection connects the wrapped protocol right after this.
        self.core.start(self.clock.seconds())
        self._pump()

    def dataReceived(self, data: bytes) -> None:
        self.core.receive_data(data, self.clock.seconds())
        self._pump()

    def connectionLost(self, reason: Failure) -> None:
        self._closing = True
        self.core.receive_data(b"", self.clock.seconds())
        self._pump()
        self._timer.cancel()
        if self.error is not None:
            reason = Failure(self.error)
        self.disconnecting = True
        # ProtocolWrapper unregisters from the factory and tells the wrapped protocol.
        super().connectionLost(reason)

    # --- the wrapped protocol's transport ------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._closing or not data:
            return
        self.core.send(data)
        self._pump()

    def writeSequence(self, data: list[bytes]) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if self._closing:
            return
        self.disconnecting = True
        self.core.close()
        self._pump()

    def abortConnection(self) -> None:
        """Drop the connection at once: no close_notify, nothing more written."""
        self._closing = True
        self.disconnecting = True
        if self.transport is not None:
            abort = getattr(self.transport, "abortConnection", self.transport.loseConnection)
            abort()

    # --- pumping -------------------------------------------------------------------------

    def _pump(self) -> None:
        if self._pumping:  # the wrapped protocol wrote while handling our data
            return
        self._pumping = True
        try:
            while True:
                out = self.core.data_to_send()
                if out and self.transport is not None:
                    self.transport.write(out)
                events = list(self.core.events())
                if not events:
                    break
                for event in events:
                    self._handle(event)
        finally:
            self._pumping = False
        self._timer.at(self.core.deadline())

    def _handle(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(self, event)
        if isinstance(event, ApplicationData):
            self.wrappedProtocol.dataReceived(event.data)
        elif isinstance(event, HandshakeComplete):
            self.handshake = event
            if log.debugging:
                log.debug("TLS with {peer}: {how}", peer=_peer(self), how=event.description)
        elif isinstance(event, HelloReceived):
            self.hello = event
            if log.debugging:
                hello = event.hello
                log.debug(
                    "hello from {peer}: {version}{v2}, suites {suites}",
                    peer=_peer(self),
                    version=version_name(hello.version),
                    v2=" (SSLv2 format)" if hello.v2_format else "",
                    suites=", ".join(suite_name(s) for s in hello.suites),
                )
        elif isinstance(event, AlertReceived):
            if log.debugging:
                log.debug(
                    "{severity} alert from {peer}: {alert}",
                    severity=event.level.name.lower(),
                    peer=_peer(self),
                    alert=Alert(event.level, event.description).name,
                )
        elif isinstance(event, Closed):
            self.error = event.error
            if event.error is not None:
                log.info(
                    "TLS with {peer} failed ({side}): {error}",
                    peer=_peer(self),
                    side="peer" if event.by_peer else "sent alert",
                    error=str(event.error),
                )
            self._closing = True
            if self.transport is not None:
                self.transport.loseConnection()

    def _on_timer(self, _deadline: float) -> None:
        self.core.handle_timer(self.clock.seconds())
        self._pump()


def _peer(protocol: TlsProtocol) -> str:
    transport = protocol.transport
    if transport is None:
        return "-"
    return peer_text(transport.getPeer())


class TlsServerFactory(WrappingFactory):
    """Serve *wrapped* (any protocol factory, e.g. twisted.web's ``Site``) over TLS."""

    def __init__(
        self,
        wrapped: Factory,
        config: ServerConfig,
        reactor: IReactorTime,
        rng: random.Random | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        super().__init__(wrapped)
        self.config = config
        self.reactor = reactor
        self.rng = rng or random.SystemRandom()
        self.on_event = on_event

    def buildProtocol(self, addr: object) -> TlsProtocol | None:
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        core = TlsServer(self.config, self.rng)
        return TlsProtocol(self, wrapped, core, self.reactor, self.on_event)


class TlsClientFactory(WrappingFactory):
    """Connect *wrapped*'s protocols (a ``ClientFactory``) through the TLS client core with
    *profile*. After a handshake the session is kept, and offered again when the profile
    resumes."""

    def __init__(
        self,
        wrapped: Factory,
        profile: ClientProfile,
        reactor: IReactorTime,
        rng: random.Random | None = None,
        check_chain: ChainCheck = accept_any_chain,
        on_event: EventHook | None = None,
    ) -> None:
        super().__init__(wrapped)
        self.profile = profile
        self.reactor = reactor
        self.rng = rng or random.SystemRandom()
        self.check_chain = check_chain
        self.on_event = on_event
        self.session: Session | None = None

    def buildProtocol(self, addr: object) -> TlsProtocol | None:
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        core = TlsClient(self.profile, self.rng, check_chain=self.check_chain, session=self.session)
        return TlsProtocol(self, wrapped, core, self.reactor, self._event)

    def _event(self, protocol: TlsProtocol, event: Event) -> None:
        if isinstance(event, HandshakeComplete) and isinstance(protocol.core, TlsClient):
            self.session = protocol.core.session
        if self.on_event is not None:
            self.on_event(protocol, event)
