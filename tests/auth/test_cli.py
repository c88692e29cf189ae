"""``dcsim accounts``: the subcommands, one-line errors, passwords only from stdin/prompt."""

from __future__ import annotations

import json
import random
import socket
import subprocess
from contextlib import AbstractContextManager

import pytest

from dcsim.auth.accounts import Accounts, Outcome
from dcsim.tls.connection import TlsClient
from dcsim.tls.profiles import NTSSL_CONSOLE
from tests.running import Running, run_dcsim, started_dcsim
from tests.tls.helpers import drive


def dcsim(tmp_path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    config = tmp_path / "fast.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[accounts]\nscrypt_log2_n = 10\n')
    return run_dcsim(*args, config=config, input=stdin)


def test_the_account_lifecycle(tmp_path):
    added = dcsim(tmp_path, "accounts", "add", "HL0001", "--console", "c1", stdin="s3cret\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout == "added HL0001\n"
    assert "s3cret" not in added.stdout + added.stderr
    dcsim(tmp_path, "accounts", "add", "HL0002", "--level", "3", stdin="other\n")

    listing = dcsim(tmp_path, "accounts", "list")
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["licence", "ID", "console", "ID", "state", "level", "created"]
    assert lines[1].split()[:4] == ["HL0001", "c1", "active", "0"]
    assert lines[2].split()[:4] == ["HL0002", "-", "active", "3"]

    listed = dcsim(tmp_path, "accounts", "list", "--json").stdout.splitlines()
    rows = [json.loads(x) for x in listed]
    assert [r["licence_id"] for r in rows] == ["HL0001", "HL0002"]
    shown = json.loads(dcsim(tmp_path, "accounts", "show", "HL0002", "--json").stdout)
    assert shown["bad_user_level"] == 3 and shown["state"] == "active"
    assert "state: active" in dcsim(tmp_path, "accounts", "show", "HL0001").stdout

    assert dcsim(tmp_path, "accounts", "suspend", "HL0001").stdout == "HL0001: suspended\n"
    assert dcsim(tmp_path, "accounts", "set-level", "HL0002", "5").returncode == 0
    dcsim(tmp_path, "accounts", "set-state", "HL0002", "billing-error")
    assert dcsim(tmp_path, "accounts", "passwd", "HL0002", stdin="newpw\n").returncode == 0
    with Accounts.open(tmp_path / "accounts.sqlite3") as db:
        assert db.verify("HL0001", "s3cret").outcome is Outcome.SUSPENDED
        decision = db.verify("HL0002", "newpw")
        assert decision.outcome is Outcome.BILLING_ERROR and decision.bad_user_level == 5

    assert dcsim(tmp_path, "accounts", "delete", "HL0002").stdout == "deleted HL0002\n"
    assert "HL0002" not in dcsim(tmp_path, "accounts", "list").stdout


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("accounts", "show", "NOBODY"), "", 1, "dcsim: no account with licence ID 'NOBODY'\n"),
        (("accounts", "delete", "NOBODY"), "", 1, "dcsim: no account with licence ID 'NOBODY'\n"),
        (("accounts", "suspend", "NOBODY"), "", 1, "dcsim: no account with licence ID 'NOBODY'\n"),
        (("accounts", "add", "HL"), "", 2, "dcsim: no password given"),
        (("accounts", "add", " HL"), "pw\n", 2, "dcsim: a licence ID is 1 to 64"),
    ],
)
def test_mistakes_are_one_line(tmp_path, args, stdin, code, message):
    result = dcsim(tmp_path, *args, stdin=stdin)
    assert result.returncode == code
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_duplicates_and_bad_levels(tmp_path):
    dcsim(tmp_path, "accounts", "add", "HL", stdin="pw\n")
    again = dcsim(tmp_path, "accounts", "add", "HL", stdin="pw\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = dcsim(tmp_path, "accounts", "set-level", "HL", "300")
    assert bad.returncode == 2 and "expected a level in [0, 255]" in bad.stderr


def test_a_database_that_is_not_one_fails_cleanly(tmp_path):
    (tmp_path / "junk").write_text("not a database, just text " * 20)
    result = dcsim(tmp_path, "accounts", "--database", str(tmp_path / "junk"), "list")
    assert result.returncode == 1
    assert "not an accounts database" in result.stderr and "Traceback" not in result.stderr


def start_auth(tmp_path, *args: str) -> AbstractContextManager[Running]:
    config = tmp_path / "fast.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[accounts]\nscrypt_log2_n = 10\n'
        "[auth.certificates]\nkey_bits = 512\nca_key_bits = 512\n"
    )
    return started_dcsim("auth", *args, config=config, until="licence server on", stop_timeout=20)


def https_post(port: int, body: bytes) -> bytes:
    request = (
        b"POST /cgi-bin/auth.cgi HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _, reply = drive(TlsClient(NTSSL_CONSOLE, random.Random(1)), sock, request)
    return reply


@pytest.mark.slow
def test_dcsim_auth_decides_from_the_accounts(tmp_path):
    dcsim(tmp_path, "accounts", "add", "HL0001", stdin="right\n")
    with start_auth(tmp_path, "--listen", "tcp:127.0.0.1:0", "--policy", "accounts") as auth:
        assert auth.output[0].startswith("licence server on tcp:127.0.0.1:"), auth.text
        port = auth.address("licence server on").port
        assert https_post(port, b"id=HL0001&password=right").startswith(b"HTTP/1.0 200 OK")
        refused = https_post(port, b"id=HL0001&password=wrong")
        assert refused.startswith(b"HTTP/1.0 403 ")
        assert refused.endswith(b"result=wrong-password\r\ncause=6\r\n")
        code = auth.stop()
    err = "".join(auth.log)
    assert code == 0
    assert "right" not in err and "wrong" not in err.replace("wrong-password", "")
    assert "licence check from 127.0.0.1:" in err and "id=HL0001&password=<redacted>" in err
    assert (tmp_path / "tls" / "server.pem").exists()


def test_dcsim_auth_reports_a_busy_port_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = dcsim(tmp_path, "auth", "--listen", f"tcp:127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.startswith(f"dcsim: cannot listen on tcp:127.0.0.1:{port}: ")
    assert result.stderr.count("\n") == 1


def test_dcsim_auth_refuses_udp_and_bad_profiles(tmp_path):
    result = dcsim(tmp_path, "auth", "--listen", "udp:127.0.0.1:0")
    assert result.returncode == 2 and "listens on tcp only" in result.stderr
    result = dcsim(tmp_path, "auth", "--profile", "fast")
    assert result.returncode == 2 and "unknown server profile 'fast'" in result.stderr
