"""The licence server on the virtual internet: a virtual console's ntSSL hello crosses a
576-byte-MTU dial-up link and a router to 192.0.2.10:443, unchanged service code on a
``VirtualHost``; the capture decodes in tshark as SSLv2 hello + SSL 3.0."""

from __future__ import annotations

import random
import subprocess

import pytest
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.task import Clock

from dcsim.auth.service import AuthSettings, licence_factory
from dcsim.net.clock import run
from dcsim.net.network import Network
from dcsim.tls.certs import CertificateSettings
from dcsim.tls.profiles import MODERN, NTSSL_CONSOLE
from dcsim.tls.protocol import TlsClientFactory
from dcsim.tls.wire import AlertDescription
from tests.peers import require_program

BODY = b"id=HL0001&password=s3cret"
REQUEST = (
    b"POST /cgi-bin/auth.cgi HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


class Exchange(Protocol):
    received = b""
    reason = None

    def connectionMade(self) -> None:
        self.transport.write(REQUEST)

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason) -> None:
        self.reason = reason


def licence_check(tmp_path, settings: AuthSettings):
    clock = Clock()
    net = Network(clock, seed=3, capture_dir=tmp_path / "pcap")
    console = net.add_host("console")
    nas = net.add_router("nas")
    licence = net.add_host("licence")
    net.link(console, nas, "198.51.100.130/24", "198.51.100.1/24", mtu=576, latency=0.08)
    net.link(nas, licence, "192.0.2.1/24", "192.0.2.10/24", latency=0.02)
    net.build_routes()
    licence.listenTCP(443, licence_factory(settings, tmp_path, licence, None, random.Random(1)))
    made: list[Exchange] = []
    wrapped = ClientFactory()
    wrapped.protocol = lambda: made.append(Exchange()) or made[-1]
    tls = TlsClientFactory(wrapped, NTSSL_CONSOLE, console, random.Random(2))
    console.connectTCP("192.0.2.10", 443, tls)
    finished = run(clock, 120, until=lambda: bool(made) and made[0].reason is not None)
    net.close()
    return finished, made[0], clock, tls


def test_the_console_passes_the_check_across_the_virtual_internet(tmp_path):
    settings = AuthSettings(certificates=CertificateSettings(key_bits=1024, ca_key_bits=512))
    finished, exchange, clock, _ = licence_check(tmp_path, settings)
    assert finished
    assert exchange.received.startswith(b"HTTP/1.0 200 OK\r\n")
    assert exchange.received.endswith(b"\r\n\r\n")
    assert clock.seconds() < 5  # a few round trips of 200 ms, in virtual time


def test_a_modern_back_end_fails_the_console_on_the_wire(tmp_path):
    settings = AuthSettings(profile=MODERN.name, certificates=CertificateSettings(ca_key_bits=512))
    finished, exchange, _, _ = licence_check(tmp_path, settings)
    assert finished and exchange.received == b""
    assert exchange.reason.value.alert is AlertDescription.HANDSHAKE_FAILURE


@pytest.mark.interop
def test_tshark_decodes_the_capture(tmp_path):
    tshark = require_program("tshark", "tshark")
    settings = AuthSettings(certificates=CertificateSettings(key_bits=1024, ca_key_bits=512))
    licence_check(tmp_path, settings)
    summary = subprocess.run(
        [tshark, "-r", str(tmp_path / "pcap" / "nas-licence.pcap"), "-d", "tcp.port==443,tls"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    lines = [line.split(None, 5)[-1] for line in summary.splitlines()]
    assert "SSLv2 113 Client Hello" in lines  # 2 + 0x47 bytes of hello, as the console's
    assert any(line.startswith("SSLv3") and "Server Hello" in line for line in lines)
    assert any("Client Key Exchange, Change Cipher Spec" in line for line in lines)
    assert any(line.startswith("SSLv3") and "Application Data" in line for line in lines)


def test_a_tls_connection_can_be_aborted(tmp_path):
    """abortConnection drops the TCP connection at once (twisted.web's readBody and a
    timed-out client need it), without a close_notify."""
    clock = Clock()
    net = Network(clock, seed=3)
    console, licence = net.add_host("console"), net.add_host("licence")
    net.link(console, licence, "192.0.2.1/24", "192.0.2.10/24", latency=0.01)
    net.build_routes()
    settings = AuthSettings(certificates=CertificateSettings(key_bits=512, ca_key_bits=512))
    licence.listenTCP(443, licence_factory(settings, tmp_path, licence, None, random.Random(1)))
    made: list[Exchange] = []
    wrapped = ClientFactory()
    wrapped.protocol = lambda: made.append(Exchange()) or made[-1]
    console.connectTCP("192.0.2.10", 443, TlsClientFactory(wrapped, NTSSL_CONSOLE, console))
    run(clock, 5, until=lambda: bool(made))
    made[0].transport.abortConnection()
    assert run(clock, 5, until=lambda: made[0].reason is not None)
    assert console.tcp_connections() == [] or all(
        c.core.state.name in ("CLOSED", "TIME_WAIT") for c in console.tcp_connections()
    )
