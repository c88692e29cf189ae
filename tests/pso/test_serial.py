"""Sega's serial number check (newserv DCSerialNumbers.cc, re-implemented)."""

from __future__ import annotations

import random

import pytest

from dcsim.pso import serial
from dcsim.pso.version import Region

# Stretches of newserv's prime tables (src/DCSerialNumbers.cc at commit 0522b539), to
# show our generated tables are the same: the start of primes1 and of the US slots,
# the ends of primes2, and both ends of primes3.
NEWSERV_PRIMES1_START = [0x65, 0x67, 0x6B, 0x6D, 0x71, 0x7F, 0x83, 0x89, 0x8B, 0x95]
NEWSERV_PRIMES1_END = [0x3CB, 0x3D1, 0x3D7, 0x3DF, 0x3E5]
NEWSERV_PRIMES2_START = [0x3F1, 0x3F5, 0x3FB, 0x3FD, 0x407, 0x409, 0x40F, 0x419]
NEWSERV_PRIMES2_END = [0x26C3, 0x26C9, 0x26CB, 0x26D5, 0x26DD, 0x26EF, 0x26F5]
NEWSERV_PRIMES3_START = [0x2717, 0x2719, 0x2735, 0x2737, 0x274D, 0x2753, 0x2755]
NEWSERV_PRIMES3_END = [0x185F5, 0x185F9, 0x185FF, 0x18613, 0x1861F]
NEWSERV_PRIMES3_MIDDLE = [0xFFD9, 0xFFEF, 0xFFF1, 0x10001, 0x10003, 0x10007, 0x1000F]


def test_tables_match_newserv():
    assert list(serial.PRIMES1[:10]) == NEWSERV_PRIMES1_START
    assert list(serial.PRIMES1[-5:]) == NEWSERV_PRIMES1_END
    assert list(serial.PRIMES2[:8]) == NEWSERV_PRIMES2_START
    assert list(serial.PRIMES2[-7:]) == NEWSERV_PRIMES2_END
    assert list(serial.PRIMES3[:7]) == NEWSERV_PRIMES3_START
    assert list(serial.PRIMES3[-5:]) == NEWSERV_PRIMES3_END
    i = serial.PRIMES3.index(0xFFD9)
    assert list(serial.PRIMES3[i : i + 7]) == NEWSERV_PRIMES3_MIDDLE
    # The US slots (30 * 1 ... + 2) are 0x107, 0x10D, 0x10F in newserv's table.
    assert serial.PRIMES1[30:33] == (0x107, 0x10D, 0x10F)


def test_substitution_round_trip():
    for value in (0, 1, 0x12345678, 0xFFFFFFFF):
        assert serial.decode(serial.encode(value)) == value
    assert serial.decode("77777777") == 0x11111111
    assert serial.decode("7777777") is None
    assert serial.decode("7777777G") is None


@pytest.mark.parametrize("region", list(Region))
@pytest.mark.parametrize("subdomain", [0, 1, 2])
def test_generated_serials_pass_for_their_region(region, subdomain):
    rng = random.Random(f"{region}{subdomain}")
    elsewhere = 0
    for _ in range(20):
        s = serial.generate(region, subdomain, rng)
        assert serial.is_valid(s, region)
        assert serial.is_valid(s, region, subdomain)
        elsewhere += any(serial.is_valid(s, r) for r in Region if r is not region)
    # Products wrap modulo 2**32, so a number can now and then factor for two regions.
    assert elsewhere <= 4


def test_the_recorded_us_serial_is_a_us_serial():
    # newserv's recorded US v1 client logs in with 77777777: 269 * 6197 * 28513.
    assert serial.is_valid("77777777", Region.US)
    assert serial.is_valid("77777777", Region.US, 1)
    assert not serial.is_valid("77777777", Region.US, 0)
    assert not serial.is_valid("77777777", Region.JP)


def test_most_numbers_are_not_serials():
    rng = random.Random(3)
    hits = sum(serial.is_valid(serial.encode(rng.getrandbits(32)), Region.JP) for _ in range(300))
    assert hits < 10  # about 0.6% of all numbers are valid for a region
