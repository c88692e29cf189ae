"""Sega's check of Dreamcast PSO serial numbers.

A serial is 8 hexadecimal characters. Each character goes through a fixed substitution,
and the resulting 32-bit number must equal, modulo 2**32, a product ``p1 * p2 * p3`` of
three primes: p2 from the primes in [1009, 9973], p3 from the primes in [10007, 99871],
and p1 from three slots of the primes in [101, 997] chosen by the region ("domain": 0
JP, 1 US, 2 EU; slots ``30 * domain`` to ``30 * domain + 2``) and, within them, by the
"subdomain". newserv's generator uses subdomain 0 for v1 and 1 for v2, but that meaning
is inferred, and the recorded US v1 session in tests/data/newserv/ logs in with serial
77777777, which is a subdomain-1 serial; so the login check looks at the region only.

Source: newserv ``src/DCSerialNumbers.cc``, whose slow check is described there as
Sega's implementation; its prime tables are consecutive primes, which we generate
(tests/pso/test_serial.py compares stretches of them with excerpts of newserv's tables).
"""

from __future__ import annotations

import random

from dcsim.pso.version import Region

_FORWARD = dict(zip("0123456789ABCDEF", "5A76D2C1F08B3E94", strict=True))
_REVERSE = {v: k for k, v in _FORWARD.items()}
_MASK = 0xFFFFFFFF
_SUBDOMAINS = 3
_DOMAIN_STRIDE = 30


def _primes(low: int, high: int) -> tuple[int, ...]:
    sieve = bytearray([1]) * (high + 1)
    sieve[0:2] = b"\0\0"
    for n in range(2, int(high**0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, high + 1, n)))
    return tuple(n for n in range(low, high + 1) if sieve[n])


PRIMES1 = _primes(101, 997)
PRIMES2 = _primes(1009, 9973)
PRIMES3 = _primes(10007, 99871)
_PRIMES3_SET = frozenset(PRIMES3)
#: The largest possible product, so the search over n + k * 2**32 is finite.
_MAX_PRODUCT = PRIMES1[-1] * PRIMES2[-1] * PRIMES3[-1]


def decode(serial: str) -> int | None:
    """The number a serial stands for, or None if it is not 8 hex characters."""
    if len(serial) != 8:
        return None
    try:
        return int("".join(_FORWARD[c] for c in serial.upper()), 16)
    except KeyError:
        return None


def encode(value: int) -> str:
    """The serial text for a 32-bit number (the inverse of :func:`decode`)."""
    return "".join(_REVERSE[c] for c in f"{value & _MASK:08X}")


def _first_primes(region: Region, subdomain: int | None) -> tuple[int, ...]:
    base = _DOMAIN_STRIDE * region.domain
    if subdomain is None:
        return PRIMES1[base : base + _SUBDOMAINS]
    return (PRIMES1[base + subdomain % _SUBDOMAINS],)


def is_valid(serial: str, region: Region, subdomain: int | None = None) -> bool:
    """Whether *serial* passes Sega's check for *region* (and *subdomain*, if given)."""
    value = decode(serial)
    if value is None:
        return False
    firsts = _first_primes(region, subdomain)
    for n in range(value, _MAX_PRODUCT + 1, 1 << 32):
        for p1 in firsts:
            if n % p1:
                continue
            rest = n // p1
            for p2 in PRIMES2:
                if rest % p2 == 0 and rest // p2 in _PRIMES3_SET:
                    return True
    return False


def generate(region: Region, subdomain: int, rng: random.Random) -> str:
    """A serial that passes the check for *region* and *subdomain*."""
    p1 = _first_primes(region, subdomain)[0]
    value = p1 * rng.choice(PRIMES2) * rng.choice(PRIMES3)
    return encode(value)
