"""The accounts database: every decision path, the schema, durability under SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.auth.accounts import (
    SCHEMA_VERSION,
    Account,
    AccountExists,
    Accounts,
    AccountsError,
    AccountSettings,
    NoSuchAccount,
    Outcome,
    State,
    check_password,
    hash_password,
    open_accounts,
)

FAST = 10  # scrypt N = 2**10 keeps the tests quick; the default cost is tested once.
NOW = 1_150_000_000.0  # 2006-06-11


@pytest.fixture
def db(tmp_path):
    with Accounts.open(tmp_path / "accounts.sqlite3", scrypt_log2_n=FAST) as accounts:
        yield accounts


def test_first_open_creates_a_wal_database_at_the_current_schema(tmp_path):
    path = tmp_path / "sub" / "dir" / "accounts.sqlite3"
    with Accounts.open(path, scrypt_log2_n=FAST) as db:
        assert len(db) == 0
    assert path.exists()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()


def test_add_get_list_delete(db):
    added = db.add("HL0002", "pw2", now=NOW)
    db.add("HL0001", "pw1", now=NOW + 1, console_id="0123456789ab", bad_user_level=3)
    assert db.get("HL0002") == added == Account("HL0002", None, State.ACTIVE, 0, NOW)
    assert [a.licence_id for a in db.list()] == ["HL0001", "HL0002"]
    assert db.get("HL0001").console_id == "0123456789ab"
    assert db.get("nobody") is None
    assert db.delete("HL0002") is True
    assert db.delete("HL0002") is False
    assert len(db) == 1


def test_duplicates_and_missing_accounts_raise(db):
    db.add("HL0001", "pw", now=NOW)
    with pytest.raises(AccountExists):
        db.add("HL0001", "other", now=NOW)
    with pytest.raises(NoSuchAccount, match="'HL9999'"):
        db.set_state("HL9999", State.SUSPENDED)
    with pytest.raises(NoSuchAccount):
        db.set_level("HL9999", 1)
    with pytest.raises(NoSuchAccount):
        db.set_password("HL9999", "x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"licence_id": ""}, "licence ID is 1 to 64"),
        ({"licence_id": "x" * 65}, "licence ID is 1 to 64"),
        ({"licence_id": " HL"}, "without surrounding spaces"),
        ({"licence_id": "HL\n1"}, "printable"),
        ({"password": ""}, "password is 1 to 256"),
        ({"password": "p" * 257}, "password is 1 to 256"),
        ({"console_id": ""}, "console ID"),
        ({"bad_user_level": -1}, r"\[0, 255\]"),
        ({"bad_user_level": 256}, r"\[0, 255\]"),
    ],
)
def test_bad_values_are_refused_with_a_sentence(db, kwargs, message):
    args = {"licence_id": "HL0001", "password": "pw", **kwargs}
    with pytest.raises(ValueError, match=message):
        db.add(args.pop("licence_id"), args.pop("password"), now=NOW, **args)
    assert len(db) == 0


def test_every_decision_path(db):
    db.add("OK", "right", now=NOW)
    db.add("WARNED", "right", now=NOW, bad_user_level=2)
    db.add("BOUND", "right", now=NOW, console_id="console-a")
    db.add("SUSP", "right", now=NOW, state=State.SUSPENDED)
    db.add("BILL", "right", now=NOW)
    db.set_state("BILL", State.BILLING_ERROR)

    ok = db.verify("OK", "right")
    assert ok.outcome is Outcome.ACCEPTED and ok.accepted and ok.bad_user_level == 0
    warned = db.verify("WARNED", "right")
    assert warned.outcome is Outcome.ACCEPTED and warned.bad_user_level == 2
    assert db.verify("nobody", "right").outcome is Outcome.UNKNOWN_LICENCE
    assert db.verify("nobody", "right").account is None
    assert db.verify("OK", "wrong").outcome is Outcome.WRONG_PASSWORD
    assert db.verify("BOUND", "right", "console-a").outcome is Outcome.ACCEPTED
    assert db.verify("BOUND", "right").outcome is Outcome.ACCEPTED  # no console ID sent
    assert db.verify("BOUND", "right", "console-b").outcome is Outcome.WRONG_CONSOLE
    assert db.verify("OK", "right", "any-console").outcome is Outcome.ACCEPTED  # not bound
    assert db.verify("SUSP", "right").outcome is Outcome.SUSPENDED
    assert db.verify("BILL", "right").outcome is Outcome.BILLING_ERROR
    # The state is only revealed to someone who knows the password.
    assert db.verify("SUSP", "wrong").outcome is Outcome.WRONG_PASSWORD
    assert db.verify("BILL", "wrong").outcome is Outcome.WRONG_PASSWORD
    # Oversized input is an unknown licence, not an exception.
    assert db.verify("x" * 10_000, "y" * 10_000).outcome is Outcome.UNKNOWN_LICENCE


def test_changes_take_effect(db):
    db.add("HL", "old", now=NOW)
    db.set_password("HL", "new")
    assert db.verify("HL", "old").outcome is Outcome.WRONG_PASSWORD
    assert db.verify("HL", "new").accepted
    db.set_level("HL", 7)
    assert db.verify("HL", "new").bad_user_level == 7
    db.set_state("HL", State.SUSPENDED)
    assert db.verify("HL", "new").outcome is Outcome.SUSPENDED
    db.set_state("HL", State.ACTIVE)
    db.set_console("HL", "c1")
    assert db.verify("HL", "new", "c2").outcome is Outcome.WRONG_CONSOLE
    db.set_console("HL", None)
    assert db.verify("HL", "new", "c2").accepted


def test_password_hashes_are_scrypt_salted_and_never_stored_in_clear(tmp_path):
    stored = hash_password("hunter2", 10)
    assert stored.startswith("$scrypt$ln=10,r=8,p=1$")
    assert hash_password("hunter2", 10) != stored  # a fresh salt each time
    assert check_password("hunter2", stored)
    assert not check_password("hunter3", stored)
    for broken in ("", "plain", "$md5$x$y$z", "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", stored + "!"):
        assert not check_password("hunter2", broken)
    path = tmp_path / "a.sqlite3"
    with Accounts.open(path, scrypt_log2_n=FAST) as db:
        db.add("HL", "hunter2-secret", now=NOW)
    for f in tmp_path.iterdir():
        assert b"hunter2-secret" not in f.read_bytes()


def test_the_default_cost_verifies(tmp_path):
    with open_accounts(AccountSettings(), tmp_path) as db:
        assert db.path == tmp_path / "accounts.sqlite3"
        db.add("HL", "pw", now=NOW)
        assert db.verify("HL", "pw").accepted


def test_stored_hashes_keep_their_cost_when_the_setting_changes(tmp_path):
    path = tmp_path / "a.sqlite3"
    with Accounts.open(path, scrypt_log2_n=FAST) as db:
        db.add("HL", "pw", now=NOW)
    with Accounts.open(path, scrypt_log2_n=12) as db:
        assert db.verify("HL", "pw").accepted


def test_a_foreign_or_newer_file_is_refused_not_damaged(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_bytes(b"this is not sqlite at all, just some text" * 10)
    with pytest.raises(AccountsError, match="not an accounts database"):
        Accounts.open(text)
    assert text.read_bytes().startswith(b"this is not sqlite")

    other = tmp_path / "other.sqlite3"
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    with pytest.raises(AccountsError, match="not dcsim's accounts database"):
        Accounts.open(other)

    newer = tmp_path / "newer.sqlite3"
    Accounts.open(newer).close()
    raw = sqlite3.connect(newer)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(AccountsError, match="newer than this dcsim knows"):
        Accounts.open(newer)


def test_two_connections_see_each_others_commits(tmp_path):
    path = tmp_path / "a.sqlite3"
    with (
        Accounts.open(path, scrypt_log2_n=FAST) as server,
        Accounts.open(path, scrypt_log2_n=FAST) as cli,
    ):
        assert server.verify("HL", "pw").outcome is Outcome.UNKNOWN_LICENCE
        cli.add("HL", "pw", now=NOW)
        assert server.verify("HL", "pw").accepted
        cli.set_state("HL", State.SUSPENDED)
        assert server.verify("HL", "pw").outcome is Outcome.SUSPENDED


@given(
    licence=st.text(max_size=80),
    password=st.text(max_size=300),
    console=st.none() | st.text(max_size=80),
)
def test_verify_never_raises(tmp_path_factory, licence, password, console):
    path = tmp_path_factory.getbasetemp() / "fuzz.sqlite3"
    with Accounts.open(path, scrypt_log2_n=FAST) as db:
        if db.get("HL") is None:
            db.add("HL", "pw", now=NOW, console_id="c")
        decision = db.verify(licence, password, console)
        assert decision.outcome in Outcome
        right = licence == "HL" and password == "pw" and console in (None, "c")
        assert decision.accepted == right


WRITER = textwrap.dedent(
    """
    import sys
    from dcsim.auth.accounts import Accounts
    db = Accounts.open(sys.argv[1], scrypt_log2_n=10)
    i = int(sys.argv[2])
    while True:
        db.add(f"K{i:06d}", "pw", now=0.0)
        db.set_level(f"K{i:06d}", i % 256)
        print(i, flush=True)          # reported only after both commits returned
        i += 1
    """
)


@pytest.mark.slow
def test_a_writer_killed_mid_write_loses_nothing_it_committed(tmp_path):
    path = tmp_path / "accounts.sqlite3"
    committed: list[int] = []
    start = 0
    for round_ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        while len(committed) < 40 * (round_ + 1):
            line = child.stdout.readline()
            assert line, "the writer died on its own"
            committed.append(int(line))
        os.kill(child.pid, signal.SIGKILL)  # while it is in the middle of the next writes
        child.wait()
        assert child.returncode == -signal.SIGKILL
        # Whatever it printed after our last read also committed; read it to resume after.
        committed += [int(x) for x in child.stdout.read().split()]
        child.stdout.close()
        with Accounts.open(path, scrypt_log2_n=FAST) as db:
            present = {a.licence_id: a for a in db.list()}
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        raw.close()
        for i in committed:
            assert present[f"K{i:06d}"].bad_user_level == i % 256
        start = max(int(k[1:]) for k in present) + 1
