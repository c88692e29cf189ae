"""TCP listening ports whose connections send at once.

Twisted's TCP transport never sends from ``write()``: it queues the bytes, asks the
reactor to watch the socket for writability, sends on the next turn of the loop and
stops watching. For a server of many short exchanges (the PSO login server answers each
command with one write, and a lobby join writes to every member) that is two
``epoll_ctl`` calls, one more wake-up and Twisted's dispatch around it for every write:
about a tenth of the login server's CPU time per login (``make bench``, pso).

Here a write with nothing queued ahead of it goes straight to ``socket.send``; what the
kernel does not take (a full send buffer, an error) is queued the usual way, so the
reactor sends the rest and discovers a dead connection exactly as before. On a port
bound to one address, ``getHost()`` answers without a system call. Everything else
(reading, producers, half-close, ``loseConnection``) is Twisted's own ``tcp.Server``.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import posixbase, tcp
from twisted.internet.interfaces import IListeningPort


class EagerServer(tcp.Server):
    """A server-side TCP connection that sends what it can during ``write()``."""

    def write(self, data: bytes) -> None:
        if (
            data
            and self.connected
            and not self.disconnecting
            and not self._writeDisconnected
            and not self.TLS
            and not self.dataBuffer
            and not self._tempDataBuffer
        ):
            try:
                sent = self.socket.send(data)
            except OSError:  # full (EAGAIN, ENOBUFS) or dead: the reactor's doWrite decides
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        super().write(data)

    def getHost(self) -> Any:
        # On a port bound to one address every connection's local address is the
        # port's: known without a getsockname() per connection.
        host = self.server.local_address
        return host if host is not None else super().getHost()


class EagerPort(tcp.Port):
    transport = EagerServer
    #: The address of every connection accepted, when the port listens on one address.
    local_address: Any = None

    def startListening(self) -> None:
        super().startListening()
        if self.interface not in ("", "0.0.0.0", "::"):
            self.local_address = self.getHost()


def listen_tcp(
    reactor: Any, port: int, factory: Any, *, backlog: int = 50, interface: str = ""
) -> IListeningPort:
    """``reactor.listenTCP(...)``, with :class:`EagerServer` connections when *reactor*
    is one of Twisted's own socket reactors; any other (a virtual host of the simulated
    internet, a test double) listens its own way."""
    if not isinstance(reactor, posixbase.PosixReactorBase):
        return reactor.listenTCP(port, factory, backlog=backlog, interface=interface)
    listening = EagerPort(port, factory, backlog, interface, reactor)
    listening.startListening()
    return listening
