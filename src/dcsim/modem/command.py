"""``dcsim modem``: fake Hayes modems on TCP, a pty or a serial port."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from twisted.internet.interfaces import IProtocolFactory

from dcsim.address import Listen
from dcsim.cli import EXIT_OK, Failed, UsageError
from dcsim.config import ConfigError
from dcsim.modem.answerers import builtin_answerers, known
from dcsim.modem.calllog import CallLog
from dcsim.modem.line import PhoneBook, find_profile, load_phonebook, load_profile
from dcsim.modem.protocol import ModemFactory, ModemSetup
from dcsim.modem.settings import ModemSettings
from dcsim.modem.store import ProfileStore
from dcsim.settings import Settings


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
        type=_listen,
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


def _listen(text: str) -> Listen:
    try:
        listen = Listen.from_text(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if listen.transport != "tcp":
        raise argparse.ArgumentTypeError("a modem listens on tcp only")
    return listen


def _options(args: argparse.Namespace, settings: ModemSettings) -> ModemSettings:
    changes: dict[str, object] = {}
    if args.listen:
        changes["listen"] = list(args.listen)
    if args.pty:
        changes["pty"] = True
    if args.serial:
        device, sep, baud = args.serial.rpartition(":")
        if sep and baud.isascii() and baud.isdigit():
            changes["serial"], changes["baudrate"] = device, int(baud)
        else:
            changes["serial"] = args.serial
    for name in ("line", "phonebook", "call_log", "answerer"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    return dataclasses.replace(settings, **changes)


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
    from twisted.internet import reactor

    modem = _options(args, settings.modem)
    if not (modem.listen or modem.pty or modem.serial):
        raise UsageError("modem: give --listen, --pty or --serial (or set them in [modem])")
    sink = _open_log(modem.call_log)
    setup = build_setup(modem, reactor, builtin_answerers(), sink)
    start(setup, modem, reactor)
    reactor.run()  # type: ignore[attr-defined]
    return EXIT_OK


def start(setup: ModemSetup, modem: ModemSettings, reactor: object) -> list[object]:
    """Open every transport the settings ask for; print where each modem is."""
    from dcsim.modem.transports import PtyPort, open_serial

    opened: list[object] = []
    for listen in modem.listen:
        try:
            port = reactor.listenTCP(  # type: ignore[attr-defined]
                listen.port, ModemFactory(setup), interface=listen.host
            )
        except Exception as e:  # CannotListenError and friends: one line, exit 1
            raise Failed(f"modem: cannot listen on {listen}: {e}") from None
        address = port.getHost()
        shown = dataclasses.replace(listen, port=address.port)
        print(f"modem listening on {shown} (line {setup.line.name})", flush=True)
        opened.append(port)
    if modem.pty:
        pty = PtyPort(reactor)  # type: ignore[arg-type]
        pty.attach(setup.protocol(pty.path))
        print(f"modem pty at {pty.path} (line {setup.line.name})", flush=True)
        opened.append(pty)
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
        except Exception as e:  # serial.SerialException, OSError: the device is not there
            raise Failed(f"modem: cannot open {modem.serial}: {e}") from None
        print(f"modem on serial port {modem.serial} at {modem.baudrate} bit/s", flush=True)
        opened.append(port)
    return opened


def _open_log(path: Path | None) -> IO[str] | None:
    if path is None:
        return None
    try:
        return open(path, "a", encoding="utf-8")  # kept open for the life of the process
    except OSError as e:
        raise Failed(f"modem: cannot open call log {path}: {e.strerror}") from None
