"""A download before the game: remedy 7 of the players' letter (seed 000), "DC can be
patched in memory by a download as long as it is not switched off": before starting PSO
the console fetches a Sega-designated page over plain HTTP and applies the login address
it carries. The fetch is an ordinary HTTP GET from the console's host, so it meets every
obstacle of the console's path (its DNS, its MSS, the server side's black hole).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint

from dcsim.client.http import Answer, NoAnswer, error_name, fetch
from dcsim.client.report import TcpEvidence


@dataclass(frozen=True)
class Download:
    body: str
    error: str | None
    tcp: TcpEvidence


class _Watched(TCP4ClientEndpoint):
    connected = False

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        def made(protocol: Any) -> Any:
            self.connected = True
            return protocol

        return super().connect(factory).addCallback(made)


def download(
    reactor: Any, address: str, port: int, host_name: str, path: str, *, timeout: float
) -> defer.Deferred[Download]:
    """GET http://*host_name*/*path* from *address*:*port*; never fails."""
    endpoint = _Watched(reactor, address, port, timeout=timeout)
    url = f"http://{host_name}{path}"
    answer = fetch(reactor, endpoint, b"GET", url, {b"host": host_name.encode()}, None, timeout)

    def finish(outcome: Answer | NoAnswer) -> Download:
        if isinstance(outcome, Answer):
            tcp = TcpEvidence(address, port, True)
            if outcome.status != 200:
                return Download("", f"HTTP {outcome.status}", tcp)
            return Download(outcome.body.decode("latin-1", "replace"), None, tcp)
        error = error_name(outcome.failure, endpoint.connected)
        tcp = TcpEvidence(address, port, endpoint.connected, error)
        return Download("", f"HTTP from {address}:{port}: {error}", tcp)

    return answer.addCallback(finish)
