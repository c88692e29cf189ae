"""Serving the status page on 127.0.0.1 port 0 for a test, and reading it over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, protocol, reactor, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols.policies import WrappingFactory

from dcsim.status import SessionRegistry
from dcsim.status.web import StatusPage, status_site


class ServedPage:
    """A registry on the real reactor's clock, its page listening on 127.0.0.1:0.

    Connections are tracked so :meth:`close` can end them all and wait until the server
    side has seen them go (trial fails a test that leaves sockets or timers behind).
    """

    def __init__(self, **options: Any) -> None:
        self.registry = SessionRegistry(reactor.seconds)
        self.page = StatusPage(self.registry, reactor, **options)
        self.factory = WrappingFactory(status_site(self.page))
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port.getHost().port}/"

    @property
    def port_number(self) -> int:
        return self.port.getHost().port

    @defer.inlineCallbacks
    def close(self):
        self.page.events.close()
        for connection in list(self.factory.protocols):
            connection.transport.abortConnection()
        while self.factory.protocols:
            yield task.deferLater(reactor, 0.01, lambda: None)
        yield self.port.stopListening()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class _Collect(protocol.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Any = None) -> None:
        self.done.callback(bytes(self.data))


def _parse(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(int(status_line.split()[1]), headers, body)


@defer.inlineCallbacks
def http_get(port: int, path: str, host: str = "127.0.0.1", method: str = "GET"):
    """GET *path* exactly as written (no normalising of ``..``) over HTTP/1.0."""
    collect = _Collect()
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    connection = yield connectProtocol(endpoint, collect)
    request = f"{method} {path} HTTP/1.0\r\nHost: {host}\r\n\r\n"
    connection.transport.write(request.encode("latin-1"))
    raw = yield collect.done
    return _parse(raw)


@dataclass
class SseEvent:
    name: str
    data: str


class SseClient(protocol.Protocol):
    """Reads ``api/events`` as it streams; :meth:`next_event` waits for the next one."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.events: list[SseEvent] = []
        self.headers = b""
        self.waiting: list[defer.Deferred[SseEvent]] = []
        self.closed: defer.Deferred[None] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if not self.headers:
            head, sep, rest = bytes(self.buffer).partition(b"\r\n\r\n")
            if not sep:
                return
            self.headers = head
            self.buffer = bytearray(rest)
        while b"\n\n" in self.buffer:
            block, _, rest = bytes(self.buffer).partition(b"\n\n")
            self.buffer = bytearray(rest)
            name, data_lines = "message", []
            for line in block.decode().split("\n"):
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    data_lines.append(line[len("data: ") :])
            if data_lines:
                self.events.append(SseEvent(name, "\n".join(data_lines)))
        self._wake()

    def _wake(self) -> None:
        while self.waiting and self.events:
            self.waiting.pop(0).callback(self.events.pop(0))

    def next_event(self, timeout: float = 5.0) -> defer.Deferred[SseEvent]:
        d: defer.Deferred[SseEvent] = defer.Deferred()
        self.waiting.append(d)
        self._wake()
        if not d.called:
            d.addTimeout(timeout, reactor)
        return d

    def connectionLost(self, reason: Any = None) -> None:
        self.closed.callback(None)


@defer.inlineCallbacks
def open_events(port: int, path: str = "/api/events"):
    client = SseClient()
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    connection = yield connectProtocol(endpoint, client)
    connection.transport.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return client
