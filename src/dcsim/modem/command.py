"""``dcsim modem``: fake Hayes modems on TCP, a pty or a serial port."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IProtocolFactory

from dcsim.address import listen_argument
from dcsim.cli import Failed, UsageError, open_append
from dcsim.config import ConfigError
from dcsim.modem.answerers import builtin_answerers, known
from dcsim.modem.calllog import CallLog
from dcsim.modem.line import PhoneBook, find_profile, load_phonebook, load_profile
from dcsim.modem.protocol import ModemFactory, ModemSetup
from dcsim.modem.settings import ModemSettings
from dcsim.modem.store import ProfileStore
from dcsim.service import serve
from dcsim.settings import Settings

_TCP_ONLY = partial(listen_argument, only="tcp", refusal="a modem listens on tcp only")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "modem",
        help="fake Hayes modems: AT commands, dialling, the telephone line and its faults",
        description="Run fake Hayes modems. Each TCP connection is a modem; --pty offers one "
        "on a pseudo-terminal for chat, minicom or an emulator; --serial drives a real "
        "serial port. Settings: the [modem] section.",
    )
    parser.add_argument(
        "--listen",
        action="append",
        type=_TCP_ONLY,
        metavar="tcp:HOST:PORT",
        help="accept modem connections here (repeatable; port 0 picks a free port)",
    )
    parser.add_argument("--pty", action="store_true", help="offer a modem on a new pty")
    parser.add_argument("--serial", metavar="DEVICE[:BAUD]", help="drive a real serial port")
    parser.add_argument("--line", metavar="PROFILE", help="line profile: jp, us, eu or a file")
    parser.add_argument("--phonebook", type=Path, metavar="FILE", help="phone book (TOML)")
    parser.add_argument("--call-log", type=Path, metavar="FILE", help="append calls (JSON lines)")
    parser.add_argument("--answerer", metavar="NAME", help="default answerer: echo, tcp:HOST:PORT")
    parser.set_defaults(run=run)


def _options(args: argparse.Namespace, settings: ModemSettings) -> ModemSettings:
    changes: dict[str, object] = {}
    if args.listen:
        changes["listen"] = list(args.listen)
    if args.pty:
        changes["pty"] = True
    if args.serial:
        changes.update(serial_options(args.serial))
    for name in ("line", "phonebook", "call_log", "answerer"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    return dataclasses.replace(settings, **changes)


def serial_options(text: str) -> dict[str, object]:
    """``DEVICE[:BAUD]`` as [modem] settings: serial, and baudrate when given."""
    device, sep, baud = text.rpartition(":")
    if sep and baud.isascii() and baud.isdigit():
        return {"serial": device, "baudrate": int(baud)}
    return {"serial": text}


def build_setup(
    settings: ModemSettings,
    reactor: object,
    answerers: Mapping[str, IProtocolFactory],
    call_log_sink: IO[str] | None = None,
) -> ModemSetup:
    """Everything the modems share, from settings; raises ConfigError for a bad file."""
    line = load_profile(find_profile(settings.line, settings.profiles))
    book = load_phonebook(settings.phonebook) if settings.phonebook else PhoneBook()
    source = str(settings.phonebook) if settings.phonebook else "[modem]"
    for key, name in book.answerers().items():
        if not known(name, answerers):
            raise ConfigError(source, key, _unknown_answerer(name, answerers))
    if not known(settings.answerer, answerers):
        raise ConfigError("[modem]", "answerer", _unknown_answerer(settings.answerer, answerers))
    store = ProfileStore(settings.profile_store) if settings.profile_store else None
    if store is not None:
        store.load()  # a broken file is reported now, not at the first connection
    return ModemSetup(
        line=line,
        book=book,
        answerers=answerers,
        clock=reactor,  # type: ignore[arg-type]
        call_log=CallLog(call_log_sink),
        store=store,
        default_answerer=settings.answerer,
        dte_rate=settings.dte_rate,
        unknown_commands=settings.unknown_commands,
    )


def _unknown_answerer(name: str, answerers: Mapping[str, IProtocolFactory]) -> str:
    choices = ", ".join([*sorted(answerers), "tcp:HOST:PORT"])
    return f'unknown answerer "{name}"; known: {choices}'


def run(args: argparse.Namespace, settings: Settings) -> int:
    from dcsim.reactor import global_reactor

    reactor = global_reactor()  # the real reactor, only at this edge

    modem = _options(args, settings.modem)
    return serve(ModemServer(modem, reactor), reactor)


def make_server(settings: Settings, reactor: Any) -> ModemServer:
    """``dcsim modem`` with *settings* (servers/modem.tac). When ``[modem]`` names no
    transport, the modem listens where ``dcsim up``'s does (``[dcnet] modem``)."""
    modem = settings.modem
    if not (modem.listen or modem.pty or modem.serial):
        modem = dataclasses.replace(modem, listen=settings.dcnet.modem)
    return ModemServer(modem, reactor)


class ModemServer:
    """The ``[modem]`` fake modems on this machine (a :class:`dcsim.service.Server`):
    TCP listeners, a pty, a serial port. The line profile, the phone book and the call
    log are read when it is built."""

    def __init__(self, modem: ModemSettings, reactor: Any) -> None:
        if not (modem.listen or modem.pty or modem.serial):
            raise UsageError("modem: give --listen, --pty or --serial (or set them in [modem])")
        self.settings = modem
        self.reactor = reactor
        self.setup = build_setup(modem, reactor, builtin_answerers(), open_call_log(modem.call_log))
        self.opened: list[Opened] = []

    def start(self) -> list[str]:
        self.opened = start(self.setup, self.settings, self.reactor)
        return [item.announcement for item in self.opened]

    def stop(self) -> None:
        for item in self.opened:
            close(item)
        self.opened = []
        # The call log stays open: calls still connected end after this, and are logged.


@dataclass(frozen=True)
class Opened:
    """One modem made available: how to reach it, and the object that closes it."""

    where: str  # tcp:HOST:PORT, a pty path or a serial device
    what: str  # "fake modem on a pty"...
    announcement: str  # the line `dcsim modem` prints
    handle: Any  # a listening port, a PtyPort or a serial port


def start(setup: ModemSetup, modem: ModemSettings, reactor: object) -> list[Opened]:
    """Open every transport the settings ask for (all or nothing)."""
    from dcsim.modem.transports import PtyPort, open_serial

    opened: list[Opened] = []
    try:
        for listen in modem.listen:
            try:
                port = reactor.listenTCP(  # type: ignore[attr-defined]
                    listen.port, ModemFactory(setup), interface=listen.host
                )
            except CannotListenError as e:
                raise Failed(
                    f"modem: cannot listen on {listen}: {e.socketError}; choose another "
                    "address with --listen or [modem] listen in a settings file"
                ) from None
            shown = dataclasses.replace(listen, port=port.getHost().port)
            line = f"(line {setup.line.name})"
            opened.append(
                Opened(str(shown), "fake modem", f"modem listening on {shown} {line}", port)
            )
        if modem.pty:
            pty = PtyPort(reactor)  # type: ignore[arg-type]
            pty.attach(setup.protocol(pty.path))
            line = f"(line {setup.line.name})"
            opened.append(
                Opened(pty.path, "fake modem on a pty", f"modem pty at {pty.path} {line}", pty)
            )
        if modem.serial:
            try:
                port, _lines = open_serial(
                    lambda set_dcd: setup.protocol(
                        modem.serial, dte_rate=modem.baudrate, set_dcd=set_dcd
                    ),
                    modem.serial,
                    modem.baudrate,
                    reactor,
                )
            except Exception as e:  # serial.SerialException, OSError: no such device
                raise Failed(f"modem: cannot open {modem.serial}: {e}") from None
            rate = f"{modem.baudrate} bit/s"
            opened.append(
                Opened(
                    modem.serial,
                    "fake modem on a serial port",
                    f"modem on serial port {modem.serial} at {rate}",
                    port,
                )
            )
    except Failed:
        for item in opened:
            close(item)
        raise
    return opened


def close(item: Opened) -> None:
    """Stop offering one modem: a listening port stops, a pty or serial port closes."""
    for name in ("stopListening", "close", "loseConnection"):
        method = getattr(item.handle, name, None)
        if method is not None:
            method()
            return


def open_call_log(path: Path | None) -> IO[str] | None:
    return None if path is None else open_append(path, "modem: cannot open call log")
