"""``dcsim pso`` (the login server and ship on real sockets) and ``dcsim chatlog``."""

from __future__ import annotations

import argparse
import csv
import json
import random
import secrets
import sys
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from dcsim.address import Listen, listen_argument
from dcsim.cli import EXIT_OK, Failed, UsageError
from dcsim.service import serve
from dcsim.settings import Settings

_TCP_ONLY = partial(listen_argument, only="tcp", refusal="PSO runs over TCP")


def register(sub: argparse._SubParsersAction) -> None:
    pso = sub.add_parser(
        "pso",
        help="run the PSO login server and dcsim's ship on this machine",
        description="Run the Dreamcast PSO login server (DC v1, v2 and NTE) and dcsim's "
        "own ship with its lobbies, on real TCP sockets.",
    )
    pso.add_argument(
        "--listen",
        type=_TCP_ONLY,
        action="append",
        metavar="ADDR",
        help="login server address, e.g. tcp:127.0.0.1:9200 (repeatable; default: "
        "pso.listen from the settings)",
    )
    pso.add_argument(
        "--ship-listen",
        type=_TCP_ONLY,
        metavar="ADDR",
        help="dcsim's ship address, e.g. tcp:127.0.0.1:5110 (default: pso.ship_listen)",
    )
    pso.set_defaults(run=_run_pso)

    chatlog = sub.add_parser(
        "chatlog",
        help="hand lobby chat to an investigator, or purge old lines",
        description="The PSO lobby chat log (Sega's rules: kept at least six months so "
        "misconduct can be traced).",
    )
    actions = chatlog.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="print chat lines of a period as CSV or JSON")
    export.add_argument(
        "--since",
        type=_time,
        metavar="TIME",
        help="from this time (ISO 8601, UTC unless a zone is given)",
    )
    export.add_argument(
        "--until", type=_time, metavar="TIME", help="up to (not including) this time"
    )
    export.add_argument("--guild-card", type=int, metavar="NUMBER", help="only this player's lines")
    export.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default="csv",
        help="csv (default) or one JSON object a line",
    )
    export.set_defaults(run=_run_export)
    purge = actions.add_parser("purge", help="delete lines older than pso.chat_retention_days")
    purge.set_defaults(run=_run_purge)


def _time(text: str) -> float:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or time such as 2006-05-20 or 2006-05-20T12:00, "
            f"got {text!r}"
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _run_pso(args: argparse.Namespace, settings: Settings) -> int:
    from dcsim.reactor import global_reactor

    reactor = global_reactor()  # the real reactor, only at this edge

    pso = settings.pso
    if args.listen:
        pso = replace(pso, listen=args.listen)
    if args.ship_listen:
        pso = replace(pso, ship_listen=args.ship_listen)
    server = PsoServer(replace(settings, pso=pso), reactor)
    return serve(server, reactor, announce=_to_stderr)


def _to_stderr(line: str) -> None:
    print(f"dcsim pso: {line}", file=sys.stderr, flush=True)


def make_server(settings: Settings, reactor: Any) -> PsoServer:
    """``dcsim pso`` with *settings* (servers/pso.tac)."""
    return PsoServer(settings, reactor)


class PsoServer:
    """The login servers and dcsim's ship on this machine's sockets (a
    :class:`dcsim.service.Server`); the databases are opened when it is built."""

    def __init__(self, settings: Settings, reactor: Any) -> None:
        from dcsim.auth.accounts import AccountsError
        from dcsim.pso.server import PsoService
        from dcsim.pso.store import StoreError

        # The one place randomness is seeded from the operating system: cipher keys.
        rng = random.Random(secrets.randbits(128))
        try:
            self.service = PsoService(
                settings.pso,
                settings.data_path,
                reactor=reactor,
                rng=rng,
                accounts=settings.accounts,
            )
        except (StoreError, AccountsError) as e:
            raise Failed(str(e)) from None

    def start(self) -> list[str]:
        from twisted.internet.error import CannotListenError

        pso = self.service.settings
        try:
            self.service.start()
        except CannotListenError as e:
            self.service.stop()
            raise Failed(
                f"cannot listen on {e.interface or '*'}:{e.port}: {e.socketError}"
            ) from None
        ship, *logins = (
            Listen("tcp", listen.host, port.getHost().port)
            for listen, port in zip([pso.ship_listen, *pso.listen], self.service.ports, strict=True)
        )
        return [f"login server on {login}" for login in logins] + [f"ship on {ship}"]

    def stop(self) -> Any:
        return self.service.stop()


def _open_chat_log(settings: Settings):  # type: ignore[no-untyped-def]
    from dcsim.pso.store import ChatLog, StoreError, open_database

    path = settings.pso.database_path(settings.data_path)
    if not path.exists():
        raise UsageError(f"no PSO database at {path} (has the server run yet?)")
    try:
        return ChatLog(open_database(path))
    except StoreError as e:
        raise Failed(str(e)) from None


def _run_export(args: argparse.Namespace, settings: Settings) -> int:
    if args.since is not None and args.until is not None and args.since >= args.until:
        raise UsageError("--since must be before --until")
    chat = _open_chat_log(settings)
    fields = ("time", "guild_card", "name", "block", "lobby", "text")
    writer = csv.writer(sys.stdout) if args.format == "csv" else None
    if writer is not None:
        writer.writerow(fields)
    for record in chat.export(args.since, args.until, args.guild_card):
        when = datetime.fromtimestamp(record.time, UTC).isoformat(timespec="seconds")
        row = (when, record.guild_card, record.name, record.block, record.lobby, record.text)
        if writer is not None:
            writer.writerow(row)
        else:
            print(json.dumps(dict(zip(fields, row, strict=True)), ensure_ascii=False))
    return EXIT_OK


def _run_purge(args: argparse.Namespace, settings: Settings) -> int:
    import time

    chat = _open_chat_log(settings)
    # The command line is an edge: the wall clock is the right "now" here.
    cutoff = time.time() - settings.pso.chat_retention_days * 86400.0
    removed = chat.purge(cutoff)
    print(f"purged {removed} chat lines older than {settings.pso.chat_retention_days:g} days")
    return EXIT_OK
