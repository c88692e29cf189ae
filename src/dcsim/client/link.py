"""How the console gets onto the internet: a modem call carrying PPP, PPP straight over a
DCNet connection, or the broadband adapter on an Ethernet link.

:class:`SerialLine` is the console's serial line to a modem: the AT dialler
(:mod:`dcsim.client.dialler`) until ``CONNECT``, then the console's PPP client session
(:class:`dcsim.ppp.client.PppClientSession`) on the same byte stream; hanging up ends PPP
politely (LCP Terminate), escapes with ``+++`` and sends ``ATH0``. It runs over any
transport: a real TCP connection to ``dcsim modem`` or an in-memory wire to a fake modem
inside a simulation (:mod:`dcsim.client.wire`).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IReactorTime, ITransport
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from dcsim.causes import Cause
from dcsim.client.dialler import (
    Cancelled,
    Connected,
    DialEvent,
    DialFailed,
    Dialler,
    Dialling,
    DialSettings,
    HungUp,
)
from dcsim.edge import DeadlineTimer
from dcsim.ppp.client import PppClientSession
from dcsim.ppp.link import LinkEnded, NetworkUp


@dataclass(frozen=True)
class Online:
    """The console is on the internet."""

    address: IPv4Address
    dns: tuple[IPv4Address, ...]  # what the link offered (IPCP, DHCP); may be empty
    mtu: int


class LinkFailed(Exception):
    def __init__(self, cause: Cause | None, detail: str) -> None:
        super().__init__(cause, detail)
        self.cause = cause
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


@implementer(ITransport)
class _DataMode:
    """PPP's transport while the modem is online: writes go down the serial line, and
    closing is the console hanging up the call."""

    def __init__(self, line: SerialLine) -> None:
        self.line = line
        self.disconnecting = False

    def write(self, data: bytes) -> None:
        if self.line.online and self.line.transport is not None:
            self.line.transport.write(data)

    def writeSequence(self, data: list[bytes]) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if not self.disconnecting:
            self.disconnecting = True
            self.line.leave_data_mode()

    abortConnection = loseConnection

    def getPeer(self) -> Any:
        return self.line.transport.getPeer() if self.line.transport is not None else None

    def getHost(self) -> Any:
        return self.line.transport.getHost() if self.line.transport is not None else None


class SerialLine(Protocol):
    """The console's serial line: dialling, then PPP (see the module docstring).

    ``dialled`` fires with :class:`Connected` or fails with :class:`LinkFailed`;
    ``ended`` fires when the line is closed; ``attempts`` lists every dial event.
    """

    def __init__(self, clock: IReactorTime, dial: DialSettings, ppp: PppClientSession) -> None:
        self.clock = clock
        self.dialler = Dialler(dial)
        self.ppp = ppp
        self.online = False
        self.dialled: Deferred[Connected] = Deferred()
        self.ended: Deferred[None] = Deferred()
        self.dial_events: list[DialEvent] = []
        self.hangup: HungUp | None = None
        self._timer = DeadlineTimer(clock, self._on_timer)
        self._closed = False

    # --- Twisted's side ------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.dialler.start(self.clock.seconds())
        self._pump()

    def dataReceived(self, data: bytes) -> None:
        if self.online:
            self.ppp.dataReceived(data)
            return
        self.dialler.receive_data(data, self.clock.seconds())
        self._pump()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._closed = True
        self._timer.cancel()
        if self.online:
            self.online = False
            self.ppp.connectionLost(reason or Failure(ConnectionDone()))
        elif not self.dialled.called:
            self.dialled.errback(LinkFailed(Cause.NO_PHYSICAL_CONNECTION, "the modem went away"))
        if not self.ended.called:
            self.ended.callback(None)

    # --- the console's side --------------------------------------------------------------

    def cancel(self) -> None:
        """The user cancels, or the console is reset: stop dialling, or hang up."""
        if self.online:
            self.ppp.hang_up()  # LCP Terminate; PPP then closes its transport: _DataMode
        else:
            self.dialler.cancel(self.clock.seconds())
            self._pump()

    def carrier(self, on: bool) -> None:
        """The modem's DCD line (wired where there is one): losing the carrier while
        online ends the call under PPP at once, as the console's modem driver sees it."""
        if not on and self.online:
            self.online = False
            self.ppp.connectionLost(Failure(ConnectionDone("carrier lost")))

    def leave_data_mode(self) -> None:
        """PPP is over: escape to command mode and hang up."""
        if not self.online:
            return
        self.online = False
        self.dialler.hang_up(self.clock.seconds())
        self._pump()

    # --- the dialler ---------------------------------------------------------------------

    def _pump(self) -> None:
        out = self.dialler.data_to_send()
        if out and self.transport is not None and not self._closed:
            self.transport.write(out)
        for event in self.dialler.events():
            self.dial_events.append(event)
            self._handle(event)
        self._timer.at(None if self._closed else self.dialler.deadline())

    def _on_timer(self, _deadline: float) -> None:
        self.dialler.handle_timer(self.clock.seconds())
        self._pump()

    def _handle(self, event: DialEvent) -> None:
        if isinstance(event, Connected):
            self.online = True
            if not self.dialled.called:
                self.dialled.callback(event)
            self.ppp.makeConnection(_DataMode(self))
            if event.leftover:
                self.ppp.dataReceived(event.leftover)
        elif isinstance(event, DialFailed):
            self._fail(LinkFailed(event.cause, event.detail))
        elif isinstance(event, Cancelled):
            self._fail(LinkFailed(None, "dialling cancelled"))
        elif isinstance(event, HungUp):
            self.hangup = event
            if self.transport is not None and not self._closed:
                self.transport.loseConnection()  # a clean or a forced end: DTR drops

    def _fail(self, failure: LinkFailed) -> None:
        if not self.dialled.called:
            self.dialled.errback(failure)
        if self.transport is not None and not self._closed:
            self.transport.loseConnection()

    @property
    def attempts(self) -> int:
        return sum(isinstance(e, Dialling) for e in self.dial_events)


def ppp_online(event: NetworkUp) -> Online:
    return Online(event.local, tuple(a for a in event.dns if a != IPv4Address(0)), event.mtu)


def ppp_failure(event: Any) -> LinkFailed:
    """The PPP session's ``up`` failed: why, as the console shows it."""
    value = getattr(event, "value", event)
    if isinstance(value, LinkEnded):
        return LinkFailed(
            value.cause, value.reason.value + (f" ({value.detail})" if value.detail else "")
        )
    return LinkFailed(Cause.SERVER_DOWN, f"PPP did not come up: {value}")
