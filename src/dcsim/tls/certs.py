"""Certificates for the licence hosts: generated on first run, or the user's own chain.

:func:`ensure_credentials` looks in a directory (``data_dir/tls`` for the licence server)
for ``server.pem`` (the chain, leaf first) and ``server.key``; when neither exists it
generates a CA and a leaf for the configured host names with the period's parameters
(MD5 or SHA-1 signatures, 512- or 1024-bit keys) and writes them there (keys mode 0600).
:func:`load_credentials` reads a chain and key a user supplies instead.

``cryptography`` builds certificates but refuses to sign them with MD5 or SHA-1, and to
generate keys under 1024 bits. So a certificate is built and signed with SHA-256, then its
to-be-signed bytes get the period's algorithm identifier, are re-signed and re-assembled
in DER (:func:`resign`); small keys come from :mod:`dcsim.tls.keys`.

A real console trusts only the roots in its ``1ST_READ.BIN`` (failure2006.md §4), so a
generated chain convinces only dcsim's own client, or an emulator whose roots were
patched. docs/licence-server.md says how the community's chain is used instead.
"""

from __future__ import annotations

import datetime
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from dcsim.config import setting
from dcsim.tls.connection import ChainCheck
from dcsim.tls.keys import EXPORT_KEY_BITS, Credentials, generate_rsa_key
from dcsim.tls.wire import AlertDescription, TlsError

#: Fixed validity (no wall clock): the console does not check expiry anyway.
NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(2037, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)

#: The subject of the 2001 leaf as the community's spoof reproduces it (failure2006.md §4;
#: whether identical to Sega's original is [U]).
LEAF_ORGANISATION = "SEGA CORPORATION"
LEAF_UNIT = "System Service Dept.1-3"
LEAF_LOCALITY = "Higashigotanda 2-7-18, Shinagawa-ku"
CA_NAME = "dcsim licence root"

CHAIN_FILE = "server.pem"
KEY_FILE = "server.key"
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"

#: AlgorithmIdentifier DER (with NULL parameters) of the RSA signature algorithms: all the
#: same length, so swapping one for another keeps every enclosing length right.
_SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")  # sha256WithRSAEncryption
_ALGORITHM_IDS = {
    "md5": bytes.fromhex("300d06092a864886f70d0101040500"),  # md5WithRSAEncryption
    "sha1": bytes.fromhex("300d06092a864886f70d0101050500"),  # sha1WithRSAEncryption
}
_HASHES = {"md5": hashes.MD5, "sha1": hashes.SHA1}


class SignatureHash(Enum):
    MD5 = "md5"
    SHA1 = "sha1"


@dataclass(frozen=True)
class CertificateSettings:
    hosts: list[str] = setting(
        default_factory=lambda: ["auth01.dricas.ne.jp", "auth01.dricas.com"],
        doc="Host names of the generated leaf: the first is its CN, all are DNS names.\n"
        "(SSL 3.0 has no SNI, so one certificate serves every name.)",
    )
    key_bits: int = setting(
        1024,
        "RSA key size of the generated leaf (the console's ClientKeyExchange is\n"
        "128 bytes, a 1024-bit key; 512 is the period's export size).",
        min=512,
        max=4096,
    )
    ca_key_bits: int = setting(1024, "RSA key size of the generated CA.", min=512, max=4096)
    signature_hash: SignatureHash = setting(
        SignatureHash.MD5, "Signature hash of generated certificates: md5 (the period's) or sha1."
    )
    chain: Path | None = setting(
        None,
        "A certificate chain to use instead (PEM, leaf first), e.g. the community's;\n"
        "needs private_key. Unset: generate into data_dir/tls on first run.",
    )
    private_key: Path | None = setting(None, "The private key (PEM) of chain's leaf.")

    def __post_init__(self) -> None:
        if (self.chain is None) != (self.private_key is None):
            raise ValueError("chain and private_key go together: set both or neither")
        if not self.hosts:
            raise ValueError("hosts needs at least one host name")


class CertificateError(Exception):
    """A certificate or key file a user supplied (or that was generated) is unusable."""


# --- DER and MD5 -------------------------------------------------------------------------


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _der(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _der_length(len(content)) + content


def resign(
    cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey, how: SignatureHash
) -> x509.Certificate:
    """Re-sign a SHA-256-signed certificate with *how*: swap the algorithm identifier inside
    the to-be-signed bytes (same length), sign them, re-assemble the DER."""
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:
        raise ValueError("expected one sha256WithRSAEncryption identifier in the certificate")
    algorithm = _ALGORITHM_IDS[how.value]
    tbs = tbs.replace(_SHA256_RSA, algorithm)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), _HASHES[how.value]())
    der = _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def _sign(
    builder: x509.CertificateBuilder, key: rsa.RSAPrivateKey, how: SignatureHash
) -> x509.Certificate:
    return resign(builder.sign(key, hashes.SHA256()), key, how)


# --- generation --------------------------------------------------------------------------


def make_ca(key: rsa.RSAPrivateKey, how: SignatureHash, rng: random.Random) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dcsim"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(rng.getrandbits(63) + 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    return _sign(builder, key, how)


def make_leaf(
    hosts: Sequence[str],
    key: rsa.RSAPrivateKey,
    ca: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    how: SignatureHash,
    rng: random.Random,
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.LOCALITY_NAME, LEAF_LOCALITY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, LEAF_ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, LEAF_UNIT),
            x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(rng.getrandbits(63) + 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
    )
    return _sign(builder, ca_key, how)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def generate(directory: Path, settings: CertificateSettings, rng: random.Random) -> None:
    """Write a CA and a leaf for ``settings.hosts`` into *directory*."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = generate_rsa_key(settings.ca_key_bits, _key_rng(settings.ca_key_bits, rng))
    ca = make_ca(ca_key, settings.signature_hash, rng)
    key = generate_rsa_key(settings.key_bits, _key_rng(settings.key_bits, rng))
    leaf = make_leaf(settings.hosts, key, ca, ca_key, settings.signature_hash, rng)
    pem = serialization.Encoding.PEM
    _write_private(directory / CA_KEY_FILE, _pem_key(ca_key))
    (directory / CA_FILE).write_bytes(ca.public_bytes(pem))
    _write_private(directory / KEY_FILE, _pem_key(key))
    (directory / CHAIN_FILE).write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))


def _key_rng(bits: int, rng: random.Random) -> random.Random | None:
    """The random source for a key: None (cryptography's generator) for real keys of 1024
    bits and more; *rng* itself for small keys, or when a test passes a seeded one."""
    return rng if bits < 1024 or not isinstance(rng, random.SystemRandom) else None


# --- what a client trusts ----------------------------------------------------------------


def trust_roots(roots: Sequence[x509.Certificate]) -> ChainCheck:
    """A client's chain check as ntSSL does it (failure2006.md §4): every certificate must
    be signed by the next one or by a trusted root, MD5 signatures included; expiry and
    whether a signer is a CA are *not* checked. Raises ``TlsError`` (unknown_ca when no
    root signed the chain, bad_certificate for a signature that does not verify)."""
    by_subject = {root.subject: root for root in roots}

    def check(chain: tuple[bytes, ...]) -> None:
        try:
            certs = [x509.load_der_x509_certificate(der) for der in chain]
        except ValueError as e:
            raise TlsError(AlertDescription.BAD_CERTIFICATE, f"a certificate: {e}") from None
        for i, cert in enumerate(certs):
            root = by_subject.get(cert.issuer)
            if root is not None:
                _verify_signature(cert, root)
                return
            if i + 1 == len(certs):
                raise TlsError(
                    AlertDescription.UNKNOWN_CA,
                    f"no trusted root issued {cert.issuer.rfc4514_string()}",
                )
            _verify_signature(cert, certs[i + 1])

    return check


def _verify_signature(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    key = issuer.public_key()
    algorithm = cert.signature_hash_algorithm
    if not isinstance(key, rsa.RSAPublicKey) or algorithm is None:
        raise TlsError(AlertDescription.UNSUPPORTED_CERTIFICATE, "not an RSA signature")
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise TlsError(
            AlertDescription.BAD_CERTIFICATE,
            f"the signature on {cert.subject.rfc4514_string()} does not verify",
        ) from None


# --- loading -----------------------------------------------------------------------------


def load_credentials(
    chain_path: Path, key_path: Path, export_key: rsa.RSAPrivateKey | None = None
) -> Credentials:
    try:
        chain = x509.load_pem_x509_certificates(chain_path.read_bytes())
    except OSError as e:
        raise CertificateError(f"{chain_path}: {e.strerror or e}") from None
    except ValueError as e:
        raise CertificateError(f"{chain_path}: not a PEM certificate chain ({e})") from None
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as e:
        raise CertificateError(f"{key_path}: {e.strerror or e}") from None
    except (ValueError, TypeError) as e:
        raise CertificateError(f"{key_path}: not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(f"{key_path}: not an RSA key (only RSA key exchange exists)")
    try:
        return Credentials(chain, key, export_key)
    except ValueError as e:
        raise CertificateError(f"{chain_path}: {e}") from None


def ensure_credentials(
    directory: Path,
    settings: CertificateSettings,
    rng: random.Random | None = None,
) -> Credentials:
    """The user's chain if configured; else the one in *directory*, generated on first
    run. A temporary 512-bit key for export suites is made fresh each time when the
    leaf's key is larger."""
    rng = rng or random.SystemRandom()
    if settings.chain is not None and settings.private_key is not None:
        chain_path, key_path = settings.chain, settings.private_key
    else:
        chain_path, key_path = directory / CHAIN_FILE, directory / KEY_FILE
        if not chain_path.exists() and not key_path.exists():
            generate(directory, settings, rng)
    credentials = load_credentials(chain_path, key_path)
    if credentials.needs_export_key:
        export_key = generate_rsa_key(EXPORT_KEY_BITS, rng)
        credentials = Credentials(credentials.chain, credentials.key, export_key)
    return credentials
