"""HTTP for the virtual Dreamcast: twisted.web's own client on the console's host.

``Agent`` connects through whatever endpoint it is given (plain TCP on the console's
virtual host, or TCP plus the console's SSL client), so no HTTP is written here; these
helpers only bound the wait and name what went wrong underneath.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet import error as e
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import Agent, ResponseDone, ResponseFailed
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IBodyProducer
from zope.interface import implementer

MAX_BODY = 65536  # the console keeps no more of an answer than this


@implementer(IBodyProducer)
class _Body:
    """A request body written at once (twisted.web's FileBodyProducer would need the
    global reactor's cooperator)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


@implementer(IAgentEndpointFactory)
class _Fixed:
    """Every request goes to one endpoint: the address the console's DNS gave."""

    def __init__(self, endpoint: IStreamClientEndpoint) -> None:
        self.endpoint = endpoint

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        return self.endpoint


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


@dataclass(frozen=True)
class NoAnswer:
    failure: Failure


def fetch(
    reactor: Any,
    endpoint: IStreamClientEndpoint,
    method: bytes,
    url: str,
    headers: dict[bytes, bytes],
    body: bytes | None,
    timeout: float,
) -> defer.Deferred[Any]:
    """Fires with an :class:`Answer`, or a :class:`NoAnswer` holding the failure (never
    errbacks). After *timeout* seconds the request is cancelled (``CancelledError``)."""
    agent = Agent.usingEndpointFactory(reactor, _Fixed(endpoint))
    requested = agent.request(
        method,
        url.encode(),
        Headers({k: [v] for k, v in headers.items()}),
        _Body(body) if body is not None else None,
    )
    timer = reactor.callLater(timeout, requested.cancel)

    def got_response(response: Any) -> defer.Deferred[Any]:
        body: defer.Deferred[bytes] = defer.Deferred()
        response.deliverBody(_Collect(body))
        return body.addCallback(lambda data: Answer(response.code, data))

    def done(result: Any) -> Answer | NoAnswer:
        if timer.active():
            timer.cancel()
        return NoAnswer(result) if isinstance(result, Failure) else result

    return requested.addCallback(got_response).addBoth(done)


class _Collect(Protocol):
    """A response body, kept up to :data:`MAX_BODY` bytes."""

    def __init__(self, done: defer.Deferred[bytes]) -> None:
        self.done = done
        self.data = bytearray()

    def dataReceived(self, data: bytes) -> None:
        room = MAX_BODY - len(self.data)
        if room > 0:
            self.data += data[:room]

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(bytes(self.data))
        else:
            self.done.errback(reason)


def error_name(failure: Failure, connected: bool) -> str:
    """A short name for what went wrong under HTTP."""
    value = failure.value
    if isinstance(value, ResponseFailed) and value.reasons:
        value = value.reasons[0].value
    if isinstance(value, defer.CancelledError):
        return "stalled" if connected else "timed out"
    if isinstance(value, e.ConnectionRefusedError):
        return "refused"
    if isinstance(value, e.TCPTimedOutError | e.TimeoutError):
        return "timed out"
    if isinstance(value, e.NoRouteError):
        return "unreachable"
    if isinstance(value, e.ConnectionLost):
        return "reset"
    if isinstance(value, e.ConnectionDone):
        return "closed"
    return type(value).__name__
