"""The PSO server's SQLite database: guild card numbers and the lobby chat log.

One file (``pso.database`` under the data directory), WAL mode so that
``dcsim chatlog export`` can read while the server writes. Sega's rules for Dreamcast
titles: lobby chat must be logged and kept at least six months so that misconduct can
be traced; :meth:`ChatLog.purge` drops lines older than the retention setting (183 days
by default) and nothing younger.

Both classes are used by the Twisted edge only; the session cores never do I/O.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dcsim.pso.events import ChatLine
from dcsim.pso.text import decode

SCHEMA_VERSION = 1
#: Guild card numbers dcsim hands out start here (any 32-bit value the client accepts).
FIRST_GUILD_CARD = 10_000_001
_SCHEMA = """
CREATE TABLE IF NOT EXISTS guild_cards (
    guild_card INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    access_key TEXT NOT NULL,
    first_seen REAL NOT NULL,
    UNIQUE (serial, access_key)
);
CREATE TABLE IF NOT EXISTS chat (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    guild_card INTEGER NOT NULL,
    name TEXT NOT NULL,
    block INTEGER NOT NULL,
    lobby INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_time ON chat (time);
CREATE INDEX IF NOT EXISTS chat_guild_card ON chat (guild_card, time);
"""


class StoreError(Exception):
    """The database cannot be used (printed in one line)."""


def open_database(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) the PSO database at *path* (``:memory:`` for tests)."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path}: made by a newer dcsim (schema {version})")
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path}: {e}") from None
    return db


class GuildCards:
    """Guild card numbers, one per (serial, access key), kept across restarts.

    A number is written (and committed) when it is first handed out and never changed,
    so the numbers already seen are also kept in memory, up to *cache_size* of them (the
    oldest forgotten first): a player who logs in again, and the login server's three
    checks of one login, cost no query. New players can be written together
    (:meth:`assign_all`): one commit for all of them rather than one each."""

    def __init__(self, db: sqlite3.Connection, cache_size: int = 100_000) -> None:
        self._db = db
        self._cache_size = cache_size
        self._known: dict[tuple[str, str], int] = {}

    def known(self, serial: str, access_key: str) -> int | None:
        """The player's guild card number, if one was handed out before."""
        key = (serial, access_key)
        number = self._known.get(key)
        if number is None:
            row = self._db.execute(
                "SELECT guild_card FROM guild_cards WHERE serial = ? AND access_key = ?", key
            ).fetchone()
            if row is None:
                return None
            number = self._remember(key, row[0])
        return number

    def assign(self, serial: str, access_key: str, now: float) -> tuple[int, bool]:
        """The player's guild card number, and whether it was new."""
        return self.assign_all([(serial, access_key)], now)[0]

    def assign_all(self, players: Sequence[tuple[str, str]], now: float) -> list[tuple[int, bool]]:
        """:meth:`assign` for each (serial, access key), the new numbers committed in one
        transaction before this returns."""
        numbers = [self.known(serial, access_key) for serial, access_key in players]
        if all(number is not None for number in numbers):
            return [(number, False) for number in numbers]  # type: ignore[misc]
        results: list[tuple[int, bool]] = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for key, number in zip(players, numbers, strict=True):
                if number is None:
                    number = self._known.get(key)  # new earlier in this batch
                if number is not None:
                    results.append((number, False))
                    continue
                # One statement: the next number and the row. Another process may have
                # written the player since the look-up: then it is read back instead.
                row = self._db.execute(
                    "INSERT INTO guild_cards SELECT MAX(?, IFNULL(MAX(guild_card), 0) + 1), "
                    "?, ?, ? FROM guild_cards WHERE true "
                    "ON CONFLICT (serial, access_key) DO NOTHING RETURNING guild_card",
                    (FIRST_GUILD_CARD, *key, now),
                ).fetchone()
                if row is None:
                    results.append((self.known(*key), False))  # type: ignore[arg-type]
                else:
                    results.append((self._remember(key, row[0]), True))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            for key, (_, new) in zip(players, results, strict=False):
                if new:  # never written: forget the number
                    self._known.pop(key, None)
            raise
        return results

    def _remember(self, key: tuple[str, str], number: int) -> int:
        if len(self._known) >= self._cache_size:
            del self._known[next(iter(self._known))]
        self._known[key] = number
        return number


@dataclass(frozen=True, slots=True)
class ChatRecord:
    time: float
    guild_card: int
    name: str
    block: int
    lobby: int
    text: str


class ChatLog:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def record(self, line: ChatLine) -> None:
        self._db.execute(
            "INSERT INTO chat (time, guild_card, name, block, lobby, text) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                line.time,
                line.guild_card,
                decode(line.name, line.japanese),
                line.block,
                line.lobby,
                decode(line.text, line.japanese),
            ),
        )

    def purge(self, before: float) -> int:
        """Delete lines older than *before* (seconds since the epoch); how many went."""
        return self._db.execute("DELETE FROM chat WHERE time < ?", (before,)).rowcount

    def export(
        self,
        since: float | None = None,
        until: float | None = None,
        guild_card: int | None = None,
    ) -> Iterator[ChatRecord]:
        """Lines with ``since <= time < until`` (either open), oldest first."""
        where, args = [], []
        if since is not None:
            where.append("time >= ?")
            args.append(since)
        if until is not None:
            where.append("time < ?")
            args.append(until)
        if guild_card is not None:
            where.append("guild_card = ?")
            args.append(guild_card)
        sql = "SELECT time, guild_card, name, block, lobby, text FROM chat"
        if where:
            sql += " WHERE " + " AND ".join(where)
        for row in self._db.execute(sql + " ORDER BY time, id", args):
            yield ChatRecord(*row)
