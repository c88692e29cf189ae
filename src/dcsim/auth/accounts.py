"""The accounts database: who passes the licence check (and, for the PSO login server's
"registered accounts" policy, who may log in).

One SQLite file (``Settings.data_path / AccountSettings.database`` by default), created
on first use, in WAL mode with ``synchronous=FULL`` so that a committed change survives the
process being killed (or the machine losing power) and readers never block the writer.
The schema is versioned with ``PRAGMA user_version`` and migrated forward on open; a file
from a newer dcsim is refused rather than damaged.

An account is a licence ID (the Hunter's License ID, or for PSO the serial number), a
password (stored only as an scrypt hash; for PSO the access key), an optional console ID
the licence is bound to, a :class:`State` and a bad-user level (Sega's rules: the
authentication library reports a "bad user level", the warnings given for proven
misconduct; 0 is good standing).

API::

    db = Accounts.open(path)                       # create or migrate; also a context manager
    db.add("HL0001", "secret", console_id="0123456789ab", now=time.time())
    db.get("HL0001")          -> Account | None
    db.verify("HL0001", "secret", console_id=None) -> Decision   # never raises for bad input
    db.set_state("HL0001", State.SUSPENDED)    db.set_level("HL0001", 2)
    db.set_password("HL0001", "new")           db.set_console("HL0001", None)
    db.delete("HL0001") -> bool                    db.list() -> list[Account]
    db.close()

Methods that name an account raise :class:`NoSuchAccount` when it does not exist;
``add`` raises :class:`AccountExists`; malformed values raise ``ValueError`` with a
sentence a user can act on. :meth:`Accounts.verify` takes the same time whether or not
the licence ID exists (it hashes against a dummy), so it is no oracle for valid IDs.

Every method is synchronous and short (one statement, one transaction); ``verify`` costs
one scrypt evaluation (about 40 ms at the default cost), which is the point of scrypt.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import sqlite3
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dcsim.config import setting

#: Limits on stored text, so a hostile request cannot make us hash or store megabytes.
MAX_ID_LENGTH = 64
MAX_PASSWORD_LENGTH = 256
#: Sega's rules give no range for the bad-user level [U]; one byte holds any plausible one.
MAX_BAD_USER_LEVEL = 255

#: scrypt cost: N = 2**14, r = 8, p = 1 (about 40 ms and 16 MiB per evaluation).
DEFAULT_SCRYPT_LOG2_N = 14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32

#: How long a writer waits for another process's transaction (the CLI beside a server).
BUSY_TIMEOUT_MS = 5000


class State(Enum):
    """An account's standing; the licence check decides from it."""

    ACTIVE = "active"
    SUSPENDED = "suspended"  # barred (misconduct, or by the operator)
    BILLING_ERROR = "billing-error"  # exists, but may not be charged (Sega's cause 7)


class Outcome(Enum):
    """What :meth:`Accounts.verify` concluded. ``dcsim.auth.policy`` maps each to an HTTP
    answer and to a :class:`dcsim.causes.Cause`."""

    ACCEPTED = "accepted"
    UNKNOWN_LICENCE = "unknown-licence"
    WRONG_PASSWORD = "wrong-password"
    WRONG_CONSOLE = "wrong-console"  # the licence is bound to another console
    SUSPENDED = "suspended"
    BILLING_ERROR = "billing-error"


@dataclass(frozen=True, slots=True)
class Account:
    licence_id: str
    console_id: str | None
    state: State
    bad_user_level: int
    created: float  # seconds since the epoch, as given to Accounts.add

    def __repr__(self) -> str:  # the hash is not part of the value; nothing secret here
        return (
            f"Account({self.licence_id!r}, console={self.console_id!r}, "
            f"state={self.state.value}, level={self.bad_user_level})"
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one licence check: the outcome and, when the licence exists, the
    account (its bad-user level travels with an acceptance)."""

    outcome: Outcome
    account: Account | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def bad_user_level(self) -> int:
        return self.account.bad_user_level if self.account else 0


class AccountsError(Exception):
    """A problem with the accounts database a user can act on (printed in one line)."""


class NoSuchAccount(AccountsError):
    def __init__(self, licence_id: str) -> None:
        super().__init__(f"no account with licence ID {licence_id!r}")
        self.licence_id = licence_id


class AccountExists(AccountsError):
    def __init__(self, licence_id: str) -> None:
        super().__init__(f"an account with licence ID {licence_id!r} already exists")
        self.licence_id = licence_id


@dataclass(frozen=True)
class AccountSettings:
    database: Path = setting(
        Path("accounts.sqlite3"),
        "The accounts database (SQLite, created on first use); relative to data_dir.",
    )
    scrypt_log2_n: int = setting(
        DEFAULT_SCRYPT_LOG2_N,
        "scrypt cost for new password hashes: N = 2**this (14: about 40 ms a check).\n"
        "Stored hashes keep the cost they were made with.",
        min=10,
        max=20,
    )

    def path(self, data_dir: Path) -> Path:
        """The database file, with a relative setting taken from *data_dir*."""
        return self.database if self.database.is_absolute() else data_dir / self.database


# --- passwords ---------------------------------------------------------------------------


def hash_password(
    password: str, log2_n: int = DEFAULT_SCRYPT_LOG2_N, salt: bytes | None = None
) -> str:
    """``$scrypt$ln=14,r=8,p=1$SALT$HASH`` (base64 without padding), the passlib layout."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = _scrypt(password.encode(), salt, log2_n, _SCRYPT_R, _SCRYPT_P)
    return f"$scrypt$ln={log2_n},r={_SCRYPT_R},p={_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    """Whether *password* matches the *stored* hash; False for a malformed hash."""
    try:
        _, scheme, params, salt_text, digest_text = stored.split("$")
        values = dict(item.split("=") for item in params.split(","))
        log2_n, r, p = int(values["ln"]), int(values["r"]), int(values["p"])
        salt, digest = _unb64(salt_text), _unb64(digest_text)
    except (ValueError, KeyError):
        return False
    if scheme != "scrypt" or not 1 <= log2_n <= 20 or not (0 < r <= 32 and 0 < p <= 16):
        return False
    candidate = _scrypt(password.encode(), salt, log2_n, r, p, len(digest))
    return hmac.compare_digest(candidate, digest)


def _scrypt(
    secret: bytes, salt: bytes, log2_n: int, r: int, p: int, dklen: int = _HASH_BYTES
) -> bytes:
    maxmem = 256 * r * (2**log2_n) + (1 << 20)
    return hashlib.scrypt(secret, salt=salt, n=2**log2_n, r=r, p=p, maxmem=maxmem, dklen=dklen)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


@functools.cache
def _dummy_hash() -> str:
    """Hashed against when the licence ID is unknown, so both paths cost one scrypt
    (made on first use: an scrypt at import would slow every ``dcsim`` command)."""
    return hash_password("dcsim: no such account", salt=bytes(_SALT_BYTES))


# --- the schema --------------------------------------------------------------------------

#: Migration i (1-based) brings a database from user_version i-1 to i. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE accounts (
        licence_id     TEXT PRIMARY KEY NOT NULL,
        password_hash  TEXT NOT NULL,
        console_id     TEXT,
        state          TEXT NOT NULL DEFAULT 'active'
                       CHECK (state IN ('active', 'suspended', 'billing-error')),
        bad_user_level INTEGER NOT NULL DEFAULT 0
                       CHECK (bad_user_level BETWEEN 0 AND 255),
        created        REAL NOT NULL
    ) WITHOUT ROWID;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = "licence_id, console_id, state, bad_user_level, created"


class Accounts:
    """An open accounts database. Use :meth:`open`, not the constructor."""

    def __init__(self, connection: sqlite3.Connection, path: Path, scrypt_log2_n: int) -> None:
        self._db = connection
        self.path = path
        self.scrypt_log2_n = scrypt_log2_n

    @classmethod
    def open(cls, path: str | Path, *, scrypt_log2_n: int = DEFAULT_SCRYPT_LOG2_N) -> Accounts:
        """Open the database at *path*, creating it (and its directory) on first use and
        migrating an older schema. Raises :class:`AccountsError` for a file that is not an
        accounts database or comes from a newer dcsim."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as e:
            raise AccountsError(f"{path}: cannot open the accounts database: {e}") from None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise AccountsError(f"{path}: cannot switch the database to WAL mode ({mode})")
            db.execute("PRAGMA synchronous = FULL")
            _migrate(db, path)
        except sqlite3.DatabaseError as e:
            db.close()
            raise AccountsError(f"{path}: not an accounts database ({e})") from None
        except AccountsError:
            db.close()
            raise
        return cls(db, path, scrypt_log2_n)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Accounts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------

    def get(self, licence_id: str) -> Account | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM accounts WHERE licence_id = ?", (licence_id,)
        ).fetchone()
        return _account(row) if row else None

    def list(self) -> list[Account]:
        """Every account, ordered by licence ID."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY licence_id")
        return [_account(r) for r in rows]

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM accounts").fetchone()[0]

    def verify(self, licence_id: str, password: str, console_id: str | None = None) -> Decision:
        """Decide a licence check. The password is checked first, so the state of an
        account is only revealed to someone who knows its password. *console_id* is
        compared only when both it and the account's binding are set."""
        if len(licence_id) > MAX_ID_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
            check_password("", _dummy_hash())
            return Decision(Outcome.UNKNOWN_LICENCE)
        row = self._db.execute(
            f"SELECT {_COLUMNS}, password_hash FROM accounts WHERE licence_id = ?",
            (licence_id,),
        ).fetchone()
        if row is None:
            check_password(password, _dummy_hash())
            return Decision(Outcome.UNKNOWN_LICENCE)
        account = _account(row[:-1])
        if not check_password(password, row[-1]):
            return Decision(Outcome.WRONG_PASSWORD, account)
        if console_id is not None and account.console_id not in (None, console_id):
            return Decision(Outcome.WRONG_CONSOLE, account)
        if account.state is State.SUSPENDED:
            return Decision(Outcome.SUSPENDED, account)
        if account.state is State.BILLING_ERROR:
            return Decision(Outcome.BILLING_ERROR, account)
        return Decision(Outcome.ACCEPTED, account)

    # --- writing -------------------------------------------------------------------------

    def add(
        self,
        licence_id: str,
        password: str,
        *,
        now: float,
        console_id: str | None = None,
        state: State = State.ACTIVE,
        bad_user_level: int = 0,
    ) -> Account:
        """Create an account; *now* (seconds since the epoch) is recorded as its creation."""
        _check_id(licence_id, "licence ID")
        _check_password(password)
        if console_id is not None:
            _check_id(console_id, "console ID")
        _check_level(bad_user_level)
        stored = hash_password(password, self.scrypt_log2_n)
        try:
            self._db.execute(
                "INSERT INTO accounts (licence_id, password_hash, console_id, state,"
                " bad_user_level, created) VALUES (?, ?, ?, ?, ?, ?)",
                (licence_id, stored, console_id, state.value, bad_user_level, now),
            )
        except sqlite3.IntegrityError:
            raise AccountExists(licence_id) from None
        return Account(licence_id, console_id, state, bad_user_level, now)

    def set_state(self, licence_id: str, state: State) -> None:
        self._update(licence_id, "state", State(state).value)

    def set_level(self, licence_id: str, bad_user_level: int) -> None:
        _check_level(bad_user_level)
        self._update(licence_id, "bad_user_level", bad_user_level)

    def set_password(self, licence_id: str, password: str) -> None:
        _check_password(password)
        self._update(licence_id, "password_hash", hash_password(password, self.scrypt_log2_n))

    def set_console(self, licence_id: str, console_id: str | None) -> None:
        if console_id is not None:
            _check_id(console_id, "console ID")
        self._update(licence_id, "console_id", console_id)

    def delete(self, licence_id: str) -> bool:
        """Remove an account; False if there was none."""
        cursor = self._db.execute("DELETE FROM accounts WHERE licence_id = ?", (licence_id,))
        return cursor.rowcount > 0

    def _update(self, licence_id: str, column: str, value: object) -> None:
        cursor = self._db.execute(
            f"UPDATE accounts SET {column} = ? WHERE licence_id = ?", (value, licence_id)
        )
        if cursor.rowcount == 0:
            raise NoSuchAccount(licence_id)


def open_accounts(settings: AccountSettings, data_dir: Path) -> Accounts:
    """Open the database the settings name (the licence server and the PSO login share it)."""
    return Accounts.open(settings.path(data_dir), scrypt_log2_n=settings.scrypt_log2_n)


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise AccountsError(
            f"{path}: the accounts database has schema version {version}, newer than this"
            f" dcsim knows ({SCHEMA_VERSION}); upgrade dcsim"
        )
    if version == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise AccountsError(f"{path}: an SQLite database, but not dcsim's accounts database")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            if db.execute("PRAGMA user_version").fetchone()[0] >= target:
                db.execute("COMMIT")
                continue
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _account(row: tuple) -> Account:
    licence_id, console_id, state, level, created = row
    return Account(licence_id, console_id, State(state), level, created)


def _check_id(value: str, what: str) -> None:
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable() or value != value.strip():
        raise ValueError(
            f"a {what} is 1 to {MAX_ID_LENGTH} printable characters without surrounding spaces"
        )


def _check_password(password: str) -> None:
    # Sega's rules: a login password of at least 16 printable ASCII characters must fit.
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password is 1 to {MAX_PASSWORD_LENGTH} characters")


def _check_level(level: int) -> None:
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValueError("a bad-user level is an integer")
    if not 0 <= level <= MAX_BAD_USER_LEVEL:
        raise ValueError(f"a bad-user level is in [0, {MAX_BAD_USER_LEVEL}]")
