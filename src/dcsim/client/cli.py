"""``dcsim dial`` (the virtual Dreamcast against a running dcsim, or in a simulated world)
and ``dcsim check`` (judge a client, from the fake modem's call log or the DCNet session
log)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from twisted.internet.error import ConnectionLost
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from dcsim.address import listen_argument
from dcsim.cli import EXIT_FAILED, EXIT_OK, Failed, UsageError
from dcsim.client.check import SESSION_GAP, check, render
from dcsim.client.console import Console
from dcsim.client.discs import DISCS
from dcsim.client.logs import LogError, read_log
from dcsim.client.report import SessionReport
from dcsim.client.settings import ConsoleSettings
from dcsim.settings import Settings
from dcsim.tls.certs import CA_FILE, trust_roots
from dcsim.tls.connection import ChainCheck, accept_any_chain

log = Logger()


_TCP_ONLY = partial(listen_argument, only="tcp", refusal="the console connects over tcp")


def register(sub: argparse._SubParsersAction) -> None:
    _register_dial(sub)
    parser = sub.add_parser(
        "check",
        help="judge a client against Sega's rules, from a modem call log or a DCNet session log",
        description="Read the fake modem's call log (`dcsim modem --call-log`) or the DCNet "
        "session log (`dcsim dcnet --session-log`, `dcsim up --session-log`), JSON lines, "
        "and judge each modem's or each DCNet peer's client against Sega's rules: redial "
        "interval, giving up in time, numbers in order, tone/pulse honoured, hang-up on "
        "reset, idle disconnect (what cannot be judged over DCNet is reported as not "
        "applicable). The rule values are the [client.rules] settings. Exit 1 if a rule "
        "is broken.",
    )
    parser.add_argument(
        "call_log", type=Path, metavar="LOG", help="a call log or a DCNet session log (or both)"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per modem or DCNet peer"
    )
    parser.add_argument(
        "--session-gap",
        type=float,
        default=SESSION_GAP,
        metavar="SECONDS",
        help=f"a pause longer than this starts a new dialling run (default {SESSION_GAP:g})",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.session_gap <= 0:
        raise UsageError("--session-gap must be positive")
    try:
        records = read_log(args.call_log)
    except LogError as e:
        raise UsageError(str(e)) from None
    if not records:
        raise UsageError(f"{args.call_log}: no calls or sessions in the log")
    reports = check(records, settings.client.rules, session_gap=args.session_gap)
    if args.json:
        for report in reports:
            print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(render(reports))
    return EXIT_OK if all(r.passed for r in reports) else EXIT_FAILED


# --- dcsim dial ----------------------------------------------------------------------------


def _register_dial(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "dial",
        help="run the virtual Dreamcast: dial, PPP, DNS, licence check, PSO login, lobby",
        description="Run one session of the virtual Dreamcast ([client.console] settings) "
        "and report every step with its time, and a failure as one of Sega's causes. "
        "--modem dials through a running fake modem (dcsim modem --listen, with the PPP "
        "answerer); --dcnet speaks PPP straight to a DCNet port (7654); --dcnet-ethernet is "
        "the broadband adapter on DCNet's Ethernet port (7655: ARP, DHCP, IP); --virtual "
        "runs it in virtual time in a world of dcsim's own servers. Exit 1 if the session "
        "failed.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--modem", type=_TCP_ONLY, metavar="tcp:HOST:PORT")
    where.add_argument(
        "--pty", metavar="DEVICE", help="the console's serial line: a fake modem's pty"
    )
    where.add_argument("--dcnet", type=_TCP_ONLY, metavar="tcp:HOST:PORT")
    where.add_argument(
        "--dcnet-ethernet",
        type=_TCP_ONLY,
        metavar="tcp:HOST:PORT",
        help="the broadband adapter on DCNet's Ethernet port",
    )
    where.add_argument(
        "--virtual",
        choices=("dialup", "dcnet", "dcnet-ethernet", "broadband"),
        help="in virtual time, on this kind of line into the revival world",
    )
    parser.add_argument("--disc", choices=sorted(DISCS), help="the PSO disc")
    parser.add_argument(
        "--number", action="append", metavar="DIGITS", help="an access number (repeatable)"
    )
    parser.add_argument(
        "--dns", action="append", type=_ipv4, metavar="ADDRESS", help="a stored DNS server"
    )
    parser.add_argument("--lobby-time", type=float, metavar="SECONDS", help="time in the lobby")
    parser.add_argument("--json", action="store_true", help="the report as one JSON object")
    parser.set_defaults(run=_dial)


def _ipv4(text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None


def _console_settings(args: argparse.Namespace, settings: Settings) -> ConsoleSettings:
    console = settings.client.console
    changes: dict[str, object] = {}
    if args.disc:
        changes["disc"] = args.disc
    if args.number:
        changes["numbers"] = list(args.number)
    if args.dns:
        changes["dns"] = list(args.dns)
    if args.lobby_time is not None:
        if args.lobby_time < 0:
            raise UsageError("--lobby-time must not be negative")
        changes["lobby_time"] = args.lobby_time
    ethernet = args.dcnet_ethernet or args.virtual in ("broadband", "dcnet-ethernet")
    changes["link"] = "bba" if ethernet else "modem"
    try:
        return replace(console, **changes)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _dial(args: argparse.Namespace, settings: Settings) -> int:
    console = _console_settings(args, settings)
    if args.virtual:
        report = _dial_virtual(args.virtual, console, settings)
    else:
        report = _dial_real(args, console, settings)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(report.render())
    return EXIT_OK if report.ok and report.reached_lobby else EXIT_FAILED


def _dial_virtual(kind: str, console: ConsoleSettings, settings: Settings) -> SessionReport:
    import tempfile

    from dcsim.client.revival import revival_world
    from dcsim.net.clock import run as run_clock

    with tempfile.TemporaryDirectory(prefix="dcsim-dial-") as tmp:
        world = revival_world(kind, console, Path(tmp))
        host = world.console_host
        assert host is not None
        machine = Console(console, host, rules=settings.client.rules, check_chain=world.trust)
        box: list[object] = []
        world.run_console(machine).addBoth(box.append)
        run_clock(world.clock, 6 * 3600, until=lambda: bool(box))
        world.close()
    if not box:
        raise Failed("the virtual Dreamcast did not finish in six virtual hours")
    result = box[0]
    if isinstance(result, Failure):
        result.raiseException()
    assert isinstance(result, SessionReport)
    return result


def _dial_real(
    args: argparse.Namespace, console: ConsoleSettings, settings: Settings
) -> SessionReport:
    from dcsim.reactor import global_reactor

    reactor = global_reactor()  # the real reactor, only at this edge

    from dcsim.net.network import Network

    target = args.modem or args.dcnet or args.dcnet_ethernet
    host = Network(reactor, seed=0).add_host("console")  # type: ignore[arg-type]
    machine = Console(
        console, host, rules=settings.client.rules, check_chain=_trust(settings.data_path)
    )

    def attach(protocol: Protocol) -> None:
        if args.pty:
            _open_pty(protocol, args.pty, reactor)
            return

        def failed(reason: Failure) -> None:
            text = f"cannot reach {target}: {reason.getErrorMessage()}"
            if args.modem:
                protocol.connectionLost(Failure(ConnectionLost(text)))
            else:
                machine.link_failed(text)

        reactor.connectTCP(target.host, target.port, _Once(protocol, failed), timeout=30)  # type: ignore[attr-defined]

    box: list[object] = []
    if args.dcnet:
        started = machine.run_ppp(attach)
    elif args.dcnet_ethernet:
        started = machine.run_bba(attach)
    else:
        started = machine.run_modem(attach)
    started.addBoth(box.append).addBoth(lambda _: reactor.stop())  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    result = box[0]
    if isinstance(result, Failure):
        result.raiseException()
    assert isinstance(result, SessionReport)
    return result


def _open_pty(protocol: Protocol, device: str, reactor: object) -> None:
    """The console's serial line on *device* (a fake modem's pty, or a real port)."""
    from twisted.internet.serialport import SerialPort

    try:
        SerialPort(protocol, device, reactor, baudrate=115200)
    except OSError as e:  # pyserial's SerialException is an OSError
        protocol.connectionLost(Failure(ConnectionLost(f"cannot open {device}: {e}")))


class _Once(ClientFactory):
    """Connect one given protocol; tell *failed* if the connection cannot be made."""

    noisy = False

    def __init__(self, protocol: Protocol, failed: Callable[[Failure], None]) -> None:
        self.instance = protocol
        self.failed = failed

    def buildProtocol(self, addr: object) -> Protocol:
        return self.instance

    def clientConnectionFailed(self, connector: object, reason: Failure) -> None:
        self.failed(reason)


def _trust(data_dir: Path) -> ChainCheck:
    """The roots of a dcsim licence server sharing this data directory, if there is one;
    else (with a note in the log) any chain."""
    ca = data_dir / "tls" / CA_FILE
    if not ca.exists():
        log.info("no {ca}: the licence server's certificate will not be checked", ca=ca)
        return accept_any_chain
    return trust_roots([x509.load_pem_x509_certificate(ca.read_bytes())])
