"""Key derivation, Finished hashes, record MACs and the record cipher state.

SSL 3.0 (RFC 6101 §6.1-6.2.3, §5.6.9) and TLS 1.0 (RFC 2246 §5, §6.2.3, §6.3, §7.4.9)
differ in every one of these; each function takes the version. All ``cryptography`` calls
stay in this module and :mod:`dcsim.tls.suites`, so the tests can check them with fixed
keys (RFC vectors and tlslite-ng's independent implementation).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from dcsim.tls.suites import SuiteInfo
from dcsim.tls.wire import SSL3, AlertDescription, TlsError

_PAD1 = b"\x36" * 48
_PAD2 = b"\x5c" * 48
#: SSL 3.0's MAC and Finished pad 48 bytes for MD5 and 40 for SHA-1 (RFC 6101 §5.2.3.1).
_PAD_LEN = {"md5": 48, "sha1": 40}
SSL3_SENDER_CLIENT = b"CLNT"
SSL3_SENDER_SERVER = b"SRVR"
MASTER_SECRET_LENGTH = 48


# --- pseudo-random functions -------------------------------------------------------------


def ssl3_prf(secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 6101 §6.1/§6.2.2: MD5(secret + SHA('A' + secret + seed)) + MD5(... 'BB' ...) + ..."""
    out = bytearray()
    i = 0
    while len(out) < length:
        label = bytes((0x41 + i,)) * (i + 1)
        out += hashlib.md5(secret + hashlib.sha1(label + secret + seed).digest()).digest()
        i += 1
    return bytes(out[:length])


_HASHES = {"md5": hashlib.md5, "sha1": hashlib.sha1}
_IPAD = bytes(x ^ 0x36 for x in range(256))  # translate tables: key XOR ipad / opad
_OPAD = bytes(x ^ 0x5C for x in range(256))
_HMAC_BLOCK = 64  # MD5 and SHA-1 both hash 64-byte blocks


def _p_hash(name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 2246 §5 P_hash. HMAC (RFC 2104) is spelled out over copies of the keyed inner
    and outer hashes: re-keying an HMAC for each of the dozens of steps in a handshake
    cost more than the hashing itself."""
    new = _HASHES[name]
    if len(secret) > _HMAC_BLOCK:
        secret = new(secret).digest()
    key = secret.ljust(_HMAC_BLOCK, b"\0")
    inner, outer = new(key.translate(_IPAD)), new(key.translate(_OPAD))

    def mac(message: bytes) -> bytes:
        i = inner.copy()
        i.update(message)
        o = outer.copy()
        o.update(i.digest())
        return o.digest()

    out = bytearray()
    a = seed
    while len(out) < length:
        a = mac(a)
        out += mac(a + seed)
    return bytes(out[:length])


def tls_prf(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """RFC 2246 §5: P_MD5(S1, label + seed) XOR P_SHA-1(S2, label + seed)."""
    half = (len(secret) + 1) // 2
    md5 = _p_hash("md5", secret[:half], label + seed, length)
    sha = _p_hash("sha1", secret[len(secret) - half :], label + seed, length)
    return (int.from_bytes(md5, "big") ^ int.from_bytes(sha, "big")).to_bytes(length, "big")


def master_secret(
    version: int, premaster: bytes, client_random: bytes, server_random: bytes
) -> bytes:
    if version == SSL3:
        return ssl3_prf(premaster, client_random + server_random, MASTER_SECRET_LENGTH)
    return tls_prf(premaster, b"master secret", client_random + server_random, MASTER_SECRET_LENGTH)


@dataclass(frozen=True, slots=True)
class KeyBlock:
    client_mac: bytes
    server_mac: bytes
    client_key: bytes
    server_key: bytes
    client_iv: bytes
    server_iv: bytes


def key_block(
    version: int, info: SuiteInfo, master: bytes, client_random: bytes, server_random: bytes
) -> KeyBlock:
    """Cut the key block, then derive export keys and IVs (RFC 6101 §6.2.2.1, RFC 2246 §6.3.1)."""
    iv_in_block = 0 if info.export else info.iv_size
    size = 2 * (info.mac_size + info.key_material + iv_in_block)
    seed = server_random + client_random
    if version == SSL3:
        block = ssl3_prf(master, seed, size)
    else:
        block = tls_prf(master, b"key expansion", seed, size)
    parts = []
    pos = 0
    for n in (info.mac_size, info.mac_size, info.key_material, info.key_material):
        parts.append(block[pos : pos + n])
        pos += n
    client_mac, server_mac, client_key, server_key = parts
    if not info.export:
        client_iv = block[pos : pos + iv_in_block]
        server_iv = block[pos + iv_in_block : pos + 2 * iv_in_block]
        return KeyBlock(client_mac, server_mac, client_key, server_key, client_iv, server_iv)
    n, iv = info.expanded_key, info.iv_size
    if version == SSL3:
        client_key = hashlib.md5(client_key + client_random + server_random).digest()[:n]
        server_key = hashlib.md5(server_key + server_random + client_random).digest()[:n]
        client_iv = hashlib.md5(client_random + server_random).digest()[:iv]
        server_iv = hashlib.md5(server_random + client_random).digest()[:iv]
    else:
        randoms = client_random + server_random
        client_key = tls_prf(client_key, b"client write key", randoms, n)
        server_key = tls_prf(server_key, b"server write key", randoms, n)
        ivs = tls_prf(b"", b"IV block", randoms, 2 * iv)
        client_iv, server_iv = ivs[:iv], ivs[iv:]
    return KeyBlock(client_mac, server_mac, client_key, server_key, client_iv, server_iv)


# --- Finished ----------------------------------------------------------------------------


class HandshakeHash:
    """Running MD5 and SHA-1 over the handshake messages (both versions need both)."""

    __slots__ = ("md5", "sha1")

    def __init__(self) -> None:
        self.md5 = hashlib.md5()
        self.sha1 = hashlib.sha1()

    def update(self, data: bytes) -> None:
        self.md5.update(data)
        self.sha1.update(data)

    def finished(self, version: int, master: bytes, client: bool) -> bytes:
        """The verify_data of the Finished message the client (or server) sends now."""
        if version == SSL3:
            sender = SSL3_SENDER_CLIENT if client else SSL3_SENDER_SERVER
            out = b""
            for h in (self.md5, self.sha1):
                name, pad = h.name, _PAD_LEN[h.name]
                inner = h.copy()
                inner.update(sender + master + _PAD1[:pad])
                out += hashlib.new(name, master + _PAD2[:pad] + inner.digest()).digest()
            return out
        label = b"client finished" if client else b"server finished"
        return tls_prf(master, label, self.md5.digest() + self.sha1.digest(), 12)


# --- record protection -------------------------------------------------------------------


class CipherState:
    """One direction's record protection after ChangeCipherSpec: MAC-then-encrypt with a
    sequence number (RFC 6101 §5.2.3, RFC 2246 §6.2.3)."""

    __slots__ = ("_cipher", "_mac", "_mac_key", "_mac_size", "_pad", "block", "seq", "version")

    def __init__(
        self, version: int, info: SuiteInfo, mac_key: bytes, key: bytes, iv: bytes, encrypt: bool
    ) -> None:
        self.version = version
        self.block = info.block_size
        self.seq = 0
        self._mac = info.mac
        self._mac_key = mac_key
        self._mac_size = info.mac_size
        self._pad = _PAD_LEN[info.mac]
        factory = info.factory
        self._cipher = factory(key, iv, encrypt) if factory else None

    def mac(self, content_type: int, data: bytes) -> bytes:
        seq = self.seq.to_bytes(8, "big")
        if self.version == SSL3:
            head = seq + struct.pack("!BH", content_type, len(data))
            key = self._mac_key
            inner = hashlib.new(self._mac, key + _PAD1[: self._pad] + head + data).digest()
            return hashlib.new(self._mac, key + _PAD2[: self._pad] + inner).digest()
        head = seq + struct.pack("!BHH", content_type, self.version, len(data))
        return hmac.digest(self._mac_key, head + data, self._mac)

    def encrypt(self, content_type: int, data: bytes) -> bytes:
        out = data + self.mac(content_type, data)
        self.seq += 1
        if self.block:
            pad = self.block - (len(out) + 1) % self.block
            out += bytes((pad,)) * (pad + 1)
        return self._cipher.update(out) if self._cipher else out

    def decrypt(self, content_type: int, fragment: bytes) -> bytes:
        """Decrypt and check one record. A bad MAC and bad CBC padding raise the same
        ``bad_record_mac`` after the same work (a MAC is always computed), so a peer learns
        nothing about which check failed (the lesson of RFC 4346 §6.2.3.2's note)."""
        n = len(fragment)
        if self.block:
            if n % self.block or n < max(self.block, self._mac_size + 1):
                raise TlsError(AlertDescription.BAD_RECORD_MAC, "a record of the wrong length")
        elif n < self._mac_size:
            raise TlsError(AlertDescription.BAD_RECORD_MAC, "a record shorter than its MAC")
        plain = self._cipher.update(fragment) if self._cipher else fragment
        good = True
        if self.block:
            pad = plain[-1]
            if pad + 1 + self._mac_size > n:
                good, pad = False, 0
            elif self.version == SSL3:
                good = pad < self.block  # SSL 3.0 padding is arbitrary, only its length counts
            else:
                good = plain[-1 - pad :] == bytes((pad,)) * (pad + 1)
            body_end = n - pad - 1 - self._mac_size
        else:
            body_end = n - self._mac_size
        data = plain[:body_end]
        expected = self.mac(content_type, data)
        self.seq += 1
        if not (
            hmac.compare_digest(expected, plain[body_end : body_end + self._mac_size]) and good
        ):
            raise TlsError(AlertDescription.BAD_RECORD_MAC, "record MAC or padding check failed")
        return data
