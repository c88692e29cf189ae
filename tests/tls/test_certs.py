"""Certificates and keys: generation on first run, the period's parameters, user chains,
and the client's chain check (what ntSSL verifies)."""

from __future__ import annotations

import random
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

from dcsim.tls.certs import (
    CertificateError,
    CertificateSettings,
    SignatureHash,
    ensure_credentials,
    load_credentials,
    trust_roots,
)
from dcsim.tls.connection import HandshakeComplete
from dcsim.tls.keys import Credentials, generate_rsa_key, sign_raw, verify_raw
from dcsim.tls.profiles import NTSSL, NTSSL_CONSOLE
from dcsim.tls.wire import AlertDescription, TlsError

from .helpers import chain, client, closed, events, pump, server

SMALL = CertificateSettings(key_bits=512, ca_key_bits=512)


def test_first_run_generates_then_reuses(tmp_path):
    first = ensure_credentials(tmp_path, SMALL, random.Random(1))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["ca.key", "ca.pem", "server.key", "server.pem"]
    for key in ("ca.key", "server.key"):
        assert stat.S_IMODE((tmp_path / key).stat().st_mode) == 0o600
    again = ensure_credentials(tmp_path, SMALL, random.Random(2))
    assert again.chain == first.chain  # loaded, not regenerated


@pytest.mark.parametrize("how", list(SignatureHash))
@pytest.mark.parametrize("bits", [512, 1024])
def test_the_periods_parameters(tmp_path, how, bits):
    settings = CertificateSettings(key_bits=bits, ca_key_bits=512, signature_hash=how)
    creds = ensure_credentials(tmp_path, settings, random.Random(3))
    leaf, ca = (x509.load_der_x509_certificate(der) for der in creds.chain)
    assert leaf.signature_hash_algorithm.name == how.value
    assert creds.key_bits == bits and creds.needs_export_key == (bits > 512)
    assert (creds.export_key is not None) == (bits > 512)
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == (
        "auth01.dricas.ne.jp"
    )
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["auth01.dricas.ne.jp", "auth01.dricas.com"]
    # The signature really is over the to-be-signed bytes with that hash.
    ca.public_key().verify(
        leaf.signature,
        leaf.tbs_certificate_bytes,
        padding.PKCS1v15(),
        leaf.signature_hash_algorithm,
    )
    trust_roots([ca])(creds.chain)


def test_a_user_chain_is_loaded(tmp_path):
    ca, _, leaf, key = chain(1024)
    pem = serialization.Encoding.PEM
    (tmp_path / "chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    settings = CertificateSettings(chain=tmp_path / "chain.pem", private_key=tmp_path / "key.pem")
    creds = ensure_credentials(tmp_path / "unused", settings, random.Random(4))
    assert len(creds.chain) == 2 and creds.export_key is not None
    assert not (tmp_path / "unused").exists()


def test_unusable_files_are_one_clear_error(tmp_path):
    _ca, _, leaf, _key = chain(1024)
    pem = serialization.Encoding.PEM
    good_chain = tmp_path / "chain.pem"
    good_chain.write_bytes(leaf.public_bytes(pem))
    other_key = tmp_path / "other.pem"
    other_key.write_bytes(
        generate_rsa_key(512, random.Random(5)).private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(CertificateError, match="does not belong to the leaf"):
        load_credentials(good_chain, other_key)
    with pytest.raises(CertificateError, match=r"junk\.pem: not a PEM certificate chain"):
        load_credentials(junk, other_key)
    with pytest.raises(CertificateError, match=r"junk\.pem: not an unencrypted PEM private key"):
        load_credentials(good_chain, junk)
    with pytest.raises(CertificateError, match=r"missing\.pem: No such file"):
        load_credentials(tmp_path / "missing.pem", other_key)
    with pytest.raises(ValueError, match="set both or neither"):
        CertificateSettings(chain=good_chain)


def test_small_keys_are_real_rsa_keys():
    key = generate_rsa_key(512, random.Random(6))
    assert key.key_size == 512
    assert generate_rsa_key(512, random.Random(6)).private_numbers() == key.private_numbers()
    message = b"MD5 || SHA-1 digest, 36 bytes...."
    signature = sign_raw(key.private_numbers(), message)
    assert verify_raw(key.public_key().public_numbers(), signature, message)
    assert not verify_raw(key.public_key().public_numbers(), signature, message[:-1] + b"!")
    ciphertext = key.public_key().encrypt(b"x" * 48, padding.PKCS1v15())
    assert key.decrypt(ciphertext, padding.PKCS1v15()) == b"x" * 48
    with pytest.raises(ValueError):
        generate_rsa_key(257)


def test_credentials_check_their_parts():
    _ca, ca_key, leaf, key = chain(1024)
    with pytest.raises(ValueError, match="does not belong"):
        Credentials([leaf], ca_key)
    with pytest.raises(ValueError, match="at most 512 bits"):
        Credentials([leaf], key, export_key=ca_key)


def test_the_chain_check_of_the_console():
    ca, _ca_key, leaf, _ = chain(1024)
    der = (
        leaf.public_bytes(serialization.Encoding.DER),
        ca.public_bytes(serialization.Encoding.DER),
    )
    trust_roots([ca])(der)  # MD5-signed: accepted, as by ntSSL
    trust_roots([ca])(der[:1])  # the root may be left out of the chain
    with pytest.raises(TlsError) as e:
        trust_roots([])(der)
    assert e.value.alert is AlertDescription.UNKNOWN_CA
    impostor, *_ = chain(512)  # a root with the same name and another key
    with pytest.raises(TlsError) as e:
        trust_roots([impostor])(der)
    assert e.value.alert is AlertDescription.BAD_CERTIFICATE
    forged = bytearray(der[0])
    forged[-5] ^= 0xFF  # inside the signature
    with pytest.raises(TlsError) as e:
        trust_roots([ca])((bytes(forged),))
    assert e.value.alert is AlertDescription.BAD_CERTIFICATE


def test_a_console_refuses_a_server_its_roots_did_not_sign():
    s = server(NTSSL)
    c = client(NTSSL_CONSOLE, check_chain=trust_roots([]))
    pump(c, s)
    assert closed(events(c)).error.alert is AlertDescription.UNKNOWN_CA
    # SSL 3.0 has no unknown_ca: the server hears bad_certificate.
    assert closed(events(s)).error.alert is AlertDescription.BAD_CERTIFICATE
    ca, *_ = chain(1024)
    s = server(NTSSL)
    c = client(NTSSL_CONSOLE, check_chain=trust_roots([ca]))
    pump(c, s)
    assert any(isinstance(e, HandshakeComplete) for e in events(c))
