"""SSL 3.0 / TLS 1.0 codes and handshake message codecs.

References: RFC 6101 (SSL 3.0), RFC 2246 (TLS 1.0); the SSLv2-format ClientHello is
RFC 6101 Appendix E.1 / RFC 2246 Appendix E.1 (and the SSL 2.0 draft for its layout).

Every message is a small frozen value with ``parse(body)`` and ``pack()``; ``pack`` returns
the whole handshake message (type and 24-bit length included). Parsing reads through a
:class:`Reader`, which raises :class:`TlsError` with ``decode_error`` (naming the offset)
instead of an IndexError, so a malformed message always becomes the right alert.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self


class ContentType(IntEnum):
    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23


class HandshakeType(IntEnum):
    HELLO_REQUEST = 0
    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_VERIFY = 15
    CLIENT_KEY_EXCHANGE = 16
    FINISHED = 20


class AlertLevel(IntEnum):
    WARNING = 1
    FATAL = 2


class AlertDescription(IntEnum):
    """RFC 6101 §5.4.2 and RFC 2246 §7.2; TLS-only codes are marked."""

    CLOSE_NOTIFY = 0
    UNEXPECTED_MESSAGE = 10
    BAD_RECORD_MAC = 20
    DECRYPTION_FAILED = 21  # TLS
    RECORD_OVERFLOW = 22  # TLS
    DECOMPRESSION_FAILURE = 30
    HANDSHAKE_FAILURE = 40
    NO_CERTIFICATE = 41  # SSL 3.0 only
    BAD_CERTIFICATE = 42
    UNSUPPORTED_CERTIFICATE = 43
    CERTIFICATE_REVOKED = 44
    CERTIFICATE_EXPIRED = 45
    CERTIFICATE_UNKNOWN = 46
    ILLEGAL_PARAMETER = 47
    UNKNOWN_CA = 48  # TLS
    ACCESS_DENIED = 49  # TLS
    DECODE_ERROR = 50  # TLS
    DECRYPT_ERROR = 51  # TLS
    EXPORT_RESTRICTION = 60  # TLS
    PROTOCOL_VERSION = 70  # TLS
    INSUFFICIENT_SECURITY = 71  # TLS
    INTERNAL_ERROR = 80  # TLS
    USER_CANCELED = 90  # TLS
    NO_RENEGOTIATION = 100  # TLS


#: What an SSL 3.0 peer gets instead of a code its version does not define (RFC 6101 has
#: only the codes up to 47 without 21/22).
_SSL3_ALERTS = frozenset(
    {0, 10, 20, 30, 40, 41, 42, 43, 44, 45, 46, 47},
)


def alert_for_version(description: AlertDescription, version: int) -> AlertDescription:
    """The alert to send *version*'s peer: SSL 3.0 knows fewer codes, so a TLS-only one
    becomes handshake_failure (or bad_record_mac for record-protection failures)."""
    if version > SSL3 or description in _SSL3_ALERTS:
        return description
    if description in (AlertDescription.DECRYPTION_FAILED, AlertDescription.RECORD_OVERFLOW):
        return AlertDescription.BAD_RECORD_MAC
    if description is AlertDescription.UNKNOWN_CA:
        return AlertDescription.BAD_CERTIFICATE
    if description is AlertDescription.DECODE_ERROR:
        return AlertDescription.ILLEGAL_PARAMETER
    return AlertDescription.HANDSHAKE_FAILURE


SSL2 = 0x0002
SSL3 = 0x0300
TLS1_0 = 0x0301
VERSION_NAMES = {SSL2: "SSL 2.0", SSL3: "SSL 3.0", TLS1_0: "TLS 1.0", 0x0302: "TLS 1.1"}


def version_name(version: int) -> str:
    return VERSION_NAMES.get(version, f"0x{version:04x}")


#: RFC 2246 §6.2.1: plaintext fragments are at most 2^14 bytes; §6.2.3: ciphertext adds at
#: most 2048 (MAC, padding, and compression expansion).
MAX_PLAINTEXT = 2**14
MAX_CIPHERTEXT = MAX_PLAINTEXT + 2048
RECORD_HEADER = struct.Struct("!BHH")
#: RFC 5746 secure renegotiation: the signalling suite and the extension. dcsim never
#: renegotiates, so answering "secure, and empty" is always true (modern clients insist).
SCSV_RENEGOTIATION = 0x00FF
EXT_RENEGOTIATION_INFO = 0xFF01
RENEGOTIATION_INFO_EMPTY = bytes.fromhex("0005ff01000100")  # block length 5, type, len 1, 0
RANDOM_LENGTH = 32
MAX_SESSION_ID = 32


class TlsError(Exception):
    """A protocol failure: *alert* is what goes on the wire (fatal), *detail* says why."""

    def __init__(self, alert: AlertDescription, detail: str) -> None:
        super().__init__(alert, detail)
        self.alert = alert
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.alert.name.lower()}: {self.detail}"


class Reader:
    """Bounds-checked big-endian reads over a message body."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def _fail(self, need: str) -> TlsError:
        return TlsError(
            AlertDescription.DECODE_ERROR,
            f"{self.what}: truncated at offset {self.pos} (needed {need},"
            f" {len(self.data) - self.pos} bytes left)",
        )

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self._fail(f"{n} bytes")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def vector(self, length_bytes: int, low: int = 0, high: int | None = None) -> bytes:
        n = int.from_bytes(self.take(length_bytes), "big")
        if n < low or (high is not None and n > high):
            raise TlsError(
                AlertDescription.DECODE_ERROR,
                f"{self.what}: a vector of {n} bytes at offset {self.pos}, allowed {low}-{high}",
            )
        return self.take(n)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise TlsError(
                AlertDescription.DECODE_ERROR,
                f"{self.what}: {len(self.data) - self.pos} unexpected bytes at offset {self.pos}",
            )

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos


def _vec(data: bytes, length_bytes: int) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def handshake(msg_type: HandshakeType, body: bytes) -> bytes:
    """A handshake message: type, 24-bit length, body."""
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


# --- messages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientHello:
    """A ClientHello in either format. ``v2_format`` hellos carry the SSLv2 cipher specs
    (3 bytes each; those starting with 0 are SSL 3.0 suites) and a 16-32 byte challenge,
    which becomes the client random right-justified in 32 bytes (RFC 6101 E.1)."""

    TYPE: ClassVar = HandshakeType.CLIENT_HELLO
    version: int
    random: bytes
    session_id: bytes
    suites: tuple[int, ...]
    compression: tuple[int, ...] = (0,)
    extensions: bytes = b""  # kept opaque: SSL 3.0/TLS 1.0 servers ignore them
    v2_format: bool = False
    v2_specs: tuple[int, ...] = ()  # every 3-byte spec of a v2-format hello, in order

    @classmethod
    def parse(cls, body: bytes) -> Self:
        r = Reader(body, "ClientHello")
        version = r.u16()
        random = r.take(RANDOM_LENGTH)
        session_id = r.vector(1, 0, MAX_SESSION_ID)
        raw_suites = r.vector(2, 2, 2**16 - 2)
        if len(raw_suites) % 2:
            raise TlsError(AlertDescription.DECODE_ERROR, "ClientHello: odd cipher suite length")
        compression = r.vector(1, 1)
        extensions = r.take(r.remaining)
        suites = struct.unpack(f"!{len(raw_suites) // 2}H", raw_suites)
        return cls(version, random, session_id, suites, tuple(compression), extensions)

    @classmethod
    def parse_v2(cls, message: bytes) -> Self:
        """Parse the body of an SSLv2-format record (msg_type included, header excluded)."""
        r = Reader(message, "SSLv2 ClientHello")
        if r.u8() != 1:
            raise TlsError(AlertDescription.UNEXPECTED_MESSAGE, "an SSLv2 record that is no hello")
        version = r.u16()
        spec_len, sid_len, challenge_len = r.u16(), r.u16(), r.u16()
        if spec_len == 0 or spec_len % 3:
            raise TlsError(
                AlertDescription.DECODE_ERROR, f"SSLv2 ClientHello: cipher specs of {spec_len}"
            )
        if sid_len > MAX_SESSION_ID:
            raise TlsError(AlertDescription.DECODE_ERROR, "SSLv2 ClientHello: bad session ID")
        if not 16 <= challenge_len <= 32:
            raise TlsError(
                AlertDescription.DECODE_ERROR,
                f"SSLv2 ClientHello: challenge of {challenge_len} bytes (16-32 allowed)",
            )
        specs_raw = r.take(spec_len)
        session_id = r.take(sid_len)
        challenge = r.take(challenge_len)
        r.end()
        specs = tuple(int.from_bytes(specs_raw[i : i + 3], "big") for i in range(0, spec_len, 3))
        suites = tuple(s for s in specs if s <= 0xFFFF)
        random = challenge.rjust(RANDOM_LENGTH, b"\0")
        return cls(version, random, session_id, suites, (0,), b"", True, specs)

    def extension_types(self) -> tuple[int, ...]:
        """The types of the hello's extensions (RFC 3546 layout); () if absent or malformed
        (an SSL 3.0/TLS 1.0 server may ignore them, RFC 2246 §7.4.1.2)."""
        r = Reader(self.extensions, "ClientHello extensions")
        types = []
        try:
            if not r.remaining:
                return ()
            block = Reader(r.vector(2), "ClientHello extensions")
            r.end()
            while block.remaining:
                types.append(block.u16())
                block.vector(2)
        except TlsError:
            return ()
        return tuple(types)

    @property
    def wants_secure_renegotiation(self) -> bool:
        """RFC 5746: the SCSV suite or an empty renegotiation_info extension."""
        return SCSV_RENEGOTIATION in self.suites or EXT_RENEGOTIATION_INFO in self.extension_types()

    def pack(self) -> bytes:
        if self.v2_format:
            raise ValueError("use pack_v2() for an SSLv2-format hello")
        body = (
            self.version.to_bytes(2, "big")
            + self.random
            + _vec(self.session_id, 1)
            + _vec(struct.pack(f"!{len(self.suites)}H", *self.suites), 2)
            + _vec(bytes(self.compression), 1)
            + self.extensions
        )
        return handshake(self.TYPE, body)

    def pack_v2(self, challenge: bytes) -> bytes:
        """The whole SSLv2-format record (2-byte header with the high bit set)."""
        specs = b"".join(s.to_bytes(3, "big") for s in self.v2_specs)
        message = (
            b"\x01"
            + self.version.to_bytes(2, "big")
            + struct.pack("!HHH", len(specs), len(self.session_id), len(challenge))
            + specs
            + self.session_id
            + challenge
        )
        return (0x8000 | len(message)).to_bytes(2, "big") + message


@dataclass(frozen=True, slots=True)
class ServerHello:
    TYPE: ClassVar = HandshakeType.SERVER_HELLO
    version: int
    random: bytes
    session_id: bytes
    suite: int
    compression: int = 0
    extensions: bytes = b""  # the whole block, length included; only TLS 1.0 sends one

    @classmethod
    def parse(cls, body: bytes) -> Self:
        r = Reader(body, "ServerHello")
        version = r.u16()
        random = r.take(RANDOM_LENGTH)
        session_id = r.vector(1, 0, MAX_SESSION_ID)
        suite = r.u16()
        compression = r.u8()
        extensions = r.take(r.remaining)
        return cls(version, random, session_id, suite, compression, extensions)

    def pack(self) -> bytes:
        body = (
            self.version.to_bytes(2, "big")
            + self.random
            + _vec(self.session_id, 1)
            + struct.pack("!HB", self.suite, self.compression)
            + self.extensions
        )
        return handshake(self.TYPE, body)


@dataclass(frozen=True, slots=True)
class CertificateMsg:
    TYPE: ClassVar = HandshakeType.CERTIFICATE
    chain: tuple[bytes, ...]  # DER, leaf first

    @classmethod
    def parse(cls, body: bytes) -> Self:
        r = Reader(body, "Certificate")
        inner = Reader(r.vector(3), "Certificate list")
        r.end()
        chain = []
        while inner.remaining:
            chain.append(inner.vector(3, 1))
        return cls(tuple(chain))

    def pack(self) -> bytes:
        return handshake(self.TYPE, _vec(b"".join(_vec(c, 3) for c in self.chain), 3))


@dataclass(frozen=True, slots=True)
class ServerKeyExchange:
    """RSA export parameters (a temporary key of at most 512 bits) and their signature over
    MD5 and SHA-1 of client random + server random + params (RFC 2246 §7.4.3)."""

    TYPE: ClassVar = HandshakeType.SERVER_KEY_EXCHANGE
    modulus: bytes
    exponent: bytes
    signature: bytes

    @property
    def params(self) -> bytes:
        return _vec(self.modulus, 2) + _vec(self.exponent, 2)

    @classmethod
    def parse(cls, body: bytes) -> Self:
        r = Reader(body, "ServerKeyExchange")
        modulus = r.vector(2, 1)
        exponent = r.vector(2, 1)
        signature = r.vector(2)
        r.end()
        return cls(modulus, exponent, signature)

    def pack(self) -> bytes:
        return handshake(self.TYPE, self.params + _vec(self.signature, 2))


@dataclass(frozen=True, slots=True)
class ServerHelloDone:
    TYPE: ClassVar = HandshakeType.SERVER_HELLO_DONE

    @classmethod
    def parse(cls, body: bytes) -> Self:
        Reader(body, "ServerHelloDone").end()
        return cls()

    def pack(self) -> bytes:
        return handshake(self.TYPE, b"")


@dataclass(frozen=True, slots=True)
class ClientKeyExchange:
    """The RSA-encrypted premaster secret. SSL 3.0 sends it bare; TLS 1.0 prefixes its
    length (RFC 2246 §7.4.7.1), so parsing needs the negotiated version."""

    TYPE: ClassVar = HandshakeType.CLIENT_KEY_EXCHANGE
    encrypted: bytes

    @classmethod
    def parse_for(cls, body: bytes, version: int) -> Self:
        if version == SSL3:
            if not body:
                raise TlsError(AlertDescription.DECODE_ERROR, "ClientKeyExchange: empty")
            return cls(body)
        r = Reader(body, "ClientKeyExchange")
        encrypted = r.vector(2, 1)
        r.end()
        return cls(encrypted)

    def pack_for(self, version: int) -> bytes:
        body = self.encrypted if version == SSL3 else _vec(self.encrypted, 2)
        return handshake(self.TYPE, body)


@dataclass(frozen=True, slots=True)
class Finished:
    TYPE: ClassVar = HandshakeType.FINISHED
    verify_data: bytes  # 36 bytes in SSL 3.0, 12 in TLS 1.0

    @classmethod
    def parse(cls, body: bytes) -> Self:
        return cls(body)

    def pack(self) -> bytes:
        return handshake(self.TYPE, self.verify_data)


@dataclass(frozen=True, slots=True)
class Alert:
    level: AlertLevel
    description: AlertDescription | int

    @classmethod
    def parse(cls, data: bytes) -> Self:
        if len(data) != 2:
            raise TlsError(AlertDescription.DECODE_ERROR, f"an alert of {len(data)} bytes")
        level, description = data
        try:
            lvl = AlertLevel(level)
        except ValueError:
            raise TlsError(AlertDescription.ILLEGAL_PARAMETER, f"alert level {level}") from None
        try:
            return cls(lvl, AlertDescription(description))
        except ValueError:
            return cls(lvl, description)

    def pack(self) -> bytes:
        return bytes((self.level, self.description))

    @property
    def name(self) -> str:
        d = self.description
        return d.name.lower() if isinstance(d, AlertDescription) else f"alert {d}"
