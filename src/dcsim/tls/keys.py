"""RSA pieces the period needs and ``cryptography`` does not offer directly.

- 512-bit keys: ``cryptography`` refuses to generate keys under 1024 bits, but the export
  suites need a 512-bit temporary key and the console's roots signed 512-bit leaves.
  :func:`generate_rsa_key` makes small keys itself (Miller-Rabin primes from a caller's
  random source) and loads them through ``RSAPrivateNumbers``.
- Signatures without DigestInfo: SSL 3.0/TLS 1.0 sign a ServerKeyExchange over the bare
  36 bytes MD5 || SHA-1 with PKCS #1 v1.5 block type 1 (RFC 2246 §7.4.3).
- :class:`Credentials`: a server's chain and keys, with the Certificate message packed once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from dcsim.tls.wire import CertificateMsg

PUBLIC_EXPONENT = 65537
#: Export suites allow at most a 512-bit key for the key exchange (RFC 2246 §D.1).
EXPORT_KEY_BITS = 512
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


def _probable_prime(n: int, rng: random.Random, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1  # top two bits: full size n
        if (candidate - 1) % PUBLIC_EXPONENT and _probable_prime(candidate, rng):
            return candidate


def generate_rsa_key(bits: int, rng: random.Random | None = None) -> rsa.RSAPrivateKey:
    """An RSA key of *bits* bits. Keys of 1024 bits and more come from ``cryptography``;
    smaller ones (export, period leaves) are generated here from *rng* (default: the
    system's secure source; tests pass a seeded ``random.Random``)."""
    if bits >= 1024 and rng is None:
        return rsa.generate_private_key(PUBLIC_EXPONENT, bits)
    if bits < 384 or bits % 2:
        raise ValueError("an RSA key needs an even number of bits, at least 384")
    rng = rng or random.SystemRandom()
    while True:
        p, q = _prime(bits // 2, rng), _prime(bits // 2, rng)
        n = p * q
        if p != q and n.bit_length() == bits:
            break
    phi = (p - 1) * (q - 1)
    assert math.gcd(PUBLIC_EXPONENT, phi) == 1
    d = pow(PUBLIC_EXPONENT, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=d % (p - 1),
        dmq1=d % (q - 1),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(PUBLIC_EXPONENT, n),
    )
    return numbers.private_key()


def sign_raw(numbers: rsa.RSAPrivateNumbers, data: bytes) -> bytes:
    """PKCS #1 v1.5 block type 1 over *data* itself (no DigestInfo), with the CRT."""
    n = numbers.public_numbers.n
    k = (n.bit_length() + 7) // 8
    if len(data) > k - 11:
        raise ValueError("data too long for the key")
    m = int.from_bytes(b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data, "big")
    m1 = pow(m, numbers.dmp1, numbers.p)
    m2 = pow(m, numbers.dmq1, numbers.q)
    h = numbers.iqmp * (m1 - m2) % numbers.p
    return (m2 + h * numbers.q).to_bytes(k, "big")


def verify_raw(public: rsa.RSAPublicNumbers, signature: bytes, data: bytes) -> bool:
    k = (public.n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= public.n:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    return pow(s, public.e, public.n).to_bytes(k, "big") == expected


def encrypt_premaster(public: rsa.RSAPublicKey, premaster: bytes) -> bytes:
    return public.encrypt(premaster, padding.PKCS1v15())


def public_key_from_params(modulus: bytes, exponent: bytes) -> rsa.RSAPublicKey:
    numbers = rsa.RSAPublicNumbers(int.from_bytes(exponent, "big"), int.from_bytes(modulus, "big"))
    return numbers.public_key()


def _unsigned(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class Credentials:
    """A server's certificate chain (leaf first), its key, and the temporary 512-bit key
    for export suites when the leaf's key is larger (RFC 2246 §7.4.3). Shared by every
    connection; nothing in it changes after construction."""

    def __init__(
        self,
        chain: Sequence[x509.Certificate | bytes],
        key: rsa.RSAPrivateKey,
        export_key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        if not chain:
            raise ValueError("a certificate chain needs at least the leaf")
        self.chain: tuple[bytes, ...] = tuple(
            c.public_bytes(Encoding.DER) if isinstance(c, x509.Certificate) else bytes(c)
            for c in chain
        )
        leaf = x509.load_der_x509_certificate(self.chain[0])
        leaf_key = leaf.public_key()
        if not isinstance(leaf_key, rsa.RSAPublicKey):
            raise ValueError("the leaf certificate's key is not RSA (only RSA exchange exists)")
        if leaf_key.public_numbers() != key.public_key().public_numbers():
            raise ValueError("the private key does not belong to the leaf certificate")
        if export_key is not None and export_key.key_size > EXPORT_KEY_BITS:
            raise ValueError(f"an export key has at most {EXPORT_KEY_BITS} bits")
        self.key = key
        self.key_bits = key.key_size
        self.export_key = export_key
        self.certificate_message = CertificateMsg(self.chain).pack()
        self._numbers = key.private_numbers()
        if export_key is not None:
            numbers = export_key.public_key().public_numbers()
            self.export_params = (_unsigned(numbers.n), _unsigned(numbers.e))

    @property
    def needs_export_key(self) -> bool:
        """Whether export suites need a ServerKeyExchange with a temporary key."""
        return self.key_bits > EXPORT_KEY_BITS

    def sign(self, data: bytes) -> bytes:
        return sign_raw(self._numbers, data)
