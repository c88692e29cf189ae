"""``dcsim dcnet``: Flycast's DCNet front ends on this machine's sockets.

Consoles that connect (PPP on 7654/7656, Ethernet on 7655, or a call to the optional fake
modem) are put on a small virtual internet: the NAS of the ``[ppp]`` section with, behind
it, the DNS servers it hands out, serving the ``[dns]`` zones.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from dcsim.address import listen_argument
from dcsim.cli import Failed, UsageError, open_append
from dcsim.dcnet.frontends import DcnetFrontEnds
from dcsim.dcnet.internet import build_internet
from dcsim.dcnet.sessionlog import SessionLog
from dcsim.dcnet.settings import DcnetSettings
from dcsim.service import serve
from dcsim.settings import Settings

if TYPE_CHECKING:
    from dcsim.modem.command import Opened

log = Logger()


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "dcnet",
        help="Flycast's DCNet server: PPP on TCP 7654/7656, Ethernet on 7655, the UDP probe",
        description="Serve Flycast's DCNet protocols and put each console on a virtual "
        "internet (a NAS and the DNS servers it hands out). Point Flycast at it with "
        "-config network:DCNet=yes,network:DCNetServer=127.0.0.1. Every address option "
        "replaces the [dcnet] setting of the same name; repeat it for several addresses.",
    )
    for flag, dest, example in (
        ("--ppp", "ppp", "tcp:127.0.0.1:7654"),
        ("--ppp-7656", "ppp_7656", "tcp:127.0.0.1:7656"),
        ("--ethernet", "ethernet", "tcp:127.0.0.1:7655"),
        ("--probe", "probe", "udp:127.0.0.1:7655"),
        ("--modem", "modem", "tcp:127.0.0.1:2323"),
    ):
        parser.add_argument(
            flag,
            dest=dest,
            action="append",
            type=listen_argument,
            metavar="ADDRESS",
            help=f"e.g. {example}",
        )
    parser.add_argument(
        "--pcap", metavar="DIR", help="write one capture per session into DIR ([ppp] capture_dir)"
    )
    add_session_log_option(parser)
    parser.set_defaults(run=run)


def add_session_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--session-log",
        type=Path,
        metavar="FILE",
        help="append one JSON line per DCNet session ([dcnet] session_log); dcsim check reads it",
    )


def open_session_log(path: Path | None) -> SessionLog | None:
    """The ``[dcnet] session_log``, opened for appending."""
    if path is None:
        return None
    return SessionLog(open_append(path, "dcnet: cannot open session log"))


def _dcnet(args: argparse.Namespace, settings: DcnetSettings) -> DcnetSettings:
    changes = {
        name: getattr(args, name)
        for name in ("ppp", "ppp_7656", "ethernet", "probe", "modem", "session_log")
        if getattr(args, name)
    }
    try:
        return dataclasses.replace(settings, **changes)
    except ValueError as e:
        raise UsageError(f"dcnet: {e}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from dcsim.reactor import global_reactor

    reactor = global_reactor()  # the real reactor, only at this edge

    dcnet = _dcnet(args, settings.dcnet)
    ppp = settings.ppp
    if args.pcap:
        ppp = dataclasses.replace(ppp, capture_dir=Path(args.pcap))
    return serve(DcnetServer(dataclasses.replace(settings, dcnet=dcnet, ppp=ppp), reactor), reactor)


def make_server(settings: Settings, reactor: Any) -> DcnetServer:
    """``dcsim dcnet`` with *settings* (servers/dcnet.tac)."""
    return DcnetServer(settings, reactor)


class DcnetServer:
    """Flycast's DCNet front ends (and the ``[dcnet] modem`` fake modems) on this
    machine's sockets, in front of the ``[net]`` topology with DNS on it (a
    :class:`dcsim.service.Server`)."""

    def __init__(self, settings: Settings, reactor: Any) -> None:
        from dcsim.dns.command import load as load_zones

        self.settings = settings
        self.reactor = reactor
        dcnet = settings.dcnet
        if not (dcnet.ppp or dcnet.ppp_7656 or dcnet.ethernet or dcnet.probe or dcnet.modem):
            raise UsageError("dcnet: nothing to listen on (every address list is empty)")
        authority = load_zones(settings.dns)
        self.internet = build_internet(reactor, settings, authority, real_reactor=reactor)
        session_log = open_session_log(dcnet.session_log)
        self.front = DcnetFrontEnds(
            reactor, self.internet.nas, settings.ppp, dcnet, session_log=session_log
        )
        self.modems: list[Opened] = []

    def start(self) -> list[str]:
        try:
            listening = self.front.listen()
        except CannotListenError as e:
            raise Failed(
                f"dcnet: cannot listen on {e.interface}:{e.port}: {e.socketError}"
            ) from None
        lines = [f"dcnet {item.what} on {item.address}" for item in listening]
        if self.settings.dcnet.modem:
            try:
                self.modems = _start_modems(self.settings, self.front, self.reactor)
            except Failed:
                self.front.stop()
                raise
            lines += [item.announcement for item in self.modems]
        nas = self.internet.nas
        log.info(
            "consoles get {pool} via {nas} ({name}), DNS {dns}",
            pool=str(nas.pool),
            nas=str(nas.address),
            name=nas.name,
            dns=", ".join(str(a) for a in self.settings.ppp.dns),
        )
        return lines

    def stop(self) -> Deferred[Any]:
        from dcsim.modem.command import close

        for item in self.modems:
            close(item)
        self.modems = []
        return self.front.stop()


def _start_modems(settings: Settings, front: DcnetFrontEnds, reactor: object) -> list[Opened]:
    from dcsim.modem.answerers import builtin_answerers
    from dcsim.modem.command import build_setup, start

    modem = dataclasses.replace(
        settings.modem, listen=settings.dcnet.modem, pty=False, serial="", answerer="ppp"
    )
    answerers = {**builtin_answerers(), "ppp": front.ppp}
    setup = build_setup(modem, reactor, answerers)
    return start(setup, modem, reactor)
