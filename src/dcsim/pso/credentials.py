"""Who may log in: the credential policies of the login server.

The session core never decides this itself: it emits a :class:`Credentials` request and
waits for a :class:`Verdict`; the Twisted edge runs the configured policy (a database
lookup or an scrypt hash may take milliseconds, so it may run in a thread) and hands
the verdict back.

Policies (``pso.credentials``):

* ``accept-any``: everyone (the revival default).
* ``sylverant``: the shape checks of Sylverant's login server (``keycheck()``): the
  serial is 8 characters of 0-9/A-F, the access key 8 letters or digits, and access keys
  of one repeated digit or 12345678, 87654321, 98765432 are refused.
* ``sega-serial``: the serial must pass Sega's algorithm for the disc's region
  (:mod:`dcsim.pso.serial`).
* ``accounts``: the serial and access key must be a registered account in the accounts
  database shared with the licence server (:mod:`dcsim.auth.accounts`): the serial is
  the licence ID, the access key the password, and the hardware id (as 12 hex digits)
  the console ID an account may be bound to.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dcsim.auth.accounts import Accounts, Outcome
from dcsim.pso import serial as sega_serial
from dcsim.pso.commands import CheckResult
from dcsim.pso.version import Region, Version, region_of


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a client presented (its 90/92/93, 9A/9C/9D or 88/8A/8B)."""

    version: Version
    #: 0 where the command does not carry it (DC v1's 90).
    sub_version: int
    serial: str
    access_key: str
    hardware_id: int = 0
    #: The 9C registration password (the Hunter's License password), if any.
    password: str | None = None

    def __repr__(self) -> str:  # the access key and password stay out of logs
        return (
            f"Credentials({self.version.value}, sub_version=0x{self.sub_version:02X}, "
            f"serial={self.serial!r})"
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a credential check: the result flag and, when accepted, the guild
    card number the player gets and whether this is the first time it was seen."""

    result: CheckResult
    reason: str = ""
    guild_card: int = 0
    new_player: bool = False

    @property
    def accepted(self) -> bool:
        return self.result.accepted


class Policy(Protocol):
    """Decides whether credentials may log in (before a guild card is assigned)."""

    #: True when :meth:`check` is slow enough (scrypt) to run off the reactor thread.
    blocking: bool

    def check(self, credentials: Credentials) -> Verdict: ...


class AcceptAny:
    blocking = False

    def check(self, credentials: Credentials) -> Verdict:
        return Verdict(CheckResult.OK_SAVE)


_HEX8 = re.compile(r"[0-9A-F]{8}")
_ALNUM8 = re.compile(r"[0-9A-Za-z]{8}")
_WEAK_KEYS = frozenset({d * 8 for d in "0123456789"} | {"12345678", "87654321", "98765432"})


class SylverantRules:
    blocking = False

    def check(self, credentials: Credentials) -> Verdict:
        if credentials.version is Version.NTE:
            return Verdict(CheckResult.OK_SAVE)  # NTE credentials are 16 free characters
        if not _HEX8.fullmatch(credentials.serial):
            return Verdict(CheckResult.BAD_SERIAL, "the serial is not 8 characters of 0-9, A-F")
        if not _ALNUM8.fullmatch(credentials.access_key):
            return Verdict(CheckResult.BAD_ACCESS_KEY, "the access key is not 8 letters or digits")
        if credentials.access_key in _WEAK_KEYS:
            return Verdict(CheckResult.BAD_ACCESS_KEY, "the access key is a refused pattern")
        return Verdict(CheckResult.OK_SAVE)


class SegaSerial:
    blocking = False

    def check(self, credentials: Credentials) -> Verdict:
        if credentials.version is Version.NTE:
            return Verdict(CheckResult.OK_SAVE)  # the trial edition had its own accounts
        if credentials.sub_version == 0:  # v1's 90: the region is not known yet
            regions = list(Region)
        elif (region := region_of(credentials.sub_version)) is not None:
            regions = [region]
        else:
            return Verdict(
                CheckResult.BAD_SERIAL,
                f"sub_version 0x{credentials.sub_version:02X} names no known region",
            )
        if not any(sega_serial.is_valid(credentials.serial, r) for r in regions):
            names = "/".join(r.name for r in regions)
            return Verdict(
                CheckResult.BAD_SERIAL,
                f"serial {credentials.serial!r} fails Sega's check for {names}",
            )
        return Verdict(CheckResult.OK_SAVE)


#: What each accounts outcome becomes in the 90/9A flag (and in the ship's refusal).
ACCOUNT_RESULTS = {
    Outcome.ACCEPTED: CheckResult.OK_SAVE,
    Outcome.UNKNOWN_LICENCE: CheckResult.BAD_SERIAL,
    Outcome.WRONG_PASSWORD: CheckResult.BAD_ACCESS_KEY,
    Outcome.WRONG_CONSOLE: CheckResult.NOT_REGISTERED,
    Outcome.SUSPENDED: CheckResult.SUSPENDED,
    Outcome.BILLING_ERROR: CheckResult.SUSPENDED_OTHER,
}


class RegisteredAccounts:
    """Registered accounts only. A check costs one scrypt hash (tens of milliseconds),
    so it is ``blocking`` and the edge runs it in a thread; each thread opens its own
    connection to the database (SQLite connections stay in their thread)."""

    blocking = True

    def __init__(self, path: Path, scrypt_log2_n: int) -> None:
        self.path = path
        self.scrypt_log2_n = scrypt_log2_n
        self._local = threading.local()
        self._open()  # fail now, with the accounts database's own error, if it cannot open

    def _open(self) -> Accounts:
        db = getattr(self._local, "db", None)
        if db is None:
            db = Accounts.open(self.path, scrypt_log2_n=self.scrypt_log2_n)
            self._local.db = db
        return db

    def check(self, credentials: Credentials) -> Verdict:
        console = f"{credentials.hardware_id:012x}" if credentials.hardware_id else None
        decision = self._open().verify(credentials.serial, credentials.access_key, console)
        reason = "" if decision.accepted else f"accounts: {decision.outcome.value}"
        return Verdict(ACCOUNT_RESULTS[decision.outcome], reason)


POLICIES: dict[str, type[AcceptAny] | type[SylverantRules] | type[SegaSerial]] = {
    "accept-any": AcceptAny,
    "sylverant": SylverantRules,
    "sega-serial": SegaSerial,
}
