"""The licence decision table: each outcome's HTTP answer, cause and body."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from dcsim.auth.accounts import Accounts, Outcome, State
from dcsim.auth.policy import ANSWERS, FormFields, Policy, check_licence
from dcsim.causes import Cause

FIELDS = FormFields(licence="id", password="pw", console="console")


@pytest.fixture
def db(tmp_path):
    with Accounts.open(tmp_path / "a.sqlite3", scrypt_log2_n=10) as accounts:
        accounts.add("OK", "pw", now=0.0)
        accounts.add("WARN", "pw", now=0.0, bad_user_level=4)
        accounts.add("BOUND", "pw", now=0.0, console_id="dc-1")
        accounts.add("SUSP", "pw", now=0.0, state=State.SUSPENDED, bad_user_level=9)
        accounts.add("BILL", "pw", now=0.0, state=State.BILLING_ERROR)
        yield accounts


def test_every_outcome_has_an_answer():
    assert set(ANSWERS) == {*Outcome, None}


@pytest.mark.parametrize(
    ("form", "status", "cause", "body"),
    [
        ({"id": "OK", "pw": "pw"}, 200, None, b""),
        ({"id": "WARN", "pw": "pw"}, 200, None, b"result=accepted\r\nlevel=4\r\n"),
        ({"id": "BOUND", "pw": "pw", "console": "dc-1"}, 200, None, b""),
        ({"id": "NONE", "pw": "pw"}, 403, 6, b"result=unknown-licence\r\ncause=6\r\n"),
        ({"id": "OK", "pw": "no"}, 403, 6, b"result=wrong-password\r\ncause=6\r\n"),
        (
            {"id": "BOUND", "pw": "pw", "console": "dc-2"},
            403,
            6,
            b"result=wrong-console\r\ncause=6\r\n",
        ),
        ({"id": "SUSP", "pw": "pw"}, 403, 6, b"result=suspended\r\ncause=6\r\nlevel=9\r\n"),
        ({"id": "BILL", "pw": "pw"}, 402, 7, b"result=billing-error\r\ncause=7\r\n"),
        ({"id": "OK"}, 400, 6, b"result=malformed\r\ncause=6\r\n"),
        ({}, 400, 6, b"result=malformed\r\ncause=6\r\n"),
    ],
)
def test_the_accounts_policy(db, form, status, cause, body):
    verdict = check_licence(form, Policy.ACCOUNTS, FIELDS, db)
    assert verdict.answer.status == HTTPStatus(status)
    assert verdict.cause == (Cause(cause) if cause else None)
    assert verdict.accepted == (status == 200)
    assert verdict.body() == body


def test_the_revival_policy_accepts_everything_without_a_database():
    verdict = check_licence({}, Policy.REVIVAL, FIELDS, None)
    assert verdict.accepted and verdict.body() == b"" and verdict.cause is None


def test_the_accounts_policy_needs_a_database():
    with pytest.raises(ValueError, match="needs an accounts database"):
        check_licence({"id": "x", "pw": "y"}, Policy.ACCOUNTS, FIELDS, None)
