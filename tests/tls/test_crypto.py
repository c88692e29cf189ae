"""Key derivation, Finished and record protection, checked against two independent
implementations: tlslite-ng's mathtls and scapy's TLS PRF (which also does export keys)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.tls.crypto.prf import PRF as ScapyPRF
from tlslite import mathtls

from dcsim.tls import crypto
from dcsim.tls.suites import SUITES, CipherSuite
from dcsim.tls.wire import SSL3, TLS1_0, AlertDescription, TlsError

SECRET = bytes(range(48))
CR = bytes(range(100, 132))
SR = bytes(range(200, 232))
VERSIONS = [SSL3, TLS1_0]


def scapy_prf(version: int) -> ScapyPRF:
    return ScapyPRF("md5" if version == SSL3 else "sha256", tls_version=version)


def test_prfs_match_tlslite():
    assert crypto.ssl3_prf(SECRET, CR + SR, 104) == bytes(mathtls.PRF_SSL(SECRET, CR + SR, 104))
    assert crypto.tls_prf(SECRET, b"label", CR, 100) == bytes(
        mathtls.PRF(SECRET, b"label", CR, 100)
    )
    odd = SECRET[:47]  # an odd secret: the halves overlap by one byte
    assert crypto.tls_prf(odd, b"x", SR, 20) == bytes(mathtls.PRF(odd, b"x", SR, 20))


@pytest.mark.parametrize("version", VERSIONS)
def test_master_secret_matches_tlslite_and_scapy(version):
    ours = crypto.master_secret(version, SECRET, CR, SR)
    tl = mathtls.calc_key(
        (3, version & 0xFF),
        SECRET,
        4,
        b"master secret",
        client_random=CR,
        server_random=SR,
        output_length=48,
    )
    assert ours == bytes(tl)
    assert ours == scapy_prf(version).compute_master_secret(SECRET, CR, SR)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_key_blocks_match_scapy_including_export(version, suite):
    info = SUITES[suite]
    master = crypto.master_secret(version, SECRET, CR, SR)
    kb = crypto.key_block(version, info, master, CR, SR)
    prf = scapy_prf(version)
    iv_len = 0 if info.export else info.iv_size
    size = 2 * (info.mac_size + info.key_material + iv_len)
    block = prf.derive_key_block(master, SR, CR, size)
    m, k = info.mac_size, info.key_material
    assert kb.client_mac == block[:m] and kb.server_mac == block[m : 2 * m]
    raw_client, raw_server = block[2 * m : 2 * m + k], block[2 * m + k : 2 * m + 2 * k]
    if not info.export:
        assert (kb.client_key, kb.server_key) == (raw_client, raw_server)
        assert kb.client_iv + kb.server_iv == block[2 * m + 2 * k :]
        return
    n = info.expanded_key
    assert kb.client_key == prf.postprocess_key_for_export(raw_client, CR, SR, "client", "write", n)
    assert kb.server_key == prf.postprocess_key_for_export(raw_server, CR, SR, "server", "write", n)
    if info.iv_size:
        iv = info.iv_size
        assert kb.client_iv == prf.generate_iv_for_export(CR, SR, "client", "write", iv)
        assert kb.server_iv == prf.generate_iv_for_export(CR, SR, "server", "write", iv)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("client", [True, False])
def test_finished_matches_scapy(version, client):
    messages = b"ClientHello..." * 20
    h = crypto.HandshakeHash()
    h.update(messages[:100])
    h.update(messages[100:])
    ours = h.finished(version, SECRET, client)
    theirs = scapy_prf(version).compute_verify_data(
        "client" if client else "server", "write", messages, SECRET
    )
    assert ours == theirs
    assert len(ours) == (36 if version == SSL3 else 12)
    # The running hash is not consumed: asking again gives the same answer.
    assert h.finished(version, SECRET, client) == ours


def pair(version: int, suite: int):
    info = SUITES[suite]
    kb = crypto.key_block(version, info, crypto.master_secret(version, SECRET, CR, SR), CR, SR)
    sender = crypto.CipherState(version, info, kb.client_mac, kb.client_key, kb.client_iv, True)
    receiver = crypto.CipherState(version, info, kb.client_mac, kb.client_key, kb.client_iv, False)
    return sender, receiver


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_records_round_trip(version, suite):
    sender, receiver = pair(version, suite)
    for size in (0, 1, 15, 16, 17, 100, 2**14):
        data = bytes(i % 251 for i in range(size))
        assert receiver.decrypt(23, sender.encrypt(23, data)) == data
    assert sender.seq == receiver.seq == 7


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "suite", [CipherSuite.RSA_WITH_3DES_EDE_CBC_SHA, CipherSuite.RSA_WITH_AES_128_CBC_SHA]
)
def test_bad_padding_and_bad_mac_look_the_same(version, suite):
    """Tamper with the last block (the padding) or an earlier one (the MAC/data): the same
    alert and the same detail either way, so a padding oracle learns nothing."""
    outcomes = set()
    for target in (-1, 0):
        sender, receiver = pair(version, suite)
        record = bytearray(sender.encrypt(23, b"x" * 40))
        block = sender.block
        # Flip a byte in the IV-chained block before the target, changing the target block.
        index = len(record) - 2 * block if target == -1 else block
        record[index] ^= 0x01
        with pytest.raises(TlsError) as e:
            receiver.decrypt(23, bytes(record))
        outcomes.add((e.value.alert, e.value.detail))
    assert outcomes == {(AlertDescription.BAD_RECORD_MAC, "record MAC or padding check failed")}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_content_type_or_sequence_fails_the_mac(version):
    sender, receiver = pair(version, CipherSuite.RSA_WITH_RC4_128_MD5)
    record = sender.encrypt(23, b"hello")
    with pytest.raises(TlsError, match="MAC"):
        receiver.decrypt(22, record)  # the content type is inside the MAC


def test_ssl3_padding_may_be_arbitrary_but_tls_padding_may_not():
    """SSL 3.0 only checks the padding length (RFC 6101 §5.2.3.2); TLS 1.0 checks every
    padding byte (RFC 2246 §6.2.3.2). Build records with non-zero junk padding."""
    for version, accepted in ((SSL3, True), (TLS1_0, False)):
        info = SUITES[CipherSuite.RSA_WITH_3DES_EDE_CBC_SHA]
        sender, receiver = pair(version, info.suite)
        data = b"y" * 10
        mac = sender.mac(23, data)
        body = data + mac  # 30 bytes: 1 byte of padding + length byte = 32
        plain = body + b"\x07\x01"  # padding byte 0x07 is junk; length 1
        record = sender._cipher.update(plain)
        if accepted:
            assert receiver.decrypt(23, record) == data
        else:
            with pytest.raises(TlsError):
                receiver.decrypt(23, record)


@given(st.binary(max_size=200))
def test_decrypting_garbage_raises_only_bad_record_mac(data):
    for suite in (CipherSuite.RSA_WITH_RC4_128_SHA, CipherSuite.RSA_WITH_AES_128_CBC_SHA):
        _, receiver = pair(TLS1_0, suite)
        with pytest.raises(TlsError) as e:
            receiver.decrypt(23, data)
        assert e.value.alert is AlertDescription.BAD_RECORD_MAC
