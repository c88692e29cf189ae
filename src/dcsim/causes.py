"""The causes a Dreamcast title must show for a disconnect or failure it did not cause.

From Sega's network rules for Dreamcast titles (shared/seeds/004_*.txt, summarised in
shared/seeds/README.md): every disconnect or failure not caused by the user shows a clear
reason from this list. Every layer of dcsim that ends a session reports one of these,
plus its own detailed reason.
"""

from __future__ import annotations

from enum import IntEnum


class Cause(IntEnum):
    NO_PHYSICAL_CONNECTION = 1  # no modem / adapter, no line at all
    BUSY = 2  # includes a wrong tone/pulse setting ("busy however many times you dial")
    CABLE_UNPLUGGED = 3  # the modular cable is out: no dial tone
    SERVER_DOWN = 4  # the access point or a server does not answer
    REDIAL_RESTRICTION = 5  # the Japanese limit on automatic redials (DELAYED/BLACKLISTED)
    AUTHENTICATION_FAILURE = 6  # wrong user name or password (PPP or licence check)
    BILLING_AUTHENTICATION_ERROR = 7  # the account exists but may not be charged
    AUTOMATIC_DISCONNECT = 8  # idle or maximum-duration disconnect

    @property
    def text(self) -> str:
        """The reason in words, as a title would show it."""
        return _TEXT[self]


_TEXT = {
    Cause.NO_PHYSICAL_CONNECTION: "no physical connection",
    Cause.BUSY: "the line is busy (check the tone/pulse setting)",
    Cause.CABLE_UNPLUGGED: "the modular cable is unplugged",
    Cause.SERVER_DOWN: "the server is down",
    Cause.REDIAL_RESTRICTION: "redial restriction",
    Cause.AUTHENTICATION_FAILURE: "authentication failure (user name or password)",
    Cause.BILLING_AUTHENTICATION_ERROR: "billing authentication error",
    Cause.AUTOMATIC_DISCONNECT: "automatic disconnect",
}
