"""Guild card numbers and the chat log: retention and export filters."""

from __future__ import annotations

import sqlite3

import pytest

from dcsim.pso.events import ChatLine
from dcsim.pso.store import (
    FIRST_GUILD_CARD,
    ChatLog,
    GuildCards,
    StoreError,
    open_database,
)

DAY = 86400.0


def line(t, gc=1, text=b"\tEhello", name=b"Tali", japanese=False, lobby=1):
    return ChatLine(t, gc, name, 1, lobby, text, japanese)


def test_guild_cards_are_stable_and_unique(tmp_path):
    path = tmp_path / "pso.sqlite3"
    cards = GuildCards(open_database(path))
    a, new_a = cards.assign("SERIAL01", "KEY", 0)
    b, new_b = cards.assign("SERIAL01", "OTHER", 0)
    again, new_again = cards.assign("SERIAL01", "KEY", 5)
    assert (a, new_a, new_b) == (FIRST_GUILD_CARD, True, True)
    assert b == a + 1 and (again, new_again) == (a, False)
    reopened = GuildCards(open_database(path))
    assert reopened.assign("SERIAL01", "OTHER", 9) == (b, False)


def test_remembered_numbers_match_the_database_after_the_cache_forgets(tmp_path):
    db = open_database(tmp_path / "pso.sqlite3")
    cards = GuildCards(db, cache_size=2)
    first = [cards.assign(f"SERIAL{i:02d}", "KEY", i) for i in range(5)]
    assert [new for _, new in first] == [True] * 5
    again = [cards.assign(f"SERIAL{i:02d}", "KEY", 9) for i in range(5)]
    assert again == [(number, False) for number, _ in first]
    rows = dict(db.execute("SELECT serial, guild_card FROM guild_cards"))
    assert rows == {f"SERIAL{i:02d}": number for i, (number, _) in enumerate(first)}
    assert len(cards._known) == 2


def test_new_players_are_written_together(tmp_path):
    path = tmp_path / "pso.sqlite3"
    cards = GuildCards(open_database(path))
    known, _ = cards.assign("OLD", "KEY", 0)
    players = [("A", "KEY"), ("OLD", "KEY"), ("B", "KEY"), ("A", "KEY")]
    numbers = cards.assign_all(players, 5)
    a, b = known + 1, known + 2
    assert numbers == [(a, True), (known, False), (b, True), (a, False)]
    rows = dict(open_database(path).execute("SELECT serial, guild_card FROM guild_cards"))
    assert rows == {"OLD": known, "A": a, "B": b}  # committed: another connection sees them


def test_a_failed_write_keeps_no_number(tmp_path):
    db = open_database(tmp_path / "pso.sqlite3")
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON guild_cards WHEN NEW.serial = 'BAD' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    cards = GuildCards(db)
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        cards.assign_all([("GOOD", "KEY"), ("BAD", "KEY")], 0)
    assert db.execute("SELECT COUNT(*) FROM guild_cards").fetchone() == (0,)
    assert cards.known("GOOD", "KEY") is None  # the number it was about to get is forgotten
    assert cards.assign("GOOD", "KEY", 1) == (FIRST_GUILD_CARD, True)


def test_retention_purges_older_lines_and_keeps_younger():
    log = ChatLog(open_database(":memory:"))
    now = 1_000 * DAY
    for age in (400, 184, 183.01, 182.99, 1, 0):
        log.record(line(now - age * DAY, text=f"\tEage {age}".encode()))
    removed = log.purge(now - 183 * DAY)
    assert removed == 3
    kept = [r.text for r in log.export()]
    assert kept == ["age 182.99", "age 1", "age 0"]


def test_export_filters():
    log = ChatLog(open_database(":memory:"))
    for t, gc in ((10, 1), (20, 2), (30, 1), (40, 2)):
        log.record(line(t, gc, text=f"\tEt{t}".encode()))
    assert [r.text for r in log.export(since=20)] == ["t20", "t30", "t40"]
    assert [r.text for r in log.export(until=30)] == ["t10", "t20"]
    assert [r.text for r in log.export(since=15, until=40, guild_card=1)] == ["t30"]
    assert [r.time for r in log.export(guild_card=3)] == []


def test_japanese_text_is_stored_as_text():
    log = ChatLog(open_database(":memory:"))
    log.record(
        line(
            1, name="ハンター".encode("cp932"), text="\tJこんにちは".encode("cp932"), japanese=True
        )
    )
    (record,) = log.export()
    assert (record.name, record.text) == ("ハンター", "こんにちは")


def test_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "pso.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match=r"pso\.sqlite3"):
        open_database(bad)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "pso.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer dcsim"):
        open_database(path)
