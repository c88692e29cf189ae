"""Cipher suites: codes (RFC 6101 Appendix A.6, RFC 2246 Appendix A.5, RFC 3268 for AES)
and what each needs from the key block.

Only RSA key exchange is implemented: it is all the Dreamcast's ntSSL offers
(shared/research/failure2006.md §4), and all a 2006 back end would have needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, IntEnum

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes


class CipherSuite(IntEnum):
    NULL_WITH_NULL_NULL = 0x0000
    RSA_WITH_NULL_MD5 = 0x0001
    RSA_WITH_NULL_SHA = 0x0002
    RSA_EXPORT_WITH_RC4_40_MD5 = 0x0003
    RSA_WITH_RC4_128_MD5 = 0x0004
    RSA_WITH_RC4_128_SHA = 0x0005
    RSA_EXPORT_WITH_DES40_CBC_SHA = 0x0008
    RSA_WITH_DES_CBC_SHA = 0x0009
    RSA_WITH_3DES_EDE_CBC_SHA = 0x000A
    RSA_WITH_AES_128_CBC_SHA = 0x002F
    RSA_WITH_AES_256_CBC_SHA = 0x0035


class V2CipherSpec(IntEnum):
    """SSL 2.0 cipher kinds (3 bytes) found in SSLv2-format hellos; dcsim speaks no SSL 2.0,
    so these are only recognised and skipped."""

    SSL2_RC4_128_WITH_MD5 = 0x010080
    SSL2_RC4_128_EXPORT40_WITH_MD5 = 0x020080
    SSL2_RC2_128_CBC_WITH_MD5 = 0x030080
    SSL2_RC2_128_CBC_EXPORT40_WITH_MD5 = 0x040080
    SSL2_IDEA_128_CBC_WITH_MD5 = 0x050080
    SSL2_DES_64_CBC_WITH_MD5 = 0x060040
    SSL2_DES_192_EDE3_CBC_WITH_MD5 = 0x0700C0


class Bulk(Enum):
    NULL = "null"
    RC4 = "rc4"
    DES = "des"
    DES3 = "3des"
    AES = "aes"


#: Encryptor or decryptor for (key, iv, encrypt): a context that keeps its state across
#: records (RC4's keystream; CBC's chaining, which is SSL 3.0/TLS 1.0's implicit IV).
CipherFactory = Callable[[bytes, bytes, bool], CipherContext]


def _context(cipher: Cipher, encrypt: bool) -> CipherContext:
    return cipher.encryptor() if encrypt else cipher.decryptor()


def _rc4(key: bytes, iv: bytes, encrypt: bool) -> CipherContext:
    return _context(Cipher(ARC4(key), None), encrypt)


def _des(key: bytes, iv: bytes, encrypt: bool) -> CipherContext:
    # Single DES is triple DES with K1 = K2 = K3 (EDE collapses to one encryption).
    return _context(Cipher(TripleDES(key * 3), modes.CBC(iv)), encrypt)


def _des3(key: bytes, iv: bytes, encrypt: bool) -> CipherContext:
    return _context(Cipher(TripleDES(key), modes.CBC(iv)), encrypt)


def _aes(key: bytes, iv: bytes, encrypt: bool) -> CipherContext:
    return _context(Cipher(algorithms.AES(key), modes.CBC(iv)), encrypt)


_FACTORIES: dict[Bulk, CipherFactory | None] = {
    Bulk.NULL: None,
    Bulk.RC4: _rc4,
    Bulk.DES: _des,
    Bulk.DES3: _des3,
    Bulk.AES: _aes,
}


@dataclass(frozen=True, slots=True)
class SuiteInfo:
    suite: CipherSuite
    name: str  # OpenSSL's name, which `openssl ciphers` and users know
    bulk: Bulk
    mac: str  # hashlib name: "md5" or "sha1"
    key_material: int  # bytes of key taken from the key block
    expanded_key: int  # bytes of the final key (differs for export suites)
    iv_size: int
    block_size: int  # 0 for stream ciphers
    export: bool = False

    @property
    def mac_size(self) -> int:
        return 16 if self.mac == "md5" else 20

    @property
    def factory(self) -> CipherFactory | None:
        return _FACTORIES[self.bulk]


_S = CipherSuite
SUITES: dict[int, SuiteInfo] = {
    info.suite: info
    for info in (
        SuiteInfo(_S.RSA_WITH_NULL_MD5, "NULL-MD5", Bulk.NULL, "md5", 0, 0, 0, 0),
        SuiteInfo(_S.RSA_WITH_NULL_SHA, "NULL-SHA", Bulk.NULL, "sha1", 0, 0, 0, 0),
        SuiteInfo(_S.RSA_EXPORT_WITH_RC4_40_MD5, "EXP-RC4-MD5", Bulk.RC4, "md5", 5, 16, 0, 0, True),
        SuiteInfo(_S.RSA_WITH_RC4_128_MD5, "RC4-MD5", Bulk.RC4, "md5", 16, 16, 0, 0),
        SuiteInfo(_S.RSA_WITH_RC4_128_SHA, "RC4-SHA", Bulk.RC4, "sha1", 16, 16, 0, 0),
        SuiteInfo(
            _S.RSA_EXPORT_WITH_DES40_CBC_SHA, "EXP-DES-CBC-SHA", Bulk.DES, "sha1", 5, 8, 8, 8, True
        ),
        SuiteInfo(_S.RSA_WITH_DES_CBC_SHA, "DES-CBC-SHA", Bulk.DES, "sha1", 8, 8, 8, 8),
        SuiteInfo(_S.RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA", Bulk.DES3, "sha1", 24, 24, 8, 8),
        SuiteInfo(_S.RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", Bulk.AES, "sha1", 16, 16, 16, 16),
        SuiteInfo(_S.RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", Bulk.AES, "sha1", 32, 32, 16, 16),
    )
}
BY_NAME: dict[str, SuiteInfo] = {info.name: info for info in SUITES.values()}
NULL_SUITES = frozenset({_S.RSA_WITH_NULL_MD5, _S.RSA_WITH_NULL_SHA})


def suite_name(code: int) -> str:
    info = SUITES.get(code)
    if info:
        return info.name
    if code == 0x00FF:  # RFC 5746's signalling value, not a suite
        return "EMPTY_RENEGOTIATION_INFO_SCSV"
    try:
        return CipherSuite(code).name
    except ValueError:
        return f"0x{code:04x}"


def parse_suite(text: str) -> CipherSuite:
    """A suite from its OpenSSL name (``RC4-MD5``) or RFC name (``RSA_WITH_RC4_128_MD5``)."""
    info = BY_NAME.get(text.upper())
    if info:
        return info.suite
    try:
        code = CipherSuite[text.upper().removeprefix("SSL_").removeprefix("TLS_")]
    except KeyError:
        known = ", ".join(sorted(BY_NAME))
        raise ValueError(f"unknown cipher suite {text!r}; known: {known}") from None
    if code not in SUITES:
        raise ValueError(f"cipher suite {text!r} cannot be negotiated")
    return code
