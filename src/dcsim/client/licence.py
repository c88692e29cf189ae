"""The Hunter's License check as the disc makes it: HTTPS ``POST /cgi-bin/auth.cgi``.

Nothing here speaks a protocol of its own: TCP is the console host's (a virtual host of
the simulated internet), SSL is :mod:`dcsim.tls`'s client core with the console's hello,
HTTP is twisted.web's own client (``Agent`` on an endpoint that connects through the TLS
wrapper). What comes back is turned into the cause the title shows: a 403 or a ``cause=6``
body is an authentication failure (6), 402 or ``cause=7`` a billing error (7), anything
else that is not 200, or no answer, the server being down (4).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from zope.interface import implementer

from dcsim.causes import Cause
from dcsim.client.discs import LICENCE_PATH
from dcsim.client.http import Answer, NoAnswer, error_name, fetch
from dcsim.client.report import HttpEvidence, TcpEvidence, TlsEvidence
from dcsim.tls.connection import AlertReceived, ChainCheck, Closed, HandshakeComplete
from dcsim.tls.profiles import ClientProfile
from dcsim.tls.protocol import TlsClientFactory, TlsProtocol

FORM = b"application/x-www-form-urlencoded"


@dataclass(frozen=True)
class LicenceResult:
    """What the check established; ``cause`` is None when the licence was accepted."""

    cause: Cause | None
    detail: str
    tcp: TcpEvidence
    tls: TlsEvidence
    http: HttpEvidence


class _Watch:
    """What the TLS and TCP layers said during one check."""

    def __init__(self) -> None:
        self.connected = False
        self.handshake: HandshakeComplete | None = None
        self.alert: str | None = None
        self.error: str | None = None
        self.protocol: TlsProtocol | None = None

    def tls_event(self, protocol: TlsProtocol, event: object) -> None:
        self.protocol = protocol
        if isinstance(event, HandshakeComplete):
            self.handshake = event
        elif isinstance(event, AlertReceived):
            description = event.description
            self.alert = getattr(description, "name", str(description)).lower()
        elif isinstance(event, Closed) and event.error is not None:
            self.error = str(event.error)
            if self.alert is None:
                self.alert = event.error.alert.name.lower()


@implementer(IStreamClientEndpoint)
class _TlsEndpoint:
    """TCP to *address*:*port* on *reactor*, then the TLS client; fires with the wrapped
    (HTTP) protocol."""

    def __init__(
        self,
        reactor: Any,
        address: str,
        port: int,
        tls: dict[str, Any],
        watch: _Watch,
        timeout: float,
    ) -> None:
        self.reactor = reactor
        self.address = address
        self.port = port
        self.tls = tls
        self.watch = watch
        self.timeout = timeout

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        watch = self.watch
        wrapper = TlsClientFactory(
            factory, reactor=self.reactor, on_event=watch.tls_event, **self.tls
        )
        tcp = TCP4ClientEndpoint(self.reactor, self.address, self.port, timeout=self.timeout)

        def made(protocol: TlsProtocol) -> Any:
            watch.connected = True
            watch.protocol = protocol
            return protocol.wrappedProtocol

        return tcp.connect(wrapper).addCallback(made)


def check_licence(
    reactor: Any,
    address: str,
    port: int,
    host_name: str,
    form: dict[str, str],
    *,
    profile: ClientProfile,
    check_chain: ChainCheck,
    rng: random.Random,
    timeout: float,
) -> defer.Deferred[LicenceResult]:
    """POST *form* to https://*host_name*/cgi-bin/auth.cgi at *address*:*port*; never fails:
    the result says what happened."""
    watch = _Watch()
    tls = {"profile": profile, "rng": rng, "check_chain": check_chain}
    endpoint = _TlsEndpoint(reactor, address, port, tls, watch, timeout)
    headers = {b"host": host_name.encode(), b"content-type": FORM}
    url = f"https://{host_name}{LICENCE_PATH}"
    answer = fetch(reactor, endpoint, b"POST", url, headers, urlencode(form).encode(), timeout)

    def finish(outcome: Answer | NoAnswer) -> LicenceResult:
        if watch.protocol is not None and watch.protocol.transport is not None:
            watch.protocol.loseConnection()
        return _conclude(outcome, watch, address, port)

    return answer.addCallback(finish)


def _conclude(outcome: Answer | NoAnswer, watch: _Watch, address: str, port: int) -> LicenceResult:
    tls = TlsEvidence(
        handshake=watch.handshake is not None,
        suite=watch.handshake.description if watch.handshake is not None else None,
        alert=watch.alert,
        detail=watch.error or "",
    )
    if isinstance(outcome, Answer):
        status, text = outcome.status, outcome.body.decode("latin-1", "replace")
        http = HttpEvidence(status, text[:200])
        tcp = TcpEvidence(address, port, True)
        cause = _cause(status, text)
        detail = f"HTTP {status}" + (f": {text.strip()[:80]}" if text.strip() else "")
        return LicenceResult(cause, detail, tcp, tls, http)
    error = error_name(outcome.failure, watch.connected)
    tcp = TcpEvidence(address, port, watch.connected, error)
    if not watch.connected:
        detail = f"TCP to {address}:{port}: {error}"
    elif watch.handshake is None:
        detail = f"SSL handshake with {address}:{port}: " + (
            watch.error or f"no progress ({error})"
        )
    else:
        detail = f"HTTPS to {address}:{port} after {tls.suite}: {error}"
    return LicenceResult(Cause.SERVER_DOWN, detail, tcp, tls, HttpEvidence(None))


def _cause(status: int, body: str) -> Cause | None:
    fields = dict(
        line.split("=", 1) for line in body.replace("&", "\n").splitlines() if "=" in line
    )
    told = fields.get("cause", "").strip()
    if told.isdigit() and int(told) in Cause._value2member_map_:
        return Cause(int(told))
    if status == 200:
        return None
    if status == 403:
        return Cause.AUTHENTICATION_FAILURE
    if status == 402:
        return Cause.BILLING_AUTHENTICATION_ERROR
    return Cause.SERVER_DOWN
