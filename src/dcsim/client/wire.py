"""Two Twisted protocols joined by an in-memory byte stream on a clock.

The console's serial line to a fake modem, or its DCNet connection to the access server,
inside one simulation: each ``write`` reaches the other side from a clock callback (never
re-entrantly), in order, and ``loseConnection`` closes both ends after what was written.
Unlike ``twisted.test.iosim`` nothing polls: an idle hour of virtual time costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IAddress, IReactorTime, ITransport
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from zope.interface import implementer


@implementer(IAddress)
@dataclass(frozen=True, slots=True)
class WireAddress:
    name: str


@implementer(ITransport)
class WireEnd:
    """One end of a :func:`connect` pair."""

    def __init__(self, clock: IReactorTime, protocol: Protocol, name: str) -> None:
        self.clock = clock
        self.protocol = protocol
        self.name = name
        self.peer: WireEnd | None = None
        self.connected = True
        self.disconnecting = False
        self._paused = False
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if self.disconnecting or not self.connected or not data or self.peer is None:
            return
        self.clock.callLater(0, self.peer._receive, bytes(data))

    def writeSequence(self, data: list[bytes]) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if self.disconnecting or not self.connected:
            return
        self.disconnecting = True
        self.clock.callLater(0, self._close)

    abortConnection = loseConnection

    def _receive(self, data: bytes) -> None:
        if not self.connected:
            return
        if self._paused:
            self._held.append(data)
        else:
            self.protocol.dataReceived(data)

    def _close(self) -> None:
        for end in (self, self.peer):
            if end is not None and end.connected:
                end.connected = False
                end.protocol.connectionLost(Failure(ConnectionDone()))

    def getPeer(self) -> WireAddress:
        return WireAddress(self.peer.name if self.peer is not None else "?")

    def getHost(self) -> WireAddress:
        return WireAddress(self.name)

    # IPushProducer: the fake modem stops reading the console while its line buffer is
    # full (hardware flow control); what arrives meanwhile waits here, in order.
    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        while self._held and not self._paused and self.connected:
            self.protocol.dataReceived(self._held.pop(0))

    def stopProducing(self) -> None:
        self.loseConnection()


def connect(
    clock: IReactorTime, a: Protocol, b: Protocol, names: tuple[str, str] = ("a", "b")
) -> tuple[WireEnd, WireEnd]:
    """Join *a* and *b*; both get ``makeConnection`` at once, *a* first."""
    end_a, end_b = WireEnd(clock, a, names[0]), WireEnd(clock, b, names[1])
    end_a.peer, end_b.peer = end_b, end_a
    a.makeConnection(end_a)
    b.makeConnection(end_b)
    return end_a, end_b
