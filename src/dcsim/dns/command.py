"""``dcsim dns``: serve the zones on this machine's sockets (authoritative only).

On real sockets dcsim never recurses for anyone, so it can never be an open resolver;
the ISP resolver exists only on the virtual internet.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from dcsim.address import listen_argument
from dcsim.cli import EXIT_OK, Failed, UsageError
from dcsim.config import ConfigError
from dcsim.dns import names
from dcsim.dns.authority import Authority
from dcsim.dns.settings import DnsSettings
from dcsim.dns.zonefile import ZoneFileError
from dcsim.service import serve
from dcsim.settings import Settings

log = Logger()

T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "dns",
        help="serve DNS zones (authoritative, never recursive) on this machine",
        description="Serve the zone files of a directory over UDP and TCP. "
        "Knobs (foreign names, EDNS, TCP, AXFR, revival address) are in the [dns] settings.",
    )
    parser.add_argument(
        "--listen",
        action="append",
        type=listen_argument,
        metavar="TRANSPORT:HOST:PORT",
        help="where to listen, e.g. udp:127.0.0.1:5353 (repeat; default: [dns] listen)",
    )
    parser.add_argument(
        "--zones", type=Path, metavar="DIR", help="zone directory (default: [dns] zones)"
    )
    parser.add_argument(
        "--check", action="store_true", help="load the zones, list them and exit (no serving)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    dns: DnsSettings = settings.dns
    if args.zones is not None:
        dns = dataclasses.replace(dns, zones=args.zones)
    if args.listen:
        dns = dataclasses.replace(dns, listen=args.listen)
    source = str(args.config or "settings")
    if args.check:
        for zone in load(dns, source).zones:
            print(f"{names.to_text(zone.origin)}\t{len(zone.nodes)} names\t{zone.source}")
        return EXIT_OK
    from dcsim.reactor import global_reactor

    reactor = global_reactor()  # the real reactor, only at this edge

    return serve(ZoneServer(dns, reactor, source), reactor, announce=_log_line)


def make_server(settings: Settings, reactor: Any) -> ZoneServer:
    """``dcsim dns`` with *settings* (servers/dns.tac)."""
    return ZoneServer(settings.dns, reactor)


def _log_line(line: str) -> None:
    log.info("{line}", line=line)


class ZoneServer:
    """The ``[dns]`` zones on this machine's sockets (a :class:`dcsim.service.Server`).
    The zones are loaded when it is built: a broken zone file is a usage error then."""

    def __init__(self, dns: DnsSettings, reactor: Any, source: str = "settings") -> None:
        self.settings = dns
        self.server = _checked(lambda: dns.serve(reactor, listen=[]), source)

    def start(self) -> list[str]:
        dns = self.settings
        try:
            dns.open(self.server, dns.listen)
        except CannotListenError as e:
            self.server.stop()
            raise Failed(f"cannot listen on {e.interface}:{e.port}: {e.socketError}") from None
        listening = self.server.listening
        serving = [f"{a.transport}:{p.getHost().host}:{p.getHost().port}" for a, p in listening]
        if not serving:
            raise UsageError("nothing to listen on: give --listen udp:HOST:PORT")
        if dns.transport == "udp":
            log.info("not listening on TCP: transport = udp")
            if dns.tcp_closed == "drop":
                log.warn("tcp_closed = drop cannot be done on real sockets: the kernel resets")
        zones = len(self.server.controller.authority.zones)
        return [f"serving {zones} zones from {dns.zones} on {', '.join(serving)}"]

    def stop(self) -> Deferred[Any]:
        return self.server.stop()


def load(dns: DnsSettings, source: str = "settings") -> Authority:
    """The answerer for *dns*; a zone or settings problem is a one-line usage error."""
    return _checked(dns.authority, source)


def _checked(make: Callable[[], T], source: str) -> T:
    """*make()*, with a zone file or settings problem turned into a one-line usage error."""
    try:
        return make()
    except ZoneFileError as e:
        raise UsageError(str(e)) from None
    except ValueError as e:
        raise ConfigError(source, "dns", str(e)) from None
