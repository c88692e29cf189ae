"""The TLS cores back to back: the console's handshake, profiles, resumption, and every
kind of bad input ending in the right alert."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcsim.tls.connection import (
    AlertReceived,
    ApplicationData,
    Closed,
    HandshakeComplete,
    HelloReceived,
    State,
)
from dcsim.tls.keys import EXPORT_KEY_BITS
from dcsim.tls.profiles import (
    MODERN,
    NTSSL,
    NTSSL_CONSOLE,
    TLS10,
    WINCE_EXPORT,
    ClientProfile,
    server_profile,
)
from dcsim.tls.session import SessionCache
from dcsim.tls.suites import SUITES, CipherSuite
from dcsim.tls.wire import (
    MAX_CIPHERTEXT,
    SSL3,
    TLS1_0,
    AlertDescription,
    AlertLevel,
    ClientHello,
    ServerKeyExchange,
)

from .helpers import client, closed, events, pump, server

A = AlertDescription
S = CipherSuite


def records(data: bytes) -> list[tuple[int, int, bytes]]:
    """Split SSL 3.0/TLS records: (type, version, fragment)."""
    out = []
    while data:
        length = int.from_bytes(data[3:5], "big")
        out.append((data[0], int.from_bytes(data[1:3], "big"), data[5 : 5 + length]))
        data = data[5 + length :]
    return out


def handshake_types(fragment: bytes) -> list[int]:
    types = []
    while fragment:
        types.append(fragment[0])
        fragment = fragment[4 + int.from_bytes(fragment[1:4], "big") :]
    return types


def established(s_profile=NTSSL, c_profile=TLS10, **kw):
    s = server(s_profile, **kw)
    c = client(c_profile)
    pump(c, s)
    s_events, c_events = events(s), events(c)
    assert any(isinstance(e, HandshakeComplete) for e in s_events), s_events
    assert any(isinstance(e, HandshakeComplete) for e in c_events), c_events
    return s, c


# --- the console ---------------------------------------------------------------------------


def test_the_consoles_hello_gets_an_ssl3_server_hello_choosing_rc4_md5():
    s = server(NTSSL)
    c = client(NTSSL_CONSOLE)
    s.receive_data(c.data_to_send(), 0.1)
    flight = records(s.data_to_send())
    assert [(t, v) for t, v, _ in flight] == [(22, SSL3)] * 3  # SSL 3.0 records
    hello = flight[0][2]
    assert hello[:6] == bytes.fromhex("020000260300")  # ServerHello, 38 bytes, version 3.0
    assert hello[4 + 2 + 32 + 1 :][:3] == bytes.fromhex("000400")  # RC4-128-MD5, no compression
    assert [handshake_types(f)[0] for _, _, f in flight] == [2, 11, 14]  # Hello, Cert, Done
    (hello_event,) = [e for e in events(s) if isinstance(e, HelloReceived)]
    assert hello_event.hello.v2_format and hello_event.hello.version == SSL3


def test_the_console_completes_and_posts():
    s = server(NTSSL)
    c = client(NTSSL_CONSOLE)
    c.send(b"POST /cgi-bin/auth.cgi HTTP/1.0\r\n\r\n")  # queued until the handshake is done
    pump(c, s)
    (done,) = [e for e in events(c) if isinstance(e, HandshakeComplete)]
    assert (done.version, done.suite, done.resumed) == (SSL3, S.RSA_WITH_RC4_128_MD5, False)
    assert len(done.peer_chain) == 2
    assert [e.data for e in events(s) if isinstance(e, ApplicationData)] == [
        b"POST /cgi-bin/auth.cgi HTTP/1.0\r\n\r\n"
    ]
    s.send(b"HTTP/1.0 200 OK\r\n\r\n")
    pump(s, c)
    assert [e.data for e in events(c) if isinstance(e, ApplicationData)] == [
        b"HTTP/1.0 200 OK\r\n\r\n"
    ]


def test_the_consoles_key_exchange_may_arrive_in_pieces():
    """ "the dreamcast sends these [handshake header bytes] in a separate packet" (dricaster)."""
    s = server(NTSSL)
    c = client(NTSSL_CONSOLE)
    s.receive_data(c.data_to_send(), 0.1)
    c.receive_data(s.data_to_send(), 0.2)
    flight = c.data_to_send()
    for i in range(len(flight)):  # one byte at a time
        s.receive_data(flight[i : i + 1], 0.3)
    c.receive_data(s.data_to_send(), 0.4)
    assert any(isinstance(e, HandshakeComplete) for e in events(s))
    assert any(isinstance(e, HandshakeComplete) for e in events(c))


def test_an_export_only_hello_gets_a_512_bit_server_key_exchange():
    s = server(NTSSL)
    c = client(WINCE_EXPORT)
    s.receive_data(c.data_to_send(), 0.1)
    flight = s.data_to_send()
    types = [handshake_types(f)[0] for _, _, f in records(flight)]
    assert types == [2, 11, 12, 14]  # ServerKeyExchange before ServerHelloDone
    ske_fragment = records(flight)[2][2]
    ske = ServerKeyExchange.parse(ske_fragment[4:])
    assert int.from_bytes(ske.modulus, "big").bit_length() == EXPORT_KEY_BITS
    c.receive_data(flight, 0.2)
    pump(c, s)
    (done,) = [e for e in events(c) if isinstance(e, HandshakeComplete)]
    assert done.suite == S.RSA_EXPORT_WITH_RC4_40_MD5


def test_a_512_bit_leaf_needs_no_server_key_exchange():
    s = server(NTSSL, leaf_bits=512)
    c = client(WINCE_EXPORT)
    s.receive_data(c.data_to_send(), 0.1)
    flight = s.data_to_send()
    assert [handshake_types(f)[0] for _, _, f in records(flight)] == [2, 11, 14]
    c.receive_data(flight, 0.2)
    pump(c, s)
    assert any(isinstance(e, HandshakeComplete) for e in events(c))


def test_the_modern_profile_refuses_the_console_with_handshake_failure():
    s = server(MODERN)
    c = client(NTSSL_CONSOLE)
    s.receive_data(c.data_to_send(), 0.1)
    assert s.data_to_send() == bytes.fromhex("1503000002 0228")  # SSL 3.0 fatal alert 40
    error = closed(events(s)).error
    assert error.alert is A.HANDSHAKE_FAILURE and "no cipher suite in common" in error.detail
    assert s.state is State.CLOSED


def test_the_modern_profile_serves_a_tls_client():
    s, _c = established(MODERN, TLS10)
    assert s.suite.suite == S.RSA_WITH_AES_128_CBC_SHA and s.version == TLS1_0


def test_modern_refuses_ssl3_with_protocol_version():
    s = server(MODERN)
    c = client(ClientProfile("old", suites=(S.RSA_WITH_AES_128_CBC_SHA,), version=SSL3))
    pump(c, s)
    assert closed(events(s)).error.alert is A.PROTOCOL_VERSION
    assert closed(events(c)).by_peer


@pytest.mark.parametrize("version", [SSL3, TLS1_0])
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_suite_and_version(version, suite):
    profile = server_profile("custom", (suite,))
    s, c = established(profile, ClientProfile("one", suites=(suite,), version=version))
    assert (c.version, c.suite.suite) == (version, suite)
    data = bytes(range(256)) * 70  # more than one record
    c.send(data)
    pump(c, s)
    assert b"".join(e.data for e in events(s) if isinstance(e, ApplicationData)) == data
    c.close()
    pump(c, s)
    assert closed(events(s)) == Closed(None, by_peer=True)


def test_null_suites_only_when_configured():
    null_client = ClientProfile("null", suites=(S.RSA_WITH_NULL_MD5,))
    s = server(NTSSL)
    pump(client(null_client), s)
    assert closed(events(s)).error.alert is A.HANDSHAKE_FAILURE
    established(NTSSL.with_null(), null_client)


# --- resumption ----------------------------------------------------------------------------


def test_resumption_skips_the_key_exchange():
    cache = SessionCache(max_entries=4, lifetime=60)
    _s, c = established(NTSSL, TLS10, cache=cache)
    session = c.session
    assert session is not None and len(cache) == 1
    s2 = server(NTSSL, cache=cache, seed=3)
    c2 = client(TLS10, seed=4, session=session)
    s2.receive_data(c2.data_to_send(), 5.0)
    flight = records(s2.data_to_send())
    assert [t for t, _, _ in flight] == [22, 20, 22]  # ServerHello, CCS, Finished
    c2.receive_data(
        b"".join(bytes((t, v >> 8, v & 255)) + len(f).to_bytes(2, "big") + f for t, v, f in flight),
        5.0,
    )
    pump(c2, s2, now=5.0)
    (done,) = [e for e in events(s2) if isinstance(e, HandshakeComplete)]
    assert done.resumed and done.session_id == session.session_id


def test_expired_and_evicted_sessions_give_full_handshakes():
    cache = SessionCache(max_entries=2, lifetime=60)
    _, c = established(NTSSL, TLS10, cache=cache)
    old = c.session
    s2 = server(NTSSL, cache=cache, seed=5)
    c2 = client(TLS10, seed=6, session=old)
    pump(c2, s2, now=61.0)  # past the lifetime
    assert not next(e for e in events(s2) if isinstance(e, HandshakeComplete)).resumed
    for seed in range(7, 10):  # three more sessions into a cache of two
        established(NTSSL, TLS10, cache=cache, seed=seed)
    assert len(cache) == 2


def test_the_console_never_offers_a_session():
    cache = SessionCache()
    _s, c = established(NTSSL, NTSSL_CONSOLE, cache=cache)
    assert c.session is not None  # the server gave one
    again = client(NTSSL_CONSOLE, session=c.session)
    assert ClientHello.parse_v2(again.data_to_send()[2:]).session_id == b""


# --- renegotiation ---------------------------------------------------------------------------


def test_renegotiation_is_refused_with_a_warning_in_tls():
    s, c = established(NTSSL, TLS10)
    c._write_handshake(ClientHello(TLS1_0, b"r" * 32, b"", (4,)).pack())  # a second hello
    s.receive_data(c.data_to_send(), 2.0)
    c.receive_data(s.data_to_send(), 2.0)
    assert AlertReceived(AlertLevel.WARNING, A.NO_RENEGOTIATION) in events(c)
    assert s.is_open  # the connection goes on
    c.send(b"still here")
    pump(c, s)
    assert ApplicationData(b"still here") in events(s)


def test_renegotiation_in_ssl3_is_a_handshake_failure():
    s, c = established(NTSSL, NTSSL_CONSOLE)
    c._write_handshake(ClientHello(SSL3, b"r" * 32, b"", (4,)).pack())
    s.receive_data(c.data_to_send(), 2.0)
    assert closed(events(s)).error.alert is A.HANDSHAKE_FAILURE


# --- bad input ---------------------------------------------------------------------------


def fatal_alert(core) -> AlertDescription:
    """The description of the (cleartext) fatal alert a core just sent."""
    (record,) = [r for r in records(core.data_to_send()) if r[0] == 21]
    assert record[2][0] == AlertLevel.FATAL
    return AlertDescription(record[2][1])


@pytest.mark.parametrize(
    ("data", "alert"),
    [
        (b"GET / HTTP/1.0\r\n\r\n", A.UNEXPECTED_MESSAGE),  # plain HTTP to the TLS port
        (bytes.fromhex("16 0200 0005") + b"\0" * 5, A.HANDSHAKE_FAILURE),  # SSL 2 record version
        (bytes.fromhex("16 0301 ffff"), A.RECORD_OVERFLOW),
        (bytes.fromhex("16 0300 ffff"), A.BAD_RECORD_MAC),  # SSL 3.0's word for it
        (bytes.fromhex("17 0301 0001 00"), A.UNEXPECTED_MESSAGE),  # data before the handshake
        (bytes.fromhex("14 0301 0001 01"), A.UNEXPECTED_MESSAGE),  # ChangeCipherSpec first
        (bytes.fromhex("16 0301 0004 14000000"), A.UNEXPECTED_MESSAGE),  # Finished first
        (bytes.fromhex("16 0301 0004 01ffffff"), A.ILLEGAL_PARAMETER),  # 16 MiB handshake
        (bytes.fromhex("16 0301 0000"), A.UNEXPECTED_MESSAGE),  # empty handshake record
        (bytes.fromhex("8003 02 0002"), A.UNEXPECTED_MESSAGE),  # SSLv2 record, not a hello
    ],
)
def test_garbage_gets_the_right_alert(data, alert):
    s = server(NTSSL)
    s.receive_data(data, 0.1)
    assert fatal_alert(s) is alert
    assert closed(events(s)).error is not None and s.state is State.CLOSED
    s.receive_data(b"more", 0.2)  # ignored after the end
    assert s.data_to_send() == b"" and events(s) == []


def test_a_v2_hello_asking_for_ssl2_gets_protocol_version():
    s = server(NTSSL)
    s.receive_data(bytes.fromhex("801c 01 0002 0003 0000 0010 000004") + b"C" * 16, 0.1)
    assert fatal_alert(s) is A.HANDSHAKE_FAILURE  # protocol_version is TLS-only
    assert closed(events(s)).error.alert is A.PROTOCOL_VERSION


def test_a_tls_client_gets_tls_alert_codes():
    s = server(MODERN)
    hello = ClientHello(TLS1_0, b"r" * 32, b"", (S.RSA_WITH_RC4_128_MD5,)).pack()
    s.receive_data(bytes.fromhex("16 0301") + len(hello).to_bytes(2, "big") + hello, 0.1)
    assert s.data_to_send() == bytes.fromhex("1503010002 0228")
    s = server(NTSSL)
    s.receive_data(bytes.fromhex("16 0301 0006 01000002 0301"), 0.1)  # a truncated hello
    assert s.data_to_send() == bytes.fromhex("1503010002 0232")  # decode_error (50)


def test_reordered_handshake_messages():
    s = server(NTSSL)
    c = client(TLS10)
    s.receive_data(c.data_to_send(), 0.1)
    c.receive_data(s.data_to_send(), 0.2)
    flight = records(c.data_to_send())  # ClientKeyExchange, CCS, Finished
    ccs = flight[1]
    s.receive_data(
        bytes((ccs[0],)) + ccs[1].to_bytes(2, "big") + len(ccs[2]).to_bytes(2, "big") + ccs[2], 0.3
    )
    assert fatal_alert(s) is A.UNEXPECTED_MESSAGE


def test_a_wrong_finished_fails_with_decrypt_error():
    s = server(NTSSL)
    c = client(TLS10)
    s.receive_data(c.data_to_send(), 0.1)
    flight = s.data_to_send()
    done = flight[-9:]  # the ServerHelloDone record
    c.receive_data(flight[:-9], 0.2)
    c.hash.update(b"a message the server never saw")  # so the client's Finished is wrong
    c.receive_data(done, 0.2)
    s.receive_data(c.data_to_send(), 0.3)
    error = closed(events(s)).error
    assert error.alert is A.DECRYPT_ERROR and "Finished" in error.detail


def test_a_bad_premaster_fails_only_at_finished():
    """Bleichenbacher: a premaster that does not decrypt must not get its own alert."""
    s = server(NTSSL)
    c = client(NTSSL_CONSOLE)
    s.receive_data(c.data_to_send(), 0.1)
    c.receive_data(s.data_to_send(), 0.2)
    flight = bytearray(c.data_to_send())
    flight[20] ^= 0xFF  # inside the encrypted premaster
    s.receive_data(bytes(flight[: 5 + int.from_bytes(flight[3:5], "big")]), 0.3)
    assert s.data_to_send() == b"" and s.state is State.WAIT_CHANGE_CIPHER_SPEC
    s.receive_data(bytes(flight[5 + int.from_bytes(flight[3:5], "big") :]), 0.4)
    # The keys are wrong, so the encrypted Finished fails its MAC (as with OpenSSL).
    assert closed(events(s)).error.alert is A.BAD_RECORD_MAC


@pytest.mark.parametrize("suite", [S.RSA_WITH_RC4_128_MD5, S.RSA_WITH_3DES_EDE_CBC_SHA])
def test_a_tampered_record_is_a_bad_record_mac(suite):
    s, c = established(server_profile("custom", (suite,)), ClientProfile("c", suites=(suite,)))
    c.send(b"x" * 64)
    record = bytearray(c.data_to_send())
    record[-1] ^= 1
    s.receive_data(bytes(record), 2.0)
    assert closed(events(s)).error.alert is A.BAD_RECORD_MAC
    assert s.data_to_send()[:3] == bytes.fromhex("150301")  # an (encrypted) alert went out


def test_a_client_that_stops_mid_handshake_times_out():
    s = server(NTSSL, timeout=30.0)
    c = client(NTSSL_CONSOLE)
    s.receive_data(c.data_to_send(), 0.1)
    s.data_to_send()
    assert s.deadline() == 30.0
    s.handle_timer(29.9)
    assert s.state is not State.CLOSED
    s.handle_timer(30.0)
    assert fatal_alert(s) is A.HANDSHAKE_FAILURE
    assert "timed out after 30 s in WAIT_CLIENT_KEY_EXCHANGE" in closed(events(s)).error.detail
    assert s.deadline() is None


def test_the_peer_vanishing_mid_handshake():
    s = server(NTSSL)
    s.receive_data(client(TLS10).data_to_send(), 0.1)
    s.receive_data(b"", 0.2)
    end = closed(events(s))
    assert end.by_peer and "closed during WAIT_CLIENT_KEY_EXCHANGE" in end.error.detail


def test_no_deadline_once_open():
    s, _ = established()
    assert s.deadline() is None


def test_input_is_bounded():
    s = server(NTSSL)
    s.receive_data(bytes.fromhex("16 0301 4800"), 0.1)  # a maximal record, coming slowly
    for _ in range(10):
        s.receive_data(b"\x01" * 1000, 0.1)
        assert len(s._inbuf) <= 5 + MAX_CIPHERTEXT


@settings(max_examples=200)
@given(data=st.binary(max_size=600), cut=st.integers(1, 50))
def test_arbitrary_bytes_never_escape_as_exceptions(data, cut):
    s = server(NTSSL, seed=7)
    for i in range(0, len(data), cut):
        s.receive_data(data[i : i + cut], 0.5)
    for e in events(s):
        if isinstance(e, Closed) and e.error is not None:
            assert isinstance(e.error.alert, AlertDescription)


@settings(max_examples=100)
@given(flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=4))
def test_mutated_client_flights_end_in_an_alert_or_success(flips):
    s = server(NTSSL, seed=8)
    c = client(NTSSL_CONSOLE, seed=9)
    s.receive_data(c.data_to_send(), 0.1)
    c.receive_data(s.data_to_send(), 0.2)
    original = c.data_to_send()
    flight = bytearray(original)
    for where, bits in flips:
        flight[where % len(flight)] ^= bits
    s.receive_data(bytes(flight), 0.3)
    s.receive_data(b"", 0.4)
    end = closed(events(s))
    if bytes(flight) == original:
        assert s.is_open is False and end.error is None  # completed, then the peer left
    else:
        assert end.error is not None  # every change to the flight is detected


def test_the_client_checks_the_servers_choices():
    s = server(NTSSL)
    c = client(ClientProfile("aes", suites=(S.RSA_WITH_AES_128_CBC_SHA, S.RSA_WITH_RC4_128_MD5)))
    s.receive_data(c.data_to_send(), 0.1)
    flight = bytearray(s.data_to_send())
    flight[5 + 4 + 2 + 32 + 1 + 1] = 0x09  # the chosen suite -> DES-CBC-SHA, not offered
    c.receive_data(bytes(flight), 0.2)
    assert closed(events(c)).error.alert is A.ILLEGAL_PARAMETER


def test_the_server_random_and_session_come_from_the_rng():
    a = server(NTSSL, cache=SessionCache(), seed=11)
    b = server(NTSSL, cache=SessionCache(), seed=11)
    hello = client(TLS10).data_to_send()
    a.receive_data(hello, 0.1)
    b.receive_data(hello, 0.1)
    assert a.data_to_send() == b.data_to_send()
    assert random.Random(11).randbytes(32) == a.server_random


def test_a_tls_1_2_hello_is_answered_with_tls_1_0():
    """A newer client offers 3.3; the server answers with the highest it has (RFC 2246 E.1)
    and checks the premaster's version against what the client offered."""
    s = server(NTSSL)
    c = client(ClientProfile("newer", suites=(S.RSA_WITH_RC4_128_SHA,), version=0x0303))
    s.receive_data(c.data_to_send(), 0.1)
    assert records(s.data_to_send())[0][2][4:6] == bytes.fromhex("0301")
    assert s.version == TLS1_0 and s.client_version == 0x0303
