"""Handshake codecs: the console's hello byte for byte, round trips, malformed input."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.tls.profiles import NTSSL_CONSOLE, NTSSL_CONSOLE_SPECS
from dcsim.tls.suites import CipherSuite, parse_suite, suite_name
from dcsim.tls.wire import (
    SSL3,
    TLS1_0,
    Alert,
    AlertDescription,
    AlertLevel,
    CertificateMsg,
    ClientHello,
    ClientKeyExchange,
    Finished,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    TlsError,
    alert_for_version,
)

from .helpers import client

#: The Dreamcast's ntSSL hello as shared/research/pso_servers.md §1.5 gives it: SSLv2
#: header 80 47, msg type 1, version 3.0, 0x1E bytes of specs, no session ID, a 32-byte
#: challenge; specs 01 00 80, 02 00 80, 00 00 00 ... 00 00 09.
CONSOLE_HEADER = bytes.fromhex("8047 01 0300 001e 0000 0020")
CONSOLE_SPECS = bytes.fromhex(
    "010080 020080 000000 000001 000002 000003 000004 000005 000008 000009"
)
CHALLENGE = bytes(range(0xA0, 0xC0))
CONSOLE_HELLO = CONSOLE_HEADER + CONSOLE_SPECS + CHALLENGE


def test_the_consoles_hello_parses():
    hello = ClientHello.parse_v2(CONSOLE_HELLO[2:])
    assert hello.v2_format and hello.version == SSL3
    assert hello.session_id == b""
    assert hello.random == CHALLENGE
    assert hello.suites == (0, 1, 2, 3, 4, 5, 8, 9)
    assert hello.v2_specs[:2] == (0x010080, 0x020080)


def test_the_console_client_profile_sends_it_byte_for_byte():
    core = client(NTSSL_CONSOLE, seed=5)
    sent = core.data_to_send()
    challenge = random.Random(5).randbytes(32)
    assert sent == CONSOLE_HEADER + CONSOLE_SPECS + challenge
    assert len(NTSSL_CONSOLE_SPECS) * 3 == 0x1E


def test_a_short_challenge_is_right_justified():
    message = bytes.fromhex("01 0300 0003 0000 0010") + bytes.fromhex("000004") + b"C" * 16
    hello = ClientHello.parse_v2(message)
    assert hello.random == bytes(16) + b"C" * 16


@pytest.mark.parametrize(
    ("message", "alert", "where"),
    [
        (bytes.fromhex("02 0300 0003 0000 0020"), AlertDescription.UNEXPECTED_MESSAGE, "no hello"),
        (bytes.fromhex("01 0300 0004 0000 0020"), AlertDescription.DECODE_ERROR, "cipher specs"),
        (
            bytes.fromhex("01 0300 0003 0000 0008") + b"\0" * 11,
            AlertDescription.DECODE_ERROR,
            "challenge",
        ),
        (
            bytes.fromhex("01 0300 0003 0000 0020") + b"\0" * 10,
            AlertDescription.DECODE_ERROR,
            "truncated",
        ),
        (
            bytes.fromhex("01 0300 0003 0000 0010") + b"\0" * 20,
            AlertDescription.DECODE_ERROR,
            "unexpected",
        ),
    ],
)
def test_malformed_v2_hellos(message, alert, where):
    with pytest.raises(TlsError) as e:
        ClientHello.parse_v2(message)
    assert e.value.alert is alert and where in e.value.detail


def test_v3_messages_round_trip():
    hello = ClientHello(TLS1_0, b"r" * 32, b"s" * 32, (4, 5, 0x2F), (0,), b"")
    assert ClientHello.parse(hello.pack()[4:]) == hello
    sh = ServerHello(SSL3, b"R" * 32, b"", 4)
    assert sh.pack()[:6] == bytes.fromhex("020000260300")
    assert ServerHello.parse(sh.pack()[4:]) == sh
    cert = CertificateMsg((b"leaf", b"ca"))
    assert CertificateMsg.parse(cert.pack()[4:]) == cert
    ske = ServerKeyExchange(b"\xc0" * 64, b"\x01\x00\x01", b"S" * 128)
    assert ServerKeyExchange.parse(ske.pack()[4:]) == ske
    assert ServerHelloDone().pack() == bytes.fromhex("0e000000")
    assert Finished(b"f" * 12).pack() == bytes.fromhex("1400000c") + b"f" * 12


def test_client_key_exchange_differs_by_version():
    cke = ClientKeyExchange(b"E" * 128)
    assert cke.pack_for(SSL3) == bytes.fromhex("10000080") + b"E" * 128  # bare (SSL 3.0)
    assert cke.pack_for(TLS1_0) == bytes.fromhex("100000820080") + b"E" * 128  # length prefix
    assert ClientKeyExchange.parse_for(b"E" * 128, SSL3) == cke
    assert ClientKeyExchange.parse_for(bytes.fromhex("0080") + b"E" * 128, TLS1_0) == cke
    with pytest.raises(TlsError, match="truncated at offset 2") as e:
        ClientKeyExchange.parse_for(b"\x00\x80" + b"E" * 127, TLS1_0)
    assert e.value.alert is AlertDescription.DECODE_ERROR


def test_truncation_names_the_offset():
    body = ClientHello(TLS1_0, b"r" * 32, b"", (4,), (0,), b"").pack()[4:]
    with pytest.raises(TlsError, match=r"ClientHello: truncated at offset 35"):
        ClientHello.parse(body[:36])


def test_alerts():
    assert Alert.parse(b"\x02\x28") == Alert(AlertLevel.FATAL, AlertDescription.HANDSHAKE_FAILURE)
    assert Alert.parse(b"\x01\xc8").description == 200  # unknown codes are kept
    with pytest.raises(TlsError):
        Alert.parse(b"\x07\x00")
    with pytest.raises(TlsError):
        Alert.parse(b"\x02")
    # SSL 3.0 peers get a code their version defines.
    assert (
        alert_for_version(AlertDescription.DECODE_ERROR, SSL3) is AlertDescription.ILLEGAL_PARAMETER
    )
    assert (
        alert_for_version(AlertDescription.DECRYPT_ERROR, SSL3)
        is AlertDescription.HANDSHAKE_FAILURE
    )
    assert (
        alert_for_version(AlertDescription.RECORD_OVERFLOW, SSL3) is AlertDescription.BAD_RECORD_MAC
    )
    assert alert_for_version(AlertDescription.DECODE_ERROR, TLS1_0) is AlertDescription.DECODE_ERROR


def test_suite_names():
    assert parse_suite("RC4-MD5") is CipherSuite.RSA_WITH_RC4_128_MD5
    assert parse_suite("ssl_rsa_with_3des_ede_cbc_sha") is CipherSuite.RSA_WITH_3DES_EDE_CBC_SHA
    assert suite_name(0x0003) == "EXP-RC4-MD5" and suite_name(0x1301) == "0x1301"
    with pytest.raises(ValueError, match="unknown cipher suite 'RC5'"):
        parse_suite("RC5")
    with pytest.raises(ValueError, match="cannot be negotiated"):
        parse_suite("NULL_WITH_NULL_NULL")


PARSERS = [
    ClientHello.parse,
    ClientHello.parse_v2,
    ServerHello.parse,
    CertificateMsg.parse,
    ServerKeyExchange.parse,
    ServerHelloDone.parse,
    Alert.parse,
    lambda b: ClientKeyExchange.parse_for(b, TLS1_0),
    lambda b: ClientKeyExchange.parse_for(b, SSL3),
]


@given(data=st.binary(max_size=300), which=st.integers(0, len(PARSERS) - 1))
def test_parsers_raise_only_tls_errors(data, which):
    try:
        PARSERS[which](data)
    except TlsError as e:
        assert isinstance(e.alert, AlertDescription) and e.detail


@given(st.binary(min_size=1, max_size=80))
def test_mutated_console_hellos_never_crash(noise):
    data = bytearray(CONSOLE_HELLO[2:])
    for i, b in enumerate(noise):
        data[(i * 7 + b) % len(data)] ^= b
    try:
        hello = ClientHello.parse_v2(bytes(data))
    except TlsError as e:
        assert isinstance(e.alert, AlertDescription)
    else:
        assert len(hello.random) == 32
