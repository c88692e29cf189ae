"""``dcsim up``: the revival world on real sockets, with one command and no root."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import IO, Any

from twisted.internet.defer import Deferred

from dcsim.cli import Failed
from dcsim.dcnet.command import add_session_log_option, open_session_log
from dcsim.dcnet.sessionlog import SessionLog
from dcsim.service import serve
from dcsim.settings import Settings
from dcsim.up.system import Dcsim, Endpoint


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "up",
        help="run everything: DCNet front ends, fake modems, DNS, licence check, PSO, status page",
        description="Run the revival world: Flycast's DCNet front ends and fake Hayes modems "
        "put consoles on dcsim's virtual internet, where every PSO, licence and Dreamcast "
        "name points at dcsim's own DNS, licence server and PSO login server; the same "
        "services listen on this machine too, and a status page shows every session. "
        "Every address comes from the settings (dcsim config defaults lists them).",
    )
    parser.add_argument(
        "--pty", action="store_true", help="also offer a fake modem on a new pseudo-terminal"
    )
    parser.add_argument(
        "--serial", metavar="DEVICE[:BAUD]", help="also drive a real serial port as a fake modem"
    )
    parser.add_argument(
        "--call-log", type=Path, metavar="FILE", help="append every modem call (JSON lines)"
    )
    add_session_log_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from dcsim.reactor import global_reactor

    reactor = global_reactor()  # the real reactor, only at this edge

    settings = with_options(
        settings,
        pty=args.pty,
        serial=args.serial,
        call_log=args.call_log,
        session_log=args.session_log,
    )
    return serve(UpServer(settings, reactor), reactor)


def with_options(
    settings: Settings,
    *,
    pty: bool = False,
    serial: str | None = None,
    call_log: Path | None = None,
    session_log: Path | None = None,
) -> Settings:
    """*settings* with ``dcsim up``'s options (``--pty``, ``--serial``, ``--call-log``,
    ``--session-log``)."""
    from dcsim.modem.command import serial_options

    modem = settings.modem
    if pty:
        modem = dataclasses.replace(modem, pty=True)
    if serial:
        modem = dataclasses.replace(modem, **serial_options(serial))  # type: ignore[arg-type]
    if call_log:
        modem = dataclasses.replace(modem, call_log=call_log)
    dcnet = settings.dcnet
    if session_log:
        dcnet = dataclasses.replace(dcnet, session_log=session_log)
    return dataclasses.replace(settings, modem=modem, dcnet=dcnet)


def make_server(settings: Settings, reactor: Any) -> UpServer:
    """``dcsim up`` with *settings* (the twistd plugin, servers/up.tac)."""
    return UpServer(settings, reactor)


class UpServer:
    """Everything (:class:`~dcsim.up.system.Dcsim`) as a :class:`dcsim.service.Server`:
    starting tells what listens and how to point Flycast at it."""

    def __init__(self, settings: Settings, reactor: Any) -> None:
        from dcsim.modem.command import open_call_log

        self.settings = settings
        self.system = build(
            settings,
            reactor,
            open_call_log(settings.modem.call_log),
            open_session_log(settings.dcnet.session_log),
        )

    def start(self) -> list[str]:
        return banner(self.system.start(), self.settings).splitlines()

    def stop(self) -> Deferred[Any]:
        return self.system.stop()


def build(
    settings: Settings,
    reactor: object,
    call_log: IO[str] | None = None,
    session_log: SessionLog | None = None,
) -> Dcsim:
    """The system, with a broken database, certificate or store as one :class:`Failed`."""
    from dcsim.auth.accounts import AccountsError
    from dcsim.pso.store import StoreError
    from dcsim.tls.certs import CertificateError

    try:
        return Dcsim(settings, reactor, call_log=call_log, session_log=session_log)
    except (AccountsError, StoreError, CertificateError) as e:
        raise Failed(str(e)) from None
    except OSError as e:
        raise Failed(f"cannot prepare {e.filename or 'the data directory'}: {e.strerror}") from None


def banner(endpoints: list[Endpoint], settings: Settings) -> str:
    """What is listening, and exactly how to point Flycast at it."""
    width = max(len(e.what) for e in endpoints)
    lines = ["dcsim is up. Listening:"]
    lines += [f"  {e.what:<{width}}  {e.where}" for e in endpoints]
    ppp = settings.dcnet.ppp[0].host if settings.dcnet.ppp else "127.0.0.1"
    server = "THIS-MACHINE'S-ADDRESS" if ppp in ("0.0.0.0", "::") else ppp
    lines += [
        "",
        "Point Flycast (2.5 or later, DCNet) at it:",
        f"  flycast -config network:DCNet=yes,network:EmulateBBA=no,network:DCNetServer={server}"
        " GAME",
        "or put these under [network] in emu.cfg:",
        "  DCNet = yes",
        "  EmulateBBA = no        (yes for broadband-adapter games)",
        f"  DCNetServer = {server}",
        "",
        "Ctrl-C hangs every session up properly and stops dcsim.",
        "",
    ]
    return "\n".join(lines)
