"""Credential policies."""

from __future__ import annotations

import random

import pytest

from dcsim.pso import serial
from dcsim.pso.commands import CheckResult
from dcsim.pso.credentials import AcceptAny, Credentials, SegaSerial, SylverantRules
from dcsim.pso.version import Region, Version


def creds(serial_text="0123ABCD", key="A1B2C3D4", sub=0x21, version=Version.V1):
    return Credentials(version, sub, serial_text, key)


def test_accept_any():
    assert AcceptAny().check(creds("", "")).accepted


@pytest.mark.parametrize(
    ("serial_text", "key", "result"),
    [
        ("0123ABCD", "A1B2C3D4", CheckResult.OK_SAVE),
        ("0123abcd", "A1B2C3D4", CheckResult.BAD_SERIAL),
        ("0123ABC", "A1B2C3D4", CheckResult.BAD_SERIAL),
        ("0123ABCG", "A1B2C3D4", CheckResult.BAD_SERIAL),
        ("0123ABCD", "A1B2C3D", CheckResult.BAD_ACCESS_KEY),
        ("0123ABCD", "A1B2C3D!", CheckResult.BAD_ACCESS_KEY),
        ("0123ABCD", "77777777", CheckResult.BAD_ACCESS_KEY),
        ("0123ABCD", "12345678", CheckResult.BAD_ACCESS_KEY),
        ("0123ABCD", "98765432", CheckResult.BAD_ACCESS_KEY),
    ],
)
def test_sylverant_rules(serial_text, key, result):
    assert SylverantRules().check(creds(serial_text, key)).result is result


def test_sega_serial_checks_the_region_of_the_disc():
    rng = random.Random(1)
    jp = serial.generate(Region.JP, 1, rng)
    policy = SegaSerial()
    assert policy.check(creds(jp, sub=0x25, version=Version.V2)).accepted
    refused = policy.check(creds(jp, sub=0x26, version=Version.V2))
    assert refused.result is CheckResult.BAD_SERIAL and "US" in refused.reason
    unknown = policy.check(creds(jp, sub=0x24))
    assert "no known region" in unknown.reason
    # DC v1's 90 carries no sub_version: any region will do until its 93.
    assert policy.check(creds(jp, sub=0)).accepted
    assert "JP/US/EU" in policy.check(creds("00000000", sub=0)).reason


def test_the_access_key_stays_out_of_repr():
    assert "A1B2C3D4" not in repr(creds())
