"""The sans-IO SSL 3.0 / TLS 1.0 connection: :class:`TlsServer` and :class:`TlsClient`.

Both are cores of the project's shape (docs/developing.md): bytes and ``now`` go in
through :meth:`receive_data` and :meth:`handle_timer`; records come out of
:meth:`data_to_send`, events out of :meth:`events`, and :meth:`deadline` says when the
handshake times out. Application data goes in with :meth:`send` (queued until the
handshake completes) and :meth:`close` sends close_notify.

The handshake is a transition table (:data:`_SERVER_FLOW`, :data:`_CLIENT_FLOW`): state ->
the handshake message types it accepts -> the handler. A message the table does not list
is an ``unexpected_message`` alert. Every failure is a :class:`TlsError` carrying the alert
to send; the connection then sends it (fatal), reports :class:`Closed` and ignores
everything else. Input is bounded: one record (2^14 + 2048 bytes) and one handshake
message (:attr:`max_handshake`) at most are buffered.

Security notes, as the RFCs ask: a bad premaster secret (wrong padding, length or
version) silently becomes a random one, so the failure shows only at Finished
(Bleichenbacher; RFC 2246 §7.4.7.1); bad CBC padding and a bad MAC give the same alert
after the same work; renegotiation is refused (TLS 1.0: warning no_renegotiation; SSL 3.0,
which has no such alert: handshake_failure).
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum, auto

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from dcsim.tls import crypto
from dcsim.tls.keys import (
    EXPORT_KEY_BITS,
    Credentials,
    encrypt_premaster,
    public_key_from_params,
    verify_raw,
)
from dcsim.tls.profiles import ClientProfile, ServerProfile
from dcsim.tls.session import Session, SessionCache
from dcsim.tls.suites import SUITES, SuiteInfo, suite_name
from dcsim.tls.wire import (
    MAX_CIPHERTEXT,
    MAX_PLAINTEXT,
    RANDOM_LENGTH,
    RECORD_HEADER,
    RENEGOTIATION_INFO_EMPTY,
    SSL3,
    TLS1_0,
    Alert,
    AlertDescription,
    AlertLevel,
    CertificateMsg,
    ClientHello,
    ClientKeyExchange,
    ContentType,
    Finished,
    HandshakeType,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    TlsError,
    alert_for_version,
    version_name,
)

A = AlertDescription
HT = HandshakeType
_CCS = b"\x01"
_PREMASTER_LENGTH = 48
DEFAULT_HANDSHAKE_TIMEOUT = 30.0


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HelloReceived:
    """The server got a ClientHello (for logs and the 2006 reports: what the peer offered)."""

    hello: ClientHello


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    version: int
    suite: int
    session_id: bytes
    resumed: bool
    peer_chain: tuple[bytes, ...] = field(default=(), repr=False)  # client side: server's chain

    @property
    def description(self) -> str:
        how = "resumed" if self.resumed else "full"
        return f"{version_name(self.version)} {suite_name(self.suite)} ({how})"


@dataclass(frozen=True, slots=True)
class ApplicationData:
    data: bytes


@dataclass(frozen=True, slots=True)
class AlertReceived:
    level: AlertLevel
    description: AlertDescription | int


@dataclass(frozen=True, slots=True)
class Closed:
    """The connection is over. *error* is None for an orderly close (close_notify either
    way); otherwise the failure, *by_peer* saying whose it was (a fatal alert received, or
    the peer vanishing mid-handshake) or ours (the alert we sent)."""

    error: TlsError | None
    by_peer: bool


Event = HelloReceived | HandshakeComplete | ApplicationData | AlertReceived | Closed


class _V2(Enum):
    NONE = auto()  # not an SSLv2-format record
    NEED_MORE = auto()
    CONSUMED = auto()


class State(Enum):
    START = auto()
    WAIT_SERVER_HELLO = auto()  # client
    WAIT_CERTIFICATE = auto()  # client
    WAIT_KEY_EXCHANGE_OR_DONE = auto()  # client: ServerKeyExchange (export) or Done
    WAIT_SERVER_HELLO_DONE = auto()  # client, after a ServerKeyExchange
    WAIT_CLIENT_KEY_EXCHANGE = auto()  # server
    WAIT_CHANGE_CIPHER_SPEC = auto()
    WAIT_FINISHED = auto()
    OPEN = auto()
    CLOSED = auto()


# --- the shared machinery ----------------------------------------------------------------


class _Connection:
    is_client: bool
    _FLOW: dict[State, dict[HandshakeType, Callable]]
    #: States in which the peer's ChangeCipherSpec is expected.
    _CCS_STATES = frozenset({State.WAIT_CHANGE_CIPHER_SPEC})

    def __init__(self, rng: random.Random, handshake_timeout: float, max_handshake: int) -> None:
        self.rng = rng
        self.handshake_timeout = handshake_timeout
        self.max_handshake = max_handshake
        self.state = State.START
        self.version = SSL3  # the record version until one is negotiated
        self.suite: SuiteInfo | None = None
        self.client_random = b""
        self.server_random = b""
        self.master = b""
        self.session_id = b""
        self.resumed = False
        self.hash = crypto.HandshakeHash()
        self._read: crypto.CipherState | None = None
        self._write: crypto.CipherState | None = None
        self._pending_read: crypto.CipherState | None = None
        self._pending_write: crypto.CipherState | None = None
        self._inbuf = bytearray()
        self._hsbuf = bytearray()
        self._out = bytearray()
        self._events: list[Event] = []
        self._queued_app: list[bytes] = []
        self._deadline: float | None = None
        self._version_fixed = False
        self._sent_close = False
        self.now = 0.0

    # --- the core interface ------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        if self.state is State.CLOSED:
            return
        if not data:
            self._peer_vanished()
            return
        self._inbuf += data
        self.now = now
        try:
            self._process_records()
        except TlsError as e:
            self._fail(e)

    def handle_timer(self, now: float) -> None:
        if self._deadline is not None and now >= self._deadline and self.state is not State.OPEN:
            self._deadline = None
            if self.state is not State.CLOSED:
                self._fail(
                    TlsError(
                        A.HANDSHAKE_FAILURE,
                        f"handshake timed out after {self.handshake_timeout:g} s in"
                        f" {self.state.name}",
                    )
                )

    def events(self) -> Iterator[Event]:
        events, self._events = self._events, []
        return iter(events)

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def deadline(self) -> float | None:
        return self._deadline

    def send(self, data: bytes) -> None:
        """Queue application data: sent now if the handshake is done, else when it is."""
        if self.state is State.CLOSED or self._sent_close:
            raise RuntimeError("the connection is closed")
        if self.state is State.OPEN:
            self._write_app(data)
        else:
            self._queued_app.append(bytes(data))

    def close(self) -> None:
        """Send close_notify and end the connection."""
        if self.state is State.CLOSED:
            return
        self._send_alert(AlertLevel.WARNING, A.CLOSE_NOTIFY)
        self._finish(Closed(None, by_peer=False))

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    # --- records -----------------------------------------------------------------------

    def _process_records(self) -> None:
        buf = self._inbuf
        while self.state is not State.CLOSED:
            v2 = self._v2_hello()
            if v2 is _V2.CONSUMED:
                continue
            if v2 is _V2.NEED_MORE:
                return
            if len(buf) < 5:
                return
            content_type, major, minor = buf[0], buf[1], buf[2]
            length = (buf[3] << 8) | buf[4]
            if content_type not in _CONTENT_TYPES:
                raise TlsError(A.UNEXPECTED_MESSAGE, f"a record of unknown type {content_type}")
            record_version = (major << 8) | minor
            if major != 3:
                raise TlsError(A.PROTOCOL_VERSION, f"record version 0x{record_version:04x}")
            if not self._version_fixed and not self.is_client:
                # Until a version is chosen, alerts answer in the client's record version.
                self.version = min(max(record_version, SSL3), TLS1_0)
            elif self._version_fixed and record_version != self.version:
                raise TlsError(
                    A.PROTOCOL_VERSION,
                    f"a {version_name(record_version)} record in a"
                    f" {version_name(self.version)} connection",
                )
            if length > MAX_CIPHERTEXT:
                raise TlsError(A.RECORD_OVERFLOW, f"a record of {length} bytes")
            if len(buf) < 5 + length:
                return
            fragment = bytes(buf[5 : 5 + length])
            del buf[: 5 + length]
            if self._read is not None:
                fragment = self._read.decrypt(content_type, fragment)
                if len(fragment) > MAX_PLAINTEXT:
                    raise TlsError(A.RECORD_OVERFLOW, f"a record of {len(fragment)} bytes plain")
            self._dispatch_record(content_type, fragment)

    def _v2_hello(self) -> _V2:
        """Servers take an SSLv2-format ClientHello as the first message."""
        return _V2.NONE

    def _dispatch_record(self, content_type: int, fragment: bytes) -> None:
        if content_type == ContentType.HANDSHAKE:
            if not fragment:
                raise TlsError(A.UNEXPECTED_MESSAGE, "an empty handshake record")
            self._hsbuf += fragment
            self._process_handshake()
        elif content_type == ContentType.APPLICATION_DATA:
            if self.state is not State.OPEN:
                raise TlsError(A.UNEXPECTED_MESSAGE, f"application data in {self.state.name}")
            if self._hsbuf:
                raise TlsError(A.UNEXPECTED_MESSAGE, "application data inside a handshake message")
            if fragment:
                self._events.append(ApplicationData(fragment))
        elif content_type == ContentType.CHANGE_CIPHER_SPEC:
            if fragment != _CCS:
                raise TlsError(A.ILLEGAL_PARAMETER, f"ChangeCipherSpec {fragment.hex()}")
            if self.state not in self._CCS_STATES or self._hsbuf:
                raise TlsError(A.UNEXPECTED_MESSAGE, f"ChangeCipherSpec in {self.state.name}")
            self._read, self._pending_read = self._pending_read, None
            self.state = State.WAIT_FINISHED
        else:
            self._on_alert(Alert.parse(fragment))

    def _process_handshake(self) -> None:
        buf = self._hsbuf
        while len(buf) >= 4 and self.state is not State.CLOSED:
            msg_type = buf[0]
            length = (buf[1] << 16) | (buf[2] << 8) | buf[3]
            if length > self.max_handshake:
                raise TlsError(
                    A.ILLEGAL_PARAMETER,
                    f"a handshake message of {length} bytes (at most {self.max_handshake})",
                )
            if len(buf) < 4 + length:
                return
            raw = bytes(buf[: 4 + length])
            del buf[: 4 + length]
            self._handle_message(msg_type, raw[4:], raw)

    def _handle_message(self, msg_type: int, body: bytes, raw: bytes) -> None:
        if msg_type == HT.HELLO_REQUEST and self.is_client:
            self._on_hello_request(body)
            return
        if self.state is State.OPEN and msg_type == HT.CLIENT_HELLO and not self.is_client:
            self._refuse_renegotiation()
            return
        handler = self._FLOW.get(self.state, {}).get(msg_type)
        if handler is None:
            try:
                name = HandshakeType(msg_type).name
            except ValueError:
                name = f"handshake type {msg_type}"
            raise TlsError(A.UNEXPECTED_MESSAGE, f"{name} in {self.state.name}")
        if msg_type == HT.FINISHED:
            expected = self.hash.finished(self.version, self.master, client=not self.is_client)
            self.hash.update(raw)
            handler(self, body, expected)
        else:
            self.hash.update(raw)
            handler(self, body)

    def _on_hello_request(self, body: bytes) -> None:
        raise NotImplementedError

    def _refuse_renegotiation(self) -> None:
        if self.version == SSL3:
            raise TlsError(A.HANDSHAKE_FAILURE, "renegotiation refused")
        self._send_alert(AlertLevel.WARNING, A.NO_RENEGOTIATION)

    def _on_alert(self, alert: Alert) -> None:
        self._events.append(AlertReceived(alert.level, alert.description))
        if alert.description == A.CLOSE_NOTIFY:
            if not self._sent_close:
                self._send_alert(AlertLevel.WARNING, A.CLOSE_NOTIFY)
            self._finish(Closed(None, by_peer=True))
        elif alert.level == AlertLevel.FATAL:
            self._forget_session()
            self._finish(
                Closed(TlsError(_as_alert(alert.description), "fatal alert received"), True)
            )

    def _write_record(self, content_type: ContentType, data: bytes) -> None:
        if self._write is not None:
            data = self._write.encrypt(content_type, data)
        self._out += RECORD_HEADER.pack(content_type, self.version, len(data))
        self._out += data

    def _write_app(self, data: bytes) -> None:
        for i in range(0, len(data), MAX_PLAINTEXT):
            self._write_record(ContentType.APPLICATION_DATA, data[i : i + MAX_PLAINTEXT])

    def _write_handshake(self, message: bytes) -> None:
        self.hash.update(message)
        self._write_record(ContentType.HANDSHAKE, message)

    def _write_ccs(self) -> None:
        self._write_record(ContentType.CHANGE_CIPHER_SPEC, _CCS)
        self._write, self._pending_write = self._pending_write, None

    def _write_finished(self) -> None:
        verify = self.hash.finished(self.version, self.master, client=self.is_client)
        self._write_handshake(Finished(verify).pack())

    def _send_alert(self, level: AlertLevel, description: AlertDescription) -> None:
        if self._sent_close:
            return
        if description is A.CLOSE_NOTIFY or level is AlertLevel.FATAL:
            self._sent_close = True
        self._write_record(ContentType.ALERT, Alert(level, description).pack())

    # --- keys and completion -------------------------------------------------------------

    def _derive(self) -> None:
        """Key block -> pending cipher states for both directions."""
        info = self.suite
        assert info is not None
        kb = crypto.key_block(
            self.version, info, self.master, self.client_random, self.server_random
        )
        client = crypto.CipherState(
            self.version, info, kb.client_mac, kb.client_key, kb.client_iv, self.is_client
        )
        server = crypto.CipherState(
            self.version, info, kb.server_mac, kb.server_key, kb.server_iv, not self.is_client
        )
        if self.is_client:
            self._pending_write, self._pending_read = client, server
        else:
            self._pending_write, self._pending_read = server, client

    def _check_finished(self, body: bytes, expected: bytes) -> None:
        if not hmac.compare_digest(body, expected):
            alert = A.HANDSHAKE_FAILURE if self.version == SSL3 else A.DECRYPT_ERROR
            raise TlsError(alert, "the peer's Finished does not match (wrong keys or messages)")

    def _complete(self, peer_chain: tuple[bytes, ...] = ()) -> None:
        self.state = State.OPEN
        self._deadline = None
        assert self.suite is not None
        self._events.append(
            HandshakeComplete(
                self.version, self.suite.suite, self.session_id, self.resumed, peer_chain
            )
        )
        queued, self._queued_app = self._queued_app, []
        for data in queued:
            self._write_app(data)

    def _fail(self, error: TlsError) -> None:
        if self.state is State.CLOSED:
            return
        self._send_alert(AlertLevel.FATAL, alert_for_version(error.alert, self.version))
        self._forget_session()
        self._finish(Closed(error, by_peer=False))

    def _peer_vanished(self) -> None:
        if self.state is State.OPEN:
            # No close_notify: a truncation attack or a careless peer; the session stays.
            self._finish(Closed(None, by_peer=True))
        else:
            self._forget_session()
            self._finish(
                Closed(
                    TlsError(A.HANDSHAKE_FAILURE, f"the peer closed during {self.state.name}"),
                    by_peer=True,
                )
            )

    def _forget_session(self) -> None:
        pass

    def _finish(self, event: Closed) -> None:
        self.state = State.CLOSED
        self._deadline = None
        self._inbuf.clear()
        self._hsbuf.clear()
        self._queued_app.clear()
        self._events.append(event)


_CONTENT_TYPES = frozenset(int(t) for t in ContentType)


def _as_alert(description: AlertDescription | int) -> AlertDescription:
    return description if isinstance(description, AlertDescription) else A.HANDSHAKE_FAILURE


# --- the server --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    """What every server connection shares: profile, credentials, the session cache."""

    profile: ServerProfile
    credentials: Credentials
    cache: SessionCache | None = None  # None: no session IDs, no resumption
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    max_handshake: int = 2**15  # ClientHello, ClientKeyExchange, Finished are small

    def __post_init__(self) -> None:
        exports = [s for s in self.profile.suites if SUITES[s].export]
        if exports and self.credentials.needs_export_key and self.credentials.export_key is None:
            raise ValueError(
                f"the profile offers export suites and the key has {self.credentials.key_bits}"
                f" bits: give the credentials a temporary key of at most {EXPORT_KEY_BITS} bits"
            )


class TlsServer(_Connection):
    is_client = False

    def __init__(self, config: ServerConfig, rng: random.Random) -> None:
        super().__init__(rng, config.handshake_timeout, config.max_handshake)
        self.config = config
        self.client_version = 0
        self._extensions = b""
        self._kx_key: rsa.RSAPrivateKey = config.credentials.key

    def start(self, now: float) -> None:
        """The connection exists: arm the handshake timeout."""
        self.now = now
        self._deadline = now + self.handshake_timeout

    def _v2_hello(self) -> _V2:
        buf = self._inbuf
        if self.state is not State.START or len(buf) < 2 or not buf[0] & 0x80:
            return _V2.NONE
        length = ((buf[0] & 0x7F) << 8) | buf[1]
        if length > self.max_handshake:
            raise TlsError(A.ILLEGAL_PARAMETER, f"an SSLv2 hello of {length} bytes")
        if len(buf) < 2 + length:
            return _V2.NEED_MORE
        message = bytes(buf[2 : 2 + length])
        del buf[: 2 + length]
        hello = ClientHello.parse_v2(message)
        if not self.config.profile.accept_v2_hello:
            raise TlsError(A.HANDSHAKE_FAILURE, "SSLv2-format hellos are not accepted")
        self.hash.update(message)
        self._on_client_hello_parsed(hello)
        return _V2.CONSUMED

    def _on_client_hello(self, body: bytes) -> None:
        self._on_client_hello_parsed(ClientHello.parse(body))

    def _on_client_hello_parsed(self, hello: ClientHello) -> None:
        self._events.append(HelloReceived(hello))
        profile = self.config.profile
        offered = set(hello.suites)
        choice = next((s for s in profile.suites if s in offered), None)
        if choice is None:
            names = ", ".join(suite_name(s) for s in hello.suites) or "none"
            ours = ", ".join(suite_name(s) for s in profile.suites)
            raise TlsError(
                A.HANDSHAKE_FAILURE,
                f"no cipher suite in common (the client offered {names};"
                f" profile {profile.name!r} accepts {ours})",
            )
        if hello.version < SSL3:
            raise TlsError(A.PROTOCOL_VERSION, f"the client wants {version_name(hello.version)}")
        version = min(hello.version, profile.max_version)
        if version < profile.min_version:
            raise TlsError(
                A.PROTOCOL_VERSION,
                f"the client offers at most {version_name(hello.version)}, profile"
                f" {profile.name!r} needs {version_name(profile.min_version)}",
            )
        if 0 not in hello.compression:
            raise TlsError(A.HANDSHAKE_FAILURE, "the client offers no null compression")
        self.version = version
        self._version_fixed = True
        self.client_version = hello.version
        self.client_random = hello.random
        secure = hello.wants_secure_renegotiation and version > SSL3
        self._extensions = RENEGOTIATION_INFO_EMPTY if secure else b""
        self.server_random = self.rng.randbytes(RANDOM_LENGTH)
        cache = self.config.cache
        cached = (
            cache.get(hello.session_id, self.now)
            if cache is not None and hello.session_id
            else None
        )
        if (
            cached
            and cached.version == version
            and cached.suite in offered
            and cached.suite in profile.suites
        ):
            self._resume(cached)
            return
        self.suite = SUITES[choice]
        self.session_id = self.rng.randbytes(32) if cache is not None else b""
        self._write_handshake(
            ServerHello(
                version, self.server_random, self.session_id, choice, 0, self._extensions
            ).pack()
        )
        creds = self.config.credentials
        self._write_handshake(creds.certificate_message)
        if self.suite.export and creds.needs_export_key:
            assert creds.export_key is not None
            modulus, exponent = creds.export_params
            params = ServerKeyExchange(modulus, exponent, b"").params
            signature = creds.sign(_params_digest(self.client_random, self.server_random, params))
            self._write_handshake(ServerKeyExchange(modulus, exponent, signature).pack())
            self._kx_key = creds.export_key
        self._write_handshake(ServerHelloDone().pack())
        self.state = State.WAIT_CLIENT_KEY_EXCHANGE

    def _resume(self, session: Session) -> None:
        self.resumed = True
        self.suite = SUITES[session.suite]
        self.session_id = session.session_id
        self.master = session.master_secret
        self._write_handshake(
            ServerHello(
                self.version,
                self.server_random,
                self.session_id,
                session.suite,
                0,
                self._extensions,
            ).pack()
        )
        self._derive()
        self._write_ccs()
        self._write_finished()
        self.state = State.WAIT_CHANGE_CIPHER_SPEC

    def _on_client_key_exchange(self, body: bytes) -> None:
        cke = ClientKeyExchange.parse_for(body, self.version)
        fake = self.rng.randbytes(_PREMASTER_LENGTH)  # drawn first: same work either way
        try:
            premaster = self._kx_key.decrypt(cke.encrypted, padding.PKCS1v15())
        except ValueError:
            premaster = b""
        version = self.client_version.to_bytes(2, "big")
        good = len(premaster) == _PREMASTER_LENGTH and premaster[:2] == version
        self.master = crypto.master_secret(
            self.version, premaster if good else fake, self.client_random, self.server_random
        )
        self._derive()
        self.state = State.WAIT_CHANGE_CIPHER_SPEC

    def _on_finished(self, body: bytes, expected: bytes) -> None:
        self._check_finished(body, expected)
        if not self.resumed:
            self._write_ccs()
            self._write_finished()
            cache = self.config.cache
            if cache is not None and self.session_id:
                assert self.suite is not None
                cache.put(
                    Session(self.session_id, self.version, self.suite.suite, self.master, self.now)
                )
        self._complete()

    def _forget_session(self) -> None:
        if self.config.cache is not None and self.session_id:
            self.config.cache.remove(self.session_id)

    _FLOW = {
        State.START: {HT.CLIENT_HELLO: _on_client_hello},
        State.WAIT_CLIENT_KEY_EXCHANGE: {HT.CLIENT_KEY_EXCHANGE: _on_client_key_exchange},
        State.WAIT_FINISHED: {HT.FINISHED: _on_finished},
    }


def _params_digest(client_random: bytes, server_random: bytes, params: bytes) -> bytes:
    seed = client_random + server_random + params
    return hashlib.md5(seed).digest() + hashlib.sha1(seed).digest()


# --- the client --------------------------------------------------------------------------

#: Decides whether the server's chain (DER, leaf first) is acceptable; raises TlsError.
ChainCheck = Callable[[tuple[bytes, ...]], None]


def accept_any_chain(chain: tuple[bytes, ...]) -> None:
    """For tests and tools: any chain whose leaf has an RSA key."""


class TlsClient(_Connection):
    is_client = True

    def __init__(
        self,
        profile: ClientProfile,
        rng: random.Random,
        *,
        check_chain: ChainCheck = accept_any_chain,
        session: Session | None = None,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        max_handshake: int = 2**17,
    ) -> None:
        super().__init__(rng, handshake_timeout, max_handshake)
        self.profile = profile
        self.check_chain = check_chain
        self.offered_session = session if profile.resume else None
        self.session: Session | None = None  # after the handshake: resumable next time
        self._peer_chain: tuple[bytes, ...] = ()
        self._server_key: rsa.RSAPublicKey | None = None

    def start(self, now: float) -> None:
        """Send the ClientHello and arm the handshake timeout."""
        self.now = now
        self._deadline = now + self.handshake_timeout
        p = self.profile
        session_id = self.offered_session.session_id if self.offered_session else b""
        self.version = p.min_version
        if p.v2_specs:
            challenge = self.rng.randbytes(p.challenge_length)
            self.client_random = challenge.rjust(RANDOM_LENGTH, b"\0")
            hello = ClientHello(
                p.version,
                self.client_random,
                session_id,
                p.offered,
                v2_format=True,
                v2_specs=p.v2_specs,
            )
            record = hello.pack_v2(challenge)
            self.hash.update(record[2:])
            self._out += record
        else:
            self.client_random = self.rng.randbytes(RANDOM_LENGTH)
            hello = ClientHello(p.version, self.client_random, session_id, p.suites)
            self._write_handshake(hello.pack())
        self.state = State.WAIT_SERVER_HELLO

    def _on_server_hello(self, body: bytes) -> None:
        hello = ServerHello.parse(body)
        p = self.profile
        if not p.min_version <= hello.version <= p.version:
            raise TlsError(A.PROTOCOL_VERSION, f"the server chose {version_name(hello.version)}")
        if hello.suite not in p.offered or hello.suite not in SUITES:
            raise TlsError(
                A.ILLEGAL_PARAMETER, f"the server chose {suite_name(hello.suite)}, not offered"
            )
        if hello.compression != 0:
            raise TlsError(A.ILLEGAL_PARAMETER, f"the server chose compression {hello.compression}")
        self.version = hello.version
        self._version_fixed = True
        self.server_random = hello.random
        self.session_id = hello.session_id
        self.suite = SUITES[hello.suite]
        offered = self.offered_session
        if offered and hello.session_id == offered.session_id:
            if hello.version != offered.version or hello.suite != offered.suite:
                raise TlsError(A.ILLEGAL_PARAMETER, "a resumed session with other parameters")
            self.resumed = True
            self.master = offered.master_secret
            self._derive()
            self.state = State.WAIT_CHANGE_CIPHER_SPEC
        else:
            self.state = State.WAIT_CERTIFICATE

    def _on_certificate(self, body: bytes) -> None:
        chain = CertificateMsg.parse(body).chain
        if not chain:
            raise TlsError(A.BAD_CERTIFICATE, "the server sent no certificate")
        try:
            key = x509.load_der_x509_certificate(chain[0]).public_key()
        except ValueError as e:
            raise TlsError(A.BAD_CERTIFICATE, f"the leaf certificate does not parse: {e}") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise TlsError(A.UNSUPPORTED_CERTIFICATE, "the leaf's key is not RSA")
        self.check_chain(chain)
        self._peer_chain = chain
        self._server_key = key
        self.state = State.WAIT_KEY_EXCHANGE_OR_DONE

    def _on_server_key_exchange(self, body: bytes) -> None:
        assert self.suite is not None and self._server_key is not None
        if not self.suite.export:
            raise TlsError(A.UNEXPECTED_MESSAGE, "a ServerKeyExchange for a non-export suite")
        ske = ServerKeyExchange.parse(body)
        digest = _params_digest(self.client_random, self.server_random, ske.params)
        if not verify_raw(self._server_key.public_numbers(), ske.signature, digest):
            raise TlsError(A.DECRYPT_ERROR, "the ServerKeyExchange signature does not verify")
        try:
            temporary = public_key_from_params(ske.modulus, ske.exponent)
        except ValueError as e:
            raise TlsError(A.ILLEGAL_PARAMETER, f"the temporary RSA key: {e}") from None
        if temporary.key_size > EXPORT_KEY_BITS:
            raise TlsError(A.ILLEGAL_PARAMETER, f"an export key of {temporary.key_size} bits")
        self._server_key = temporary
        self.state = State.WAIT_SERVER_HELLO_DONE

    def _on_server_hello_done(self, body: bytes) -> None:
        ServerHelloDone.parse(body)
        assert self.suite is not None and self._server_key is not None
        if self.suite.export and self._server_key.key_size > EXPORT_KEY_BITS:
            raise TlsError(A.HANDSHAKE_FAILURE, "an export suite without a temporary key")
        premaster = self.profile.version.to_bytes(2, "big") + self.rng.randbytes(
            _PREMASTER_LENGTH - 2
        )
        encrypted = encrypt_premaster(self._server_key, premaster)
        self._write_handshake(ClientKeyExchange(encrypted).pack_for(self.version))
        self.master = crypto.master_secret(
            self.version, premaster, self.client_random, self.server_random
        )
        self._derive()
        self._write_ccs()
        self._write_finished()
        self.state = State.WAIT_CHANGE_CIPHER_SPEC

    def _on_finished(self, body: bytes, expected: bytes) -> None:
        self._check_finished(body, expected)
        if self.resumed:
            self._write_ccs()
            self._write_finished()
        assert self.suite is not None
        if self.session_id:
            self.session = Session(
                self.session_id, self.version, self.suite.suite, self.master, self.now
            )
        self._complete(self._peer_chain)

    def _on_hello_request(self, body: bytes) -> None:
        if self.state is State.OPEN and self.version > SSL3:
            self._send_alert(AlertLevel.WARNING, A.NO_RENEGOTIATION)
        # During a handshake, and in SSL 3.0, a HelloRequest is ignored (RFC 2246 §7.4.1.1).

    _FLOW = {
        State.WAIT_SERVER_HELLO: {HT.SERVER_HELLO: _on_server_hello},
        State.WAIT_CERTIFICATE: {HT.CERTIFICATE: _on_certificate},
        State.WAIT_KEY_EXCHANGE_OR_DONE: {
            HT.SERVER_KEY_EXCHANGE: _on_server_key_exchange,
            HT.SERVER_HELLO_DONE: _on_server_hello_done,
        },
        State.WAIT_SERVER_HELLO_DONE: {HT.SERVER_HELLO_DONE: _on_server_hello_done},
        State.WAIT_FINISHED: {HT.FINISHED: _on_finished},
    }
