"""The live status page: twisted.web resources over a :class:`SessionRegistry`.

The tree (all paths relative, so it can be mounted anywhere)::

    /                 the page (index.html, status.js, status.css: no build step, nothing
                      loaded from elsewhere, which the Content-Security-Policy enforces)
    /api/snapshot     the registry as JSON
    /api/events       server-sent events: a snapshot first, then changes
    /pcap/<id>        a session's capture, if the registry knows one

Changes are coalesced for *interval* seconds and sent to every page at once, so a session
counting bytes for every frame costs the pages a few messages a second, not one a frame.
A page that stops reading is not buffered for: its stream is paused, and when it reads
again it gets a fresh snapshot instead of what it missed.

Only names of this machine are answered while the page listens on a loopback address (a
web page elsewhere cannot read it through DNS rebinding); the captures are served by
session number from the registry's own list, never by a file name from the request.
"""

from __future__ import annotations

import ipaddress
import os
from collections import deque
from collections.abc import Collection
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort, IPullProducer, IPushProducer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.web import pages, resource, server, util
from twisted.web.iweb import IRequest
from zope.interface import implementer

from dcsim.address import Listen
from dcsim.cli import Failed, UsageError
from dcsim.status import encode
from dcsim.status.registry import (
    DnsQueried,
    DnsQuery,
    Event,
    Failure,
    FailureRecorded,
    SessionInfo,
    SessionRegistry,
)

log = Logger()

LOOPBACK_HOSTS: frozenset[str] = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_INTERVAL = 0.25  # seconds between batches of changes sent to the pages
DEFAULT_KEEPALIVE = 15.0  # seconds between comments that keep idle streams open
RETRY_MS = 2000  # how soon a page reconnects after losing the stream (dcsim restarted)
MAX_PENDING_SESSIONS = 1000  # more changed sessions in one batch: send a snapshot instead

_HEADERS = {
    b"Content-Security-Policy": (
        b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        b"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    b"X-Content-Type-Options": b"nosniff",
    b"Referrer-Policy": b"no-referrer",
    b"Cache-Control": b"no-store",
}

_ASSETS = {
    b"": ("index.html", b"text/html; charset=utf-8"),
    b"status.js": ("status.js", b"text/javascript; charset=utf-8"),
    b"status.css": ("status.css", b"text/css; charset=utf-8"),
    b"favicon.svg": ("favicon.svg", b"image/svg+xml"),
}

PCAP_TYPE = b"application/vnd.tcpdump.pcap"


def _secure(request: IRequest) -> None:
    for name, value in _HEADERS.items():
        request.setHeader(name, value)


def _not_found(request: IRequest, message: str) -> Any:
    """Render a 404 page (it may finish later: the result is what render returns)."""
    return pages.notFound("Not found", message).render(request)


class _Folder(resource.Resource):
    """A resource with named children; anything else is a plain 404."""

    def getChild(self, path: bytes, request: IRequest) -> resource.Resource:
        return pages.notFound("Not found", "No such page.")

    def render_GET(self, request: IRequest) -> Any:
        return _not_found(request, "No such page.")


class _Asset(resource.Resource):
    isLeaf = True

    def __init__(self, body: bytes, content_type: bytes) -> None:
        super().__init__()
        self.body = body
        self.content_type = content_type

    def render_GET(self, request: IRequest) -> Any:
        if request.postpath:
            return _not_found(request, "No such page.")
        _secure(request)
        request.setHeader(b"Content-Type", self.content_type)
        return self.body


class _Snapshot(resource.Resource):
    isLeaf = True

    def __init__(self, registry: SessionRegistry) -> None:
        super().__init__()
        self.registry = registry

    def render_GET(self, request: IRequest) -> Any:
        if request.postpath:
            return _not_found(request, "No such page.")
        _secure(request)
        request.setHeader(b"Content-Type", b"application/json")
        return encode.dumps(encode.snapshot_json(self.registry.snapshot())) + b"\n"


class _Captures(resource.Resource):
    """``pcap/<session id>``: only files the registry names, by number."""

    def __init__(self, registry: SessionRegistry) -> None:
        super().__init__()
        self.registry = registry

    def getChild(self, path: bytes, request: IRequest) -> resource.Resource:
        if path.isdigit() and len(path) <= 18:  # ASCII digits only, as an int fits
            session_id = int(path)
            capture = self.registry.pcap_path(session_id)
            if capture is not None:
                return _Capture(capture, session_id)
        return pages.notFound("Not found", "No capture for that session.")

    def render_GET(self, request: IRequest) -> Any:
        return _not_found(request, "Captures are at pcap/<session number>.")


class _Capture(resource.Resource):
    """A capture as it stands when asked: a live session's file may still be growing."""

    isLeaf = True

    def __init__(self, path: Path, session_id: int) -> None:
        super().__init__()
        self.path = path
        self.session_id = session_id

    def render_GET(self, request: IRequest) -> Any:
        opened = self._open(request)
        if opened is None:
            return _not_found(request, "That session's capture is not on disk.")
        _FileSlice(*opened, request).start()
        return server.NOT_DONE_YET

    def render_HEAD(self, request: IRequest) -> Any:
        opened = self._open(request)
        if opened is None:
            return _not_found(request, "That session's capture is not on disk.")
        opened[0].close()
        return b""

    def _open(self, request: IRequest) -> tuple[BinaryIO, int] | None:
        """The open file and its size now, with the headers set; None if there is none."""
        if request.postpath:
            return None
        try:
            if not self.path.is_file():  # a directory, a FIFO, a device: never served
                return None
            file = self.path.open("rb")
        except OSError:
            return None
        size = os.fstat(file.fileno()).st_size
        _secure(request)
        request.setHeader(b"Content-Type", PCAP_TYPE)
        request.setHeader(
            b"Content-Disposition",
            f'attachment; filename="dcsim-session-{self.session_id}.pcap"'.encode(),
        )
        request.setHeader(b"Content-Length", b"%d" % size)
        return file, size


@implementer(IPullProducer)
class _FileSlice:
    """Send the first *size* bytes of *file*: what Content-Length promised, no more."""

    CHUNK = 64 * 1024

    def __init__(self, file: BinaryIO, size: int, request: IRequest) -> None:
        self.file = file
        self.remaining = size
        self.request = request

    def start(self) -> None:
        self.request.notifyFinish().addBoth(lambda _: self.file.close())
        self.request.registerProducer(self, False)

    def resumeProducing(self) -> None:
        chunk = self.file.read(min(self.CHUNK, self.remaining)) if self.remaining else b""
        if chunk:
            self.remaining -= len(chunk)
            self.request.write(chunk)
        else:
            self.request.unregisterProducer()
            self.request.finish()

    def stopProducing(self) -> None:
        self.file.close()


class _Refused(resource.Resource):
    isLeaf = True

    def render(self, request: IRequest) -> bytes:
        request.setResponseCode(421)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return b"dcsim's status page answers only to this machine's own names.\n"


@implementer(IPushProducer)
class _Page:
    """One connected page: its request, and whether it is keeping up."""

    def __init__(self, stream: EventStream, request: IRequest) -> None:
        self.stream = stream
        self.request = request
        self.paused = False
        self.stale = False

    def send(self, data: bytes) -> None:
        if self.paused:
            self.stale = True
        else:
            self.request.write(data)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        if self.stale:
            self.stale = False
            self.request.write(self.stream.snapshot_message())

    def stopProducing(self) -> None:
        self.stream.detach(self)


class EventStream(resource.Resource):
    """``api/events``: the registry's changes as server-sent events for every open page.

    Messages: ``snapshot`` (the whole registry, first and after a resync), ``session``
    (a session as it now stands; ``ended`` set means it is gone), ``dns``, ``failure``
    and ``counts`` (after every batch, with the server's ``now``). The registry is
    subscribed to only while a page is connected.
    """

    isLeaf = True

    def __init__(
        self,
        registry: SessionRegistry,
        reactor: Any,
        *,
        interval: float = DEFAULT_INTERVAL,
        keepalive: float = DEFAULT_KEEPALIVE,
    ) -> None:
        super().__init__()
        self.registry = registry
        self.reactor = reactor
        self.interval = interval
        self.pages: list[_Page] = []
        self._keepalive = LoopingCall(self._send_all, b": keepalive\n\n")
        self._keepalive.clock = reactor
        self._keepalive_interval = keepalive
        self._unsubscribe: Any = None
        self._flush_call: Any = None
        self._sessions: dict[int, SessionInfo] = {}
        self._dns: deque[DnsQuery] = deque(maxlen=registry.limits.recent_dns)
        self._failures: deque[Failure] = deque(maxlen=registry.limits.recent_failures)
        self._resync = False

    def render_GET(self, request: IRequest) -> Any:
        if request.postpath:
            return _not_found(request, "No such page.")
        _secure(request)
        request.setHeader(b"Content-Type", b"text/event-stream; charset=utf-8")
        page = _Page(self, request)
        request.registerProducer(page, True)
        request.write(b"retry: %d\n\n" % RETRY_MS + self.snapshot_message())
        self.pages.append(page)
        if len(self.pages) == 1:
            self._unsubscribe = self.registry.subscribe(self._on_event)
            self._keepalive.start(self._keepalive_interval, now=False)
        request.notifyFinish().addBoth(lambda _: self.detach(page))
        return server.NOT_DONE_YET

    def snapshot_message(self) -> bytes:
        return _message(b"snapshot", encode.snapshot_json(self.registry.snapshot()))

    def detach(self, page: _Page) -> None:
        if page not in self.pages:
            return
        self.pages.remove(page)
        if not self.pages:
            self._stop()

    def close(self) -> None:
        """End every stream (the pages will try to reconnect), for a clean shutdown."""
        for page in list(self.pages):
            self.detach(page)
            page.request.unregisterProducer()
            page.request.finish()

    def _stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._keepalive.running:
            self._keepalive.stop()
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        self._clear()

    def _clear(self) -> None:
        self._sessions.clear()
        self._dns.clear()
        self._failures.clear()
        self._resync = False

    def _on_event(self, event: Event) -> None:
        if isinstance(event, DnsQueried):
            self._dns.append(event.query)
        elif isinstance(event, FailureRecorded):
            self._failures.append(event.failure)
        else:
            self._sessions[event.session.id] = event.session
            if len(self._sessions) > MAX_PENDING_SESSIONS:
                self._clear()
                self._resync = True
        if self._flush_call is None:
            self._flush_call = self.reactor.callLater(self.interval, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        if self._resync:
            data = self.snapshot_message()
        else:
            parts = [_message(b"session", encode.session_json(s)) for s in self._sessions.values()]
            parts += [_message(b"dns", encode.dns_json(q)) for q in self._dns]
            parts += [_message(b"failure", encode.failure_json(f)) for f in self._failures]
            now = self.registry.clock()
            parts.append(_message(b"counts", encode.counts_json(self.registry.counts(), now)))
            data = b"".join(parts)
        self._clear()
        self._send_all(data)

    def _send_all(self, data: bytes) -> None:
        for page in list(self.pages):
            page.send(data)


def _message(name: bytes, value: encode.Json) -> bytes:
    return b"event: " + name + b"\ndata: " + encode.dumps(value) + b"\n\n"


class StatusPage(_Folder):
    """The root of the page's tree; refuses requests for other host names when asked."""

    def __init__(
        self,
        registry: SessionRegistry,
        reactor: Any,
        *,
        allowed_hosts: Collection[str] | None = LOOPBACK_HOSTS,
        interval: float = DEFAULT_INTERVAL,
        keepalive: float = DEFAULT_KEEPALIVE,
    ) -> None:
        super().__init__()
        self.allowed_hosts = None if allowed_hosts is None else frozenset(allowed_hosts)
        static_files = resources.files("dcsim.status") / "static"
        for path, (name, content_type) in _ASSETS.items():
            self.putChild(path, _Asset((static_files / name).read_bytes(), content_type))
        self.events = EventStream(registry, reactor, interval=interval, keepalive=keepalive)
        api = _Folder()
        api.putChild(b"snapshot", _Snapshot(registry))
        api.putChild(b"events", self.events)
        self.putChild(b"api", api)
        self.putChild(b"pcap", _Captures(registry))

    def render_GET(self, request: IRequest) -> bytes:
        """Mounted below another resource and asked without the trailing slash: add it,
        so the page's relative links (``status.js``, ``api/events``) resolve below it."""
        if not self._host_allowed(request):
            return _Refused().render(request)
        redirect: bytes = util.redirectTo(request.prePathURL() + b"/", request)
        return redirect

    def getChildWithDefault(self, path: bytes, request: IRequest) -> resource.Resource:
        if not self._host_allowed(request):
            return _Refused()
        child: resource.Resource = super().getChildWithDefault(path, request)
        return child

    def _host_allowed(self, request: IRequest) -> bool:
        if self.allowed_hosts is None:
            return True
        host = request.getRequestHostname().decode("ascii", "replace").lower()
        return host in self.allowed_hosts or _is_loopback(host)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def status_site(page: StatusPage) -> server.Site:
    site = server.Site(page)
    site.displayTracebacks = False
    site.noisy = False
    return site


def listen_status(
    registry: SessionRegistry, reactor: Any, listen: Listen, **options: Any
) -> tuple[IListeningPort, StatusPage]:
    """Serve the page for *registry* at *listen* (``tcp:127.0.0.1:8080``).

    On a loopback address only this machine's names are answered; elsewhere any Host.
    *options* go to :class:`StatusPage`. A port in use raises :class:`dcsim.cli.Failed`
    with one line naming the address and the setting to change.
    """
    if listen.transport != "tcp":
        raise UsageError(f"status.listen: the status page needs a tcp: address, not {listen}")
    options.setdefault("allowed_hosts", LOOPBACK_HOSTS if _is_loopback(listen.host) else None)
    page = StatusPage(registry, reactor, **options)
    try:
        port = reactor.listenTCP(listen.port, status_site(page), interface=listen.host)
    except CannotListenError as e:
        raise Failed(
            f"status page: cannot listen on {listen} ({e.socketError}); "
            "change status.listen in the settings"
        ) from None
    log.info("status page on http://{address}/", address=_url_host(port))
    return port, page


def _url_host(port: IListeningPort) -> str:
    address = port.getHost()
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"{host}:{address.port}"
