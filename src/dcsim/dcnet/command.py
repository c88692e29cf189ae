"""``dcsim dcnet``: Flycast's DCNet front ends on this machine's sockets.

Consoles that connect (PPP on 7654/7656, Ethernet on 7655, or a call to the optional fake
modem) are put on a small virtual internet: the NAS of the ``[ppp]`` section with, behind
it, the DNS servers it hands out, serving the ``[dns]`` zones.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from dcsim.address import listen_argument
from dcsim.cli import EXIT_OK, Failed, UsageError, open_append
from dcsim.dcnet.frontends import DcnetFrontEnds
from dcsim.dcnet.internet import build_internet
from dcsim.dcnet.sessionlog import SessionLog
from dcsim.dcnet.settings import DcnetSettings
from dcsim.settings import Settings

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


def open_session_log(args: argparse.Namespace, settings: DcnetSettings) -> SessionLog | None:
    """The session log the option or the setting names, opened for appending."""
    path = args.session_log or settings.session_log
    if path is None:
        return None
    return SessionLog(open_append(path, "dcnet: cannot open session log"))


def _dcnet(args: argparse.Namespace, settings: DcnetSettings) -> DcnetSettings:
    changes = {
        name: getattr(args, name)
        for name in ("ppp", "ppp_7656", "ethernet", "probe", "modem")
        if getattr(args, name)
    }
    try:
        return dataclasses.replace(settings, **changes)
    except ValueError as e:
        raise UsageError(f"dcnet: {e}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from twisted.internet import reactor  # the real reactor, only at this edge

    from dcsim.dns.command import load as load_zones

    dcnet = _dcnet(args, settings.dcnet)
    ppp = settings.ppp
    if args.pcap:
        ppp = dataclasses.replace(ppp, capture_dir=Path(args.pcap))
    session_log = open_session_log(args, dcnet)
    authority = load_zones(settings.dns)
    internet = build_internet(reactor, settings, authority, real_reactor=reactor)
    front = DcnetFrontEnds(reactor, internet.nas, ppp, dcnet, session_log=session_log)
    try:
        listening = front.listen()
    except CannotListenError as e:
        raise Failed(f"dcnet: cannot listen on {e.interface}:{e.port}: {e.socketError}") from None
    for item in listening:
        print(f"dcnet {item.what} on {item.address}", flush=True)
    if dcnet.modem:
        _start_modems(settings, dcnet, front, reactor)
    if not listening and not dcnet.modem:
        raise UsageError("dcnet: nothing to listen on (every address list is empty)")
    log.info(
        "consoles get {pool} via {nas} ({name}), DNS {dns}",
        pool=str(internet.nas.pool),
        nas=str(internet.nas.address),
        name=internet.nas.name,
        dns=", ".join(str(a) for a in ppp.dns),
    )
    reactor.addSystemEventTrigger("before", "shutdown", front.stop)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    return EXIT_OK


def _start_modems(
    settings: Settings, dcnet: DcnetSettings, front: DcnetFrontEnds, reactor: object
) -> None:
    from dcsim.modem.answerers import builtin_answerers
    from dcsim.modem.command import build_setup, start

    modem = dataclasses.replace(
        settings.modem, listen=dcnet.modem, pty=False, serial="", answerer="ppp"
    )
    answerers = {**builtin_answerers(), "ppp": front.ppp}
    setup = build_setup(modem, reactor, answerers)
    for item in start(setup, modem, reactor):
        print(item.announcement, flush=True)
