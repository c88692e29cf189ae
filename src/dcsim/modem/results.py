"""Result codes: numeric and verbal forms, the X-level filter and Sega's causes.

The numbering of the basic codes and of DELAYED/BLACKLISTED follows the Conexant
command reference (H08-15355F, table 3-14). Numeric codes for CONNECT rates above 19200
are vendor-specific; for V.34 and V.90 rates dcsim uses the ZyXEL Omni 56K table
(user's guide table 3-1) and falls back to code 1 (plain ``CONNECT``) for a rate that
neither table lists. See shared/research/modem_ppp.md §2.3.
"""

from __future__ import annotations

from enum import IntEnum

from dcsim.causes import Cause


class Result(IntEnum):
    OK = 0
    CONNECT = 1
    RING = 2
    NO_CARRIER = 3
    ERROR = 4
    NO_DIALTONE = 6
    BUSY = 7
    NO_ANSWER = 8
    DELAYED = 24
    BLACKLISTED = 32

    @property
    def verbal(self) -> str:
        return self.name.replace("_", " ")


# Numeric codes of "CONNECT <rate>" (X1 and above).
CONNECT_CODES: dict[int, int] = {
    1200: 5,
    600: 9,
    2400: 10,
    4800: 11,
    9600: 12,
    7200: 13,
    12000: 14,
    14400: 15,
    19200: 16,
    38400: 17,
    57600: 18,
    115200: 19,
    # ZyXEL Omni 56K: V.34 and V.90 rates
    31200: 35,
    33600: 38,
    28800: 39,
    26400: 40,
    24000: 41,
    21600: 42,
    **{
        rate: 100 + i
        for i, rate in enumerate(
            (
                56000,
                54666,
                53333,
                52000,
                50666,
                49333,
                48000,
                46666,
                45333,
                44000,
                42666,
                41333,
                40000,
                38666,
                37333,
                36000,
                34666,
                33333,
                32000,
                30666,
                29333,
                28000,
            )
        )
    },
}

# Which results each X level may show (Conexant: NO DIALTONE only at X2/X4, BUSY only at
# X3/X4, DELAYED/BLACKLISTED only at X4; a missing one becomes NO CARRIER or ERROR).
_SHOWN: dict[int, frozenset[Result]] = {
    0: frozenset({Result.OK, Result.CONNECT, Result.RING, Result.NO_CARRIER, Result.ERROR}),
}
_SHOWN[1] = _SHOWN[0] | {Result.NO_ANSWER}
_SHOWN[2] = _SHOWN[1] | {Result.NO_DIALTONE}
_SHOWN[3] = _SHOWN[1] | {Result.BUSY}
_SHOWN[4] = frozenset(Result)


def shown(result: Result, xlevel: int) -> Result:
    """The result a modem at ``X<xlevel>`` reports for *result*."""
    if result in _SHOWN[xlevel]:
        return result
    if result in (Result.DELAYED, Result.BLACKLISTED):
        return Result.ERROR
    return Result.NO_CARRIER


def connect_text(rate: int | None, xlevel: int) -> tuple[int, str]:
    """Numeric code and text of a CONNECT; X0 shows no rate."""
    if xlevel == 0 or rate is None:
        return int(Result.CONNECT), "CONNECT"
    return CONNECT_CODES.get(rate, int(Result.CONNECT)), f"CONNECT {rate}"


def format_result(code: int, text: str, *, verbose: bool, cr: int, lf: int) -> bytes:
    """``<CR><LF>TEXT<CR><LF>`` in verbose form, ``<n><CR>`` in numeric form (V.250)."""
    if verbose:
        return bytes([cr, lf]) + text.encode() + bytes([cr, lf])
    return str(code).encode() + bytes([cr])


# Sega's cause for each final result of a dial that did not connect.
DIAL_CAUSES: dict[Result, Cause] = {
    Result.BUSY: Cause.BUSY,
    Result.NO_DIALTONE: Cause.CABLE_UNPLUGGED,
    Result.NO_CARRIER: Cause.SERVER_DOWN,
    Result.NO_ANSWER: Cause.SERVER_DOWN,
    Result.DELAYED: Cause.REDIAL_RESTRICTION,
    Result.BLACKLISTED: Cause.REDIAL_RESTRICTION,
}
