"""The Twisted edge of the PSO client: connect, log in, follow the 19 redirect.

:class:`PsoClientConnector` drives a :class:`~dcsim.pso.client.Client` core through any
provider of ``connectTCP`` and ``IReactorTime`` — the real reactor or a virtual host of
the simulated internet — so the virtual Dreamcast and the tests use the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python.failure import Failure

from dcsim.pso.client import Client, LobbyJoined, LoginFailed, Redirect


class LoginError(Exception):
    """The login did not reach the lobby: the step it failed at and why."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


class _ClientProtocol(Protocol):
    def __init__(self, connector: PsoClientConnector) -> None:
        self.connector = connector

    def connectionMade(self) -> None:
        self.connector.protocol = self
        self.connector.client.connection_made(self.connector.reactor.seconds())
        self.flush()

    def dataReceived(self, data: bytes) -> None:
        self.connector.client.receive_data(data, self.connector.reactor.seconds())
        self.flush()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self.connector.protocol is self:
            self.connector.protocol = None
        self.connector.client.receive_data(b"", self.connector.reactor.seconds())
        self.connector.drain()
        self.connector.connection_lost()

    def flush(self) -> None:
        out = self.connector.client.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)
        self.connector.drain()


class _Factory(ClientFactory):
    noisy = False

    def __init__(self, connector: PsoClientConnector) -> None:
        self.connector = connector

    def buildProtocol(self, addr: Any) -> _ClientProtocol:
        return _ClientProtocol(self.connector)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.connector.fail("connect", reason.getErrorMessage())


class PsoClientConnector:
    """Logs *client* in and keeps it in the lobby until :meth:`hang_up`."""

    def __init__(
        self,
        client: Client,
        reactor: Any,
        *,
        timeout: float = 60.0,
        on_event: Callable[[object], None] | None = None,
    ) -> None:
        self.client = client
        self.reactor = reactor
        self.timeout = timeout
        self.on_event = on_event
        self.events: list[object] = []
        self.protocol: _ClientProtocol | None = None
        self.in_lobby: defer.Deferred[LobbyJoined] = defer.Deferred()
        self._redirect: Redirect | None = None
        self._timer: IDelayedCall | None = None

    def connect(self, host: str, port: int) -> defer.Deferred[LobbyJoined]:
        """Connect to the login server; fires with the first lobby join."""
        self._timer = self.reactor.callLater(self.timeout, self._timed_out)
        self.reactor.connectTCP(host, port, _Factory(self))
        return self.in_lobby

    # --- in the lobby ----------------------------------------------------------------

    def chat(self, text: str) -> None:
        self.client.chat(text)
        self._flush()

    def change_lobby(self, number: int) -> None:
        self.client.change_lobby(number)
        self._flush()

    def hang_up(self) -> None:
        self.client.hang_up()
        self._flush()
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.loseConnection()

    # --- internals -------------------------------------------------------------------

    def _flush(self) -> None:
        if self.protocol is not None:
            self.protocol.flush()

    def drain(self) -> None:
        for event in self.client.events():
            self.events.append(event)
            if self.on_event is not None:
                self.on_event(event)
            if isinstance(event, Redirect):
                self._redirect = event
                if self.protocol is not None and self.protocol.transport is not None:
                    self.protocol.transport.loseConnection()
            elif isinstance(event, LobbyJoined) and not self.in_lobby.called:
                self._cancel_timer()
                self.in_lobby.callback(event)
            elif isinstance(event, LoginFailed):
                self.fail(event.step, event.reason)

    def connection_lost(self) -> None:
        redirect, self._redirect = self._redirect, None
        if redirect is not None and not self.in_lobby.called:
            self.reactor.connectTCP(str(redirect.address), redirect.port, _Factory(self))

    def fail(self, step: str, reason: str) -> None:
        self._cancel_timer()
        if not self.in_lobby.called:
            self.in_lobby.errback(LoginError(step, reason))
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.loseConnection()

    def _timed_out(self) -> None:
        self._timer = None
        self.fail(
            "timeout",
            f"no lobby within {self.timeout:g} s (client phase {self.client.phase.value})",
        )

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
