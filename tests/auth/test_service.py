"""The licence server end to end in memory: dcsim's TLS client (the console profile) posts
to twisted.web behind dcsim's TLS server, in virtual time (iosim + Clock)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.logger import formatEvent
from twisted.test.iosim import connectedServerAndClient

from dcsim.auth.accounts import Accounts, State
from dcsim.auth.policy import Policy, check_licence
from dcsim.auth.service import AuthSettings, _parse_form, licence_factory
from dcsim.tls.certs import CertificateSettings
from dcsim.tls.connection import HandshakeComplete
from dcsim.tls.profiles import NTSSL_CONSOLE, TLS10
from dcsim.tls.protocol import TlsClientFactory
from dcsim.tls.suites import CipherSuite
from dcsim.tls.wire import SSL3, AlertDescription

FAST_CERTS = CertificateSettings(key_bits=512, ca_key_bits=512)
ADDRESS = IPv4Address("TCP", "192.0.2.10", 443)


class Exchange(Protocol):
    """Send one request, collect the whole answer."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.received = b""
        self.reason = None

    def connectionMade(self) -> None:
        self.transport.write(self.request)

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason) -> None:
        self.reason = reason


def post(body: bytes, content_type: bytes = b"application/x-www-form-urlencoded") -> bytes:
    return (
        b"POST /cgi-bin/auth.cgi HTTP/1.0\r\nHost: auth01.dricas.ne.jp\r\n"
        b"Content-Type: " + content_type + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("licence")


@pytest.fixture
def accounts(tmp_path):
    with Accounts.open(tmp_path / "a.sqlite3", scrypt_log2_n=10) as db:
        db.add("HL0001", "s3cret-pw", now=0.0)
        db.add("HL0002", "pw", now=0.0, bad_user_level=3)
        db.add("HL0003", "pw", now=0.0, state=State.BILLING_ERROR)
        yield db


def exchange(
    data_dir,
    request: bytes,
    settings: AuthSettings | None = None,
    accounts=None,
    profile=NTSSL_CONSOLE,
    clock: Clock | None = None,
):
    clock = clock or Clock()
    settings = settings or AuthSettings(certificates=FAST_CERTS)
    server_factory = licence_factory(settings, data_dir, clock, accounts, random.Random(1))
    made: list[Exchange] = []
    wrapped = Factory()
    wrapped.protocol = lambda: made.append(Exchange(request)) or made[-1]
    client_factory = TlsClientFactory(wrapped, profile, clock, random.Random(2))
    tls_client, tls_server, pump = connectedServerAndClient(
        lambda: server_factory.buildProtocol(ADDRESS),
        lambda: client_factory.buildProtocol(ADDRESS),
        clock=clock,
    )
    pump.flush()
    return made[0], tls_client, tls_server, pump


def answer(proto: Exchange) -> tuple[int, bytes]:
    head, _, body = proto.received.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def test_the_console_passes_the_revival_check(data_dir):
    proto, tls_client, tls_server, _ = exchange(data_dir, post(b"id=HL&password=x"))
    assert answer(proto) == (200, b"")
    assert tls_client.handshake.version == SSL3
    assert tls_client.handshake.suite == CipherSuite.RSA_WITH_RC4_128_MD5
    assert tls_server.hello.hello.v2_format
    assert proto.reason is not None  # HTTP/1.0: the server closed after answering
    assert tls_client.core.state.name == "CLOSED"


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b"id=HL0001&password=s3cret-pw", 200, b""),
        (b"id=HL0002&password=pw", 200, b"result=accepted\r\nlevel=3\r\n"),
        (b"id=HL0001&password=wrong", 403, b"result=wrong-password\r\ncause=6\r\n"),
        (b"id=NOBODY&password=pw", 403, b"result=unknown-licence\r\ncause=6\r\n"),
        (b"id=HL0003&password=pw", 402, b"result=billing-error\r\ncause=7\r\n"),
        (b"password=pw", 400, b"result=malformed\r\ncause=6\r\n"),
    ],
)
def test_the_accounts_policy_over_https(data_dir, accounts, body, status, text):
    settings = AuthSettings(policy=Policy.ACCOUNTS, certificates=FAST_CERTS)
    proto, *_ = exchange(data_dir, post(body), settings, accounts)
    assert answer(proto) == (status, text)


def test_passwords_never_reach_the_log_but_the_form_does(data_dir, accounts, log_events):
    settings = AuthSettings(policy=Policy.ACCOUNTS, certificates=FAST_CERTS)
    exchange(
        data_dir, post(b"id=HL0001&password=s3cret-pw&passwd2=other-secret&x=1"), settings, accounts
    )
    text = "\n".join(formatEvent(e) + repr(e) for e in log_events)
    assert "s3cret-pw" not in text and "other-secret" not in text
    assert "id=HL0001&password=<redacted>&passwd2=<redacted>&x=1" in text
    assert ": accepted for 'HL0001'" in text


def test_a_body_that_is_no_form_is_logged_by_size_only(data_dir, log_events):
    exchange(data_dir, post(b"\x01\x02secret-binary", b"application/octet-stream"))
    text = "\n".join(formatEvent(e) for e in log_events)
    assert "secret-binary" not in text
    assert "15 bytes of application/octet-stream, not a form" in text


def test_oversized_bodies_get_413(data_dir):
    settings = AuthSettings(max_body=100, certificates=FAST_CERTS)
    proto, *_ = exchange(data_dir, post(b"id=" + b"x" * 5000), settings)
    assert answer(proto)[0] == 413


def test_get_and_other_paths(data_dir):
    proto, *_ = exchange(data_dir, b"GET /cgi-bin/auth.cgi HTTP/1.0\r\n\r\n")
    assert answer(proto)[0] == 405
    proto, *_ = exchange(data_dir, b"GET /index.html HTTP/1.0\r\n\r\n")
    assert answer(proto)[0] == 404


def test_the_modern_profile_refuses_the_console(data_dir):
    settings = AuthSettings(profile="modern", certificates=FAST_CERTS)
    proto, tls_client, tls_server, _ = exchange(data_dir, post(b"id=x"), settings)
    assert proto.received == b""
    assert tls_server.error.alert is AlertDescription.HANDSHAKE_FAILURE
    assert tls_client.error.alert is AlertDescription.HANDSHAKE_FAILURE
    assert proto.reason.check(type(tls_client.error))  # the wrapped protocol hears why


def test_a_tls_client_resumes_through_the_factory(data_dir):
    clock = Clock()
    settings = AuthSettings(certificates=FAST_CERTS)
    server_factory = licence_factory(settings, data_dir, clock, None, random.Random(1))
    wrapped = Factory()
    wrapped.protocol = lambda: Exchange(post(b"id=1"))
    seen: list = []
    client_factory = TlsClientFactory(
        wrapped, TLS10, clock, random.Random(2), on_event=lambda p, e: seen.append(e)
    )
    for _ in range(2):
        _, _, pump = connectedServerAndClient(
            lambda: server_factory.buildProtocol(ADDRESS),
            lambda: client_factory.buildProtocol(ADDRESS),
            clock=clock,
        )
        pump.flush()
    done = [e for e in seen if isinstance(e, HandshakeComplete)]
    assert [e.resumed for e in done] == [False, True]


def test_a_silent_client_is_cut_off_after_the_handshake_timeout(data_dir):
    clock = Clock()
    settings = AuthSettings(handshake_timeout=30.0, certificates=FAST_CERTS)
    factory = licence_factory(settings, data_dir, clock, None, random.Random(1))
    _, tls_server, pump = connectedServerAndClient(  # a raw TCP peer that says nothing
        lambda: factory.buildProtocol(ADDRESS), Protocol, clock=clock
    )
    pump.flush()
    clock.advance(29)
    pump.flush(advanceClock=False)
    assert tls_server.error is None
    clock.advance(1)
    pump.flush(advanceClock=False)
    assert tls_server.error.alert is AlertDescription.HANDSHAKE_FAILURE
    assert "timed out" in tls_server.error.detail
    assert tls_server.transport.disconnecting


def test_the_accounts_policy_needs_a_database(data_dir):
    with pytest.raises(ValueError, match="needs the accounts database"):
        licence_factory(AuthSettings(policy=Policy.ACCOUNTS), data_dir, Clock())


def test_settings_are_checked_when_loaded():
    with pytest.raises(ValueError, match="suites apply only to profile"):
        AuthSettings(suites=["RC4-MD5"])
    with pytest.raises(ValueError, match="unknown cipher suite 'RC9'"):
        AuthSettings(profile="custom", suites=["RC9"])
    with pytest.raises(ValueError, match="unknown server profile 'fast'"):
        AuthSettings(profile="fast")
    with pytest.raises(ValueError, match="needs a list of suites"):
        AuthSettings(profile="custom")
    assert replace(AuthSettings(), profile="custom", suites=["AES128-SHA"]).cipher_suites() == (
        CipherSuite.RSA_WITH_AES_128_CBC_SHA,
    )


def test_a_bad_client_does_not_disturb_a_good_one(data_dir):
    """Two connections to one server factory: garbage on one, a full exchange on the other,
    their bytes interleaved."""
    clock = Clock()
    factory = licence_factory(
        AuthSettings(certificates=FAST_CERTS), data_dir, clock, None, random.Random(1)
    )
    made: list[Exchange] = []
    wrapped = Factory()
    wrapped.protocol = lambda: made.append(Exchange(post(b"id=1"))) or made[-1]
    good_factory = TlsClientFactory(wrapped, NTSSL_CONSOLE, clock, random.Random(2))
    _, good_server, good_pump = connectedServerAndClient(
        lambda: factory.buildProtocol(ADDRESS),
        lambda: good_factory.buildProtocol(ADDRESS),
        clock=clock,
        greet=False,
    )
    bad, bad_server, bad_pump = connectedServerAndClient(
        lambda: factory.buildProtocol(ADDRESS),
        Protocol,
        clock=clock,
        greet=False,
    )
    good_pump.pump()  # the good hello reaches the server
    bad.transport.write(b"\x16\x03")  # the start of a record...
    bad_pump.pump()
    good_pump.pump()
    bad.transport.write(b"\x00\xff\xff" + b"\x00" * 100)  # ...of 64 KiB: record_overflow
    bad_pump.flush()
    good_pump.flush()
    assert answer(made[0]) == (200, b"")
    assert bad_server.error is not None and good_server.error is None


@given(st.binary(max_size=300))
def test_the_form_parser_takes_any_body(body):
    form = _parse_form(body)
    assert form is None or all(isinstance(k, str) and isinstance(v, str) for k, v in form.items())
    verdict = check_licence(form or {}, Policy.REVIVAL, AuthSettings().fields, None)
    assert verdict.accepted


def test_given_credentials_are_used_as_they_are(data_dir):
    """Servers may share one chain and keys (the scenario runner builds one per cell)."""
    from dcsim.tls.certs import ensure_credentials

    settings = AuthSettings()
    shared = ensure_credentials(data_dir / "tls", settings.certificates, random.Random(5))
    factory = licence_factory(settings, data_dir / "elsewhere", Clock(), credentials=shared)
    assert factory.config.credentials is shared
    assert not (data_dir / "elsewhere").exists()  # nothing generated
