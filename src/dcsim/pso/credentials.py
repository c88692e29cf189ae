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
  database shared with the licence server (:mod:`dcsim.auth.accounts`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from dcsim.pso import serial as sega_serial
from dcsim.pso.commands import CheckResult
from dcsim.pso.version import Version, region_of


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a client presented (its 90/92/93, 9A/9C/9D or 88/8A/8B)."""

    version: Version
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
        region = region_of(credentials.sub_version)
        if region is None:
            return Verdict(
                CheckResult.BAD_SERIAL,
                f"sub_version 0x{credentials.sub_version:02X} names no known region",
            )
        if not sega_serial.is_valid(credentials.serial, region):
            return Verdict(
                CheckResult.BAD_SERIAL,
                f"serial {credentials.serial!r} fails Sega's check for {region.name}",
            )
        return Verdict(CheckResult.OK_SAVE)


POLICIES: dict[str, type[AcceptAny] | type[SylverantRules] | type[SegaSerial]] = {
    "accept-any": AcceptAny,
    "sylverant": SylverantRules,
    "sega-serial": SegaSerial,
}
