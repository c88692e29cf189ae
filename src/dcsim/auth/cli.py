"""``dcsim accounts ...`` (the accounts database) and ``dcsim auth`` (the licence server).

Passwords are never taken from the command line (where they would land in shell history
and process listings): ``add`` and ``passwd`` prompt twice on a terminal, or read the
first line of standard input when it is not a terminal (``echo secret | dcsim accounts add
HL0001``, or a file redirected in).
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, gatherResults, maybeDeferred

from dcsim.address import Listen, listen_argument
from dcsim.auth.accounts import (
    MAX_BAD_USER_LEVEL,
    Account,
    Accounts,
    AccountsError,
    State,
)
from dcsim.auth.policy import Policy
from dcsim.auth.service import licence_factory
from dcsim.cli import EXIT_OK, Failed, UsageError
from dcsim.service import serve
from dcsim.settings import Settings
from dcsim.tls.certs import CertificateError

_TCP_ONLY = partial(listen_argument, only="tcp", refusal="the licence server listens on tcp only")


def register(sub: argparse._SubParsersAction) -> None:
    _register_accounts(sub)
    _register_auth(sub)


def _register_auth(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "auth",
        help="run the licence server (HTTPS POST /cgi-bin/auth.cgi, SSL 3.0/TLS 1.0)",
        description="Run the licence server on real sockets until interrupted. Settings "
        "come from the [auth] section; the options below override them. Certificates "
        "are generated into data_dir/tls on first run.",
    )
    parser.add_argument(
        "--listen",
        action="append",
        type=_TCP_ONLY,
        metavar="tcp:HOST:PORT",
        help="listen here (repeatable; default: auth.listen)",
    )
    parser.add_argument(
        "--policy", choices=[p.value for p in Policy], help="revival (all pass) or accounts"
    )
    parser.add_argument("--profile", help="SSL profile: ntssl, modern or custom")
    _database_option(parser)
    parser.set_defaults(run=_auth)


def _auth(args: argparse.Namespace, settings: Settings) -> int:
    from dcsim.reactor import global_reactor

    reactor = global_reactor()  # the real reactor, only at this edge

    changes: dict[str, object] = {}
    if args.listen:
        changes["listen"] = args.listen
    if args.policy:
        changes["policy"] = Policy(args.policy)
    if args.profile:
        changes["profile"] = args.profile
    try:
        auth = dataclasses.replace(settings.auth, **changes)
    except ValueError as e:
        raise UsageError(str(e)) from None
    server = LicenceServer(dataclasses.replace(settings, auth=auth), reactor, args.database)
    return serve(server, reactor)


def make_server(settings: Settings, reactor: Any) -> LicenceServer:
    """``dcsim auth`` with *settings* (servers/auth.tac)."""
    return LicenceServer(settings, reactor)


class LicenceServer:
    """The licence server on this machine's sockets (a :class:`dcsim.service.Server`):
    certificates and the accounts database are opened when it is built."""

    def __init__(self, settings: Settings, reactor: Any, database: Path | None = None) -> None:
        auth = settings.auth
        for listen in auth.listen:
            if listen.transport != "tcp":
                raise UsageError(f"auth.listen: {listen}: the licence server listens on tcp only")
        self.settings = auth
        self.reactor = reactor
        self.accounts = (
            _open_database(database or settings.accounts.path(settings.data_path), settings)
            if auth.policy is Policy.ACCOUNTS
            else None
        )
        try:
            self.factory = licence_factory(auth, settings.data_path, reactor, self.accounts)
        except CertificateError as e:
            raise Failed(str(e)) from None
        self.ports: list[Any] = []

    def start(self) -> list[str]:
        from twisted.internet.error import CannotListenError

        auth, lines = self.settings, []
        for listen in auth.listen:
            try:
                port = self.reactor.listenTCP(listen.port, self.factory, interface=listen.host)
            except CannotListenError as e:
                self._stop_listening()
                raise Failed(f"cannot listen on {listen}: {e.socketError}") from None
            self.ports.append(port)
            bound = Listen("tcp", listen.host, port.getHost().port)
            lines.append(
                f"licence server on {bound} (profile {auth.profile}, policy {auth.policy.value})"
            )
        return lines

    def stop(self) -> Deferred[Any]:
        done = self._stop_listening()
        if self.accounts is not None:
            self.accounts.close()
        return done

    def _stop_listening(self) -> Deferred[Any]:
        ports, self.ports = self.ports, []
        return gatherResults([maybeDeferred(port.stopListening) for port in ports])


def _register_accounts(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "accounts",
        help="manage the licence accounts (licence ID, password, console, state, level)",
        description="Manage the accounts database the licence server and the PSO login "
        "server decide from. Passwords are read from a prompt, or from the first line of "
        "standard input when it is not a terminal; never from the command line.",
    )
    _database_option(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="create an account (password from prompt or stdin)")
    add.add_argument("licence_id", help="the licence ID (Hunter's License ID or PSO serial)")
    add.add_argument("--console", metavar="ID", help="bind the licence to this console ID")
    add.add_argument(
        "--state", choices=[s.value for s in State], default=State.ACTIVE.value, help="standing"
    )
    add.add_argument("--level", type=_level, default=0, help="bad-user level (default 0)")
    add.set_defaults(run=_add)

    listing = actions.add_parser("list", help="list every account")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    listing.set_defaults(run=_list)

    show = actions.add_parser("show", help="show one account")
    show.add_argument("licence_id")
    show.add_argument("--json", action="store_true", help="as a JSON object")
    show.set_defaults(run=_show)

    suspend = actions.add_parser("suspend", help="suspend an account (the check refuses it)")
    suspend.add_argument("licence_id")
    suspend.set_defaults(run=_set_state, state=State.SUSPENDED.value)

    state = actions.add_parser("set-state", help="set the standing: " + _states())
    state.add_argument("licence_id")
    state.add_argument("state", choices=[s.value for s in State])
    state.set_defaults(run=_set_state)

    level = actions.add_parser("set-level", help="set the bad-user level (warnings given)")
    level.add_argument("licence_id")
    level.add_argument("level", type=_level)
    level.set_defaults(run=_set_level)

    passwd = actions.add_parser("passwd", help="change the password (prompt or stdin)")
    passwd.add_argument("licence_id")
    passwd.set_defaults(run=_passwd)

    delete = actions.add_parser("delete", help="delete an account")
    delete.add_argument("licence_id")
    delete.set_defaults(run=_delete)


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        type=Path,
        metavar="FILE",
        help="the accounts database (default: accounts.database under data_dir)",
    )


def _states() -> str:
    return ", ".join(s.value for s in State)


def _level(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= MAX_BAD_USER_LEVEL:
        raise argparse.ArgumentTypeError(f"expected a level in [0, {MAX_BAD_USER_LEVEL}]")
    return value


def _open(args: argparse.Namespace, settings: Settings) -> Accounts:
    return _open_database(args.database or settings.accounts.path(settings.data_path), settings)


def _open_database(path: Path, settings: Settings) -> Accounts:
    try:
        return Accounts.open(path, scrypt_log2_n=settings.accounts.scrypt_log2_n)
    except AccountsError as e:
        raise Failed(str(e)) from None


def read_password(prompt: str = "Password: ") -> str:
    """Ask twice on a terminal; otherwise take the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise UsageError("the two passwords differ")
        password = first
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("no password given (type it at the prompt or pipe it on stdin)")
    return password


def _add(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings) as db:
        password = read_password()
        try:
            account = db.add(
                args.licence_id,
                password,
                now=time.time(),
                console_id=args.console,
                state=State(args.state),
                bad_user_level=args.level,
            )
        except ValueError as e:
            raise UsageError(str(e)) from None
        except AccountsError as e:
            raise Failed(str(e)) from None
    print(f"added {account.licence_id}")
    return EXIT_OK


def _as_dict(account: Account) -> dict[str, object]:
    return {
        "licence_id": account.licence_id,
        "console_id": account.console_id,
        "state": account.state.value,
        "bad_user_level": account.bad_user_level,
        "created": datetime.fromtimestamp(account.created, UTC).isoformat(timespec="seconds"),
    }


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings) as db:
        accounts = db.list()
    if args.json:
        for account in accounts:
            print(json.dumps(_as_dict(account)))
        return EXIT_OK
    rows = [("licence ID", "console ID", "state", "level", "created")]
    rows += [
        tuple(str(v) if v is not None else "-" for v in _as_dict(a).values()) for a in accounts
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _get(db: Accounts, licence_id: str) -> Account:
    account = db.get(licence_id)
    if account is None:
        raise Failed(f"no account with licence ID {licence_id!r}")
    return account


def _show(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings) as db:
        fields = _as_dict(_get(db, args.licence_id))
    if args.json:
        print(json.dumps(fields))
    else:
        for key, value in fields.items():
            print(f"{key}: {'-' if value is None else value}")
    return EXIT_OK


def _change(args: argparse.Namespace, settings: Settings, what: str, change) -> int:
    with _open(args, settings) as db:
        try:
            change(db)
        except ValueError as e:
            raise UsageError(str(e)) from None
        except AccountsError as e:
            raise Failed(str(e)) from None
    print(f"{args.licence_id}: {what}")
    return EXIT_OK


def _set_state(args: argparse.Namespace, settings: Settings) -> int:
    state = State(args.state)
    return _change(args, settings, state.value, lambda db: db.set_state(args.licence_id, state))


def _set_level(args: argparse.Namespace, settings: Settings) -> int:
    return _change(
        args,
        settings,
        f"bad-user level {args.level}",
        lambda db: db.set_level(args.licence_id, args.level),
    )


def _passwd(args: argparse.Namespace, settings: Settings) -> int:
    def change(db: Accounts) -> None:
        _get(db, args.licence_id)
        db.set_password(args.licence_id, read_password("New password: "))

    return _change(args, settings, "password changed", change)


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings) as db:
        if not db.delete(args.licence_id):
            raise Failed(f"no account with licence ID {args.licence_id!r}")
    print(f"deleted {args.licence_id}")
    return EXIT_OK
