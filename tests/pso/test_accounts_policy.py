"""The "registered accounts" policy over the accounts database the licence server uses."""

from __future__ import annotations

import pytest

from dcsim.auth.accounts import Accounts, State
from dcsim.pso.client import Client, LoginFailed, Phase, make_profile
from dcsim.pso.commands import CheckResult
from dcsim.pso.credentials import Credentials, RegisteredAccounts
from dcsim.pso.session import Role
from dcsim.pso.version import Region, Version
from tests.pso.harness import Server, login, pair

CHEAP = 10  # scrypt cost for tests


@pytest.fixture
def accounts(tmp_path):
    path = tmp_path / "accounts.sqlite3"
    with Accounts.open(path, scrypt_log2_n=CHEAP) as db:
        db.add("1A2B3C4D", "GOODKEY1", now=0)
        db.add("5E6F7A8B", "GOODKEY2", now=0, console_id="00000000abcd")
        db.add("9C0D1E2F", "GOODKEY3", now=0, state=State.SUSPENDED)
        db.add("3A4B5C6D", "GOODKEY4", now=0, state=State.BILLING_ERROR)
    return RegisteredAccounts(path, CHEAP)


@pytest.mark.parametrize(
    ("serial", "key", "hwid", "result"),
    [
        ("1A2B3C4D", "GOODKEY1", 0x1234, CheckResult.OK_SAVE),
        ("1A2B3C4D", "BADKEY11", 0x1234, CheckResult.BAD_ACCESS_KEY),
        ("FFFFFFFF", "GOODKEY1", 0x1234, CheckResult.BAD_SERIAL),
        ("5E6F7A8B", "GOODKEY2", 0xABCD, CheckResult.OK_SAVE),
        ("5E6F7A8B", "GOODKEY2", 0xABCE, CheckResult.NOT_REGISTERED),
        ("5E6F7A8B", "GOODKEY2", 0, CheckResult.OK_SAVE),  # v1's 90 has no hardware id
        ("9C0D1E2F", "GOODKEY3", 0, CheckResult.SUSPENDED),
        ("3A4B5C6D", "GOODKEY4", 0, CheckResult.SUSPENDED_OTHER),
    ],
)
def test_outcomes(accounts, serial, key, hwid, result):
    verdict = accounts.check(Credentials(Version.V2, 0x26, serial, key, hwid))
    assert verdict.result is result
    assert verdict.accepted == (result is CheckResult.OK_SAVE)


def test_a_registered_console_logs_in_and_a_stranger_does_not(accounts):
    login_server = Server(Role.LOGIN, policy=accounts)
    ship_server = Server(Role.SHIP, policy=accounts, guild_cards=login_server.guild_cards)
    member = make_profile(Region.JP, Version.V2, serial="1A2B3C4D", access_key="GOODKEY1")
    client, _session = login(member, login_server, ship_server)
    assert client.phase is Phase.LOBBY
    stranger = Client(make_profile(Region.JP, Version.V1, serial="0000AAAA", access_key="GOODKEY1"))
    pair(stranger, login_server.session(), login_server)
    assert stranger.failure == LoginFailed("licence check", "refused with flag 04")


def test_each_thread_gets_its_own_connection(accounts):
    from concurrent.futures import ThreadPoolExecutor

    creds = Credentials(Version.V1, 0, "1A2B3C4D", "GOODKEY1")
    with ThreadPoolExecutor(3) as pool:
        verdicts = list(pool.map(lambda _: accounts.check(creds), range(6)))
    assert all(v.accepted for v in verdicts)
