"""Real peers nobody here wrote: tlslite-ng and OpenSSL, on real sockets.

- ``dcsim auth`` (a child process, real reactor and twisted.web) serves tlslite-ng as an
  SSL 3.0 and TLS 1.0 client with RC4 and 3DES, and ``openssl s_client -tls1``.
- dcsim's client core talks to a tlslite-ng server and to ``openssl s_server``.

This machine's OpenSSL (3.0, Debian) has SSL 3.0, RC4, DES and 3DES compiled out
(``openssl ciphers -v 'ALL:@SECLEVEL=0'`` lists none of them), so the OpenSSL tests use
TLS 1.0 with what it still has: AES128-SHA / AES256-SHA and the NULL suites.
"""

from __future__ import annotations

import random
import socket
import subprocess
import threading

import pytest
from bench.bench_tls import s_server_command
from tlslite import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey

from dcsim.tls.connection import HandshakeComplete, TlsClient
from dcsim.tls.profiles import NTSSL_CONSOLE, TLS10, ClientProfile
from dcsim.tls.suites import CipherSuite
from dcsim.tls.wire import SSL3, TLS1_0
from tests.peers import require_program
from tests.running import started_dcsim

from .helpers import chain, drive

pytestmark = pytest.mark.interop

SUITES = [
    "RC4-MD5",
    "RC4-SHA",
    "DES-CBC3-SHA",
    "DES-CBC-SHA",
    "EXP-RC4-MD5",
    "EXP-DES-CBC-SHA",
    "AES128-SHA",
    "AES256-SHA",
]
REQUEST = (
    b"POST /cgi-bin/auth.cgi HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 20\r\n\r\nid=HL0001&password=x"
)


@pytest.fixture(scope="module")
def licence_server(tmp_path_factory):
    """``dcsim auth`` on a free loopback port, every suite plus NULL."""
    home = tmp_path_factory.mktemp("auth")
    config = home / "auth.toml"
    suites = ", ".join(f'"{s}"' for s in SUITES)
    config.write_text(
        f'data_dir = "{home}"\n[auth]\nprofile = "custom"\nsuites = [{suites}]\n'
        "null_suites = true\n"
    )
    listen = ("--listen", "tcp:127.0.0.1:0")
    with started_dcsim("auth", *listen, config=config, until="licence server on") as auth:
        yield auth.address("licence server on").port, home


def tlslite_settings(version: tuple[int, int], cipher: str, mac: str) -> HandshakeSettings:
    settings = HandshakeSettings()
    settings.minVersion = settings.maxVersion = version
    settings.cipherNames = [cipher]
    settings.macNames = [mac]
    return settings


def tlslite_post(port: int, settings: HandshakeSettings, session=None):
    """POST over a tlslite-ng connection; (reply, version, suite, session, resumed)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = TLSConnection(sock)
    conn.handshakeClientCert(settings=settings, session=session)
    facts = (conn.version, conn.session.cipherSuite, conn.session, conn.resumed)
    conn.write(REQUEST)
    reply = b""
    while data := conn.read():
        reply += bytes(data)
    conn.close()
    return (reply, *facts)


@pytest.mark.slow
@pytest.mark.parametrize("version", [(3, 0), (3, 1)], ids=["ssl3", "tls1.0"])
@pytest.mark.parametrize(
    ("cipher", "mac", "suite"),
    [
        ("rc4", "md5", CipherSuite.RSA_WITH_RC4_128_MD5),
        ("rc4", "sha", CipherSuite.RSA_WITH_RC4_128_SHA),
        ("3des", "sha", CipherSuite.RSA_WITH_3DES_EDE_CBC_SHA),
        ("aes128", "sha", CipherSuite.RSA_WITH_AES_128_CBC_SHA),
    ],
)
def test_tlslite_client_posts_to_dcsim_auth(licence_server, version, cipher, mac, suite):
    port, _ = licence_server
    reply, negotiated, chosen, _, _ = tlslite_post(port, tlslite_settings(version, cipher, mac))
    assert reply.startswith(b"HTTP/1.0 200 OK\r\n")
    assert reply.endswith(b"\r\n\r\n")  # the revival answer: an empty body
    assert (negotiated, chosen) == (version, suite)


@pytest.mark.slow
def test_tlslite_resumes_a_session(licence_server):
    port, _ = licence_server
    settings = tlslite_settings((3, 1), "rc4", "sha")
    _, _, _, session, resumed = tlslite_post(port, settings)
    assert not resumed
    reply, _, _, _, resumed = tlslite_post(port, settings, session)
    assert resumed and reply.startswith(b"HTTP/1.0 200 OK")


def s_client(port: int, cipher: str) -> subprocess.CompletedProcess[bytes]:
    openssl = require_program("openssl", "openssl")
    return subprocess.run(
        [
            openssl,
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-tls1",
            "-cipher",
            f"{cipher}:@SECLEVEL=0",
            "-ign_eof",
            "-quiet",
        ],
        input=REQUEST,
        capture_output=True,
        timeout=30,
    )


@pytest.mark.slow
@pytest.mark.parametrize("cipher", ["AES128-SHA", "AES256-SHA", "NULL-MD5", "NULL-SHA"])
def test_openssl_s_client_tls1(licence_server, cipher):
    port, _ = licence_server
    result = s_client(port, cipher)
    assert b"HTTP/1.0 200 OK" in result.stdout, result.stderr.decode(errors="replace")


@pytest.mark.slow
def test_openssl_verifies_the_generated_chain_except_for_md5(licence_server):
    """The generated chain is well formed: OpenSSL checks its structure and names, and
    refuses it only because MD5 signatures are too weak today."""
    _, home = licence_server
    openssl = require_program("openssl", "openssl")

    def verify(level: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                openssl,
                "verify",
                "-CAfile",
                str(home / "tls" / "ca.pem"),
                "-auth_level",
                level,
                str(home / "tls" / "server.pem"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert verify("0").stdout.endswith("server.pem: OK\n")
    weak = verify("1")
    assert (
        weak.returncode != 0 and "signature digest algorithm too weak" in weak.stdout + weak.stderr
    )
    dump = subprocess.run(
        [openssl, "x509", "-in", str(home / "tls" / "server.pem"), "-noout", "-text"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert "Signature Algorithm: md5WithRSAEncryption" in dump
    assert "CN = auth01.dricas.ne.jp" in dump and "DNS:auth01.dricas.com" in dump
    assert "Public-Key: (1024 bit)" in dump


# --- dcsim's client against independent servers ---------------------------------------------


def tlslite_server(
    sock: socket.socket, version, cipher: str, mac: str, answer: bytes, errors: list
):
    ca, _, leaf, key = chain(1024)
    from cryptography.hazmat.primitives import serialization

    pem = serialization.Encoding.PEM
    certs = X509CertChain()
    certs.parsePemList((leaf.public_bytes(pem) + ca.public_bytes(pem)).decode())
    private = parsePEMKey(
        key.private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode(),
        private=True,
    )
    try:
        conn = TLSConnection(sock)
        settings = tlslite_settings(version, cipher, mac)
        conn.handshakeServer(certChain=certs, privateKey=private, settings=settings)
        conn.read()
        conn.write(answer)
        conn.close()
    except Exception as e:  # reported to the test thread, which fails with it
        errors.append(e)
    finally:
        sock.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("version", "cipher", "mac", "suite", "profile"),
    [
        ((3, 0), "rc4", "md5", CipherSuite.RSA_WITH_RC4_128_MD5, None),  # the console's hello
        ((3, 0), "rc4", "sha", CipherSuite.RSA_WITH_RC4_128_SHA, None),
        ((3, 0), "3des", "sha", CipherSuite.RSA_WITH_3DES_EDE_CBC_SHA, TLS10),
        ((3, 1), "3des", "sha", CipherSuite.RSA_WITH_3DES_EDE_CBC_SHA, TLS10),
        ((3, 1), "aes128", "sha", CipherSuite.RSA_WITH_AES_128_CBC_SHA, TLS10),
    ],
)
def test_dcsim_client_against_a_tlslite_server(version, cipher, mac, suite, profile):
    if profile is None:
        profile = NTSSL_CONSOLE
    elif version == (3, 0):
        profile = ClientProfile("tls1.0 down to ssl3", suites=TLS10.suites, version=SSL3)
    ours, theirs = socket.socketpair()
    errors: list = []
    thread = threading.Thread(
        target=tlslite_server,
        args=(theirs, version, cipher, mac, b"HTTP/1.0 200 OK\r\n\r\n", errors),
    )
    thread.start()
    try:
        events, reply = drive(TlsClient(profile, random.Random(3)), ours, REQUEST)
    finally:
        ours.close()
        thread.join(10)
    assert not errors, errors
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    assert (done.version, done.suite) == ((version[0] << 8) | version[1], suite)
    assert reply == b"HTTP/1.0 200 OK\r\n\r\n"


@pytest.mark.slow
def test_dcsim_client_against_openssl_s_server(tmp_path):
    openssl = require_program("openssl", "openssl")
    ca, _, leaf, key = chain(1024)
    from cryptography.hazmat.primitives import serialization

    pem = serialization.Encoding.PEM
    (tmp_path / "cert.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    command = s_server_command(
        openssl, port, "AES128-SHA:@SECLEVEL=0", tmp_path / "cert.pem", tmp_path / "key.pem"
    )
    server = subprocess.Popen(
        [*command, "-www", "-naccept", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        for _ in range(100):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=0.2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(server.stdout.read().decode(errors="replace"))
                threading.Event().wait(0.05)
        else:
            pytest.fail("openssl s_server did not start")
        sock.settimeout(10)
        events, reply = drive(TlsClient(TLS10, random.Random(4)), sock, b"GET / HTTP/1.0\r\n\r\n")
        sock.close()
    finally:
        server.kill()
        server.wait(10)
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    assert (done.version, done.suite) == (TLS1_0, CipherSuite.RSA_WITH_AES_128_CBC_SHA)
    assert reply.startswith(b"HTTP/1.0 200 ok")
    assert b"AES128-SHA" in reply  # s_server -www reports the cipher it used
