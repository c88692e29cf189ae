"""dcsim the way Twisted users run services: ``twistd -n dcsim`` (the plugin) and
``twistd -ny servers/NAME.tac``, each in a subprocess on free loopback ports. Each one
answers (dig for DNS, a TCP exchange for the others), then stops cleanly on SIGTERM;
mistakes are one line, never a traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import pytest
from twisted.internet.selectreactor import SelectReactor

from dcsim.net.network import Network
from dcsim.ppp.auth import Login
from dcsim.ppp.client import PppClientFactory
from dcsim.ppp.link import EndReason, client_config
from tests.peers import require_program
from tests.up.twistd import ROOT, TWISTD, run_twistd, settings_file, twistd

pytestmark = pytest.mark.slow

SERVERS = ROOT / "servers"


def assert_stopped_cleanly(code: int, output: str) -> None:
    # twistd re-raises the signal it was stopped with once it has shut down.
    assert code == -signal.SIGTERM, output
    assert "Server Shut Down." in output
    assert "Traceback" not in output and "Unhandled" not in output, output


def exchange(port: int, send: bytes = b"", *, expect: int = 1) -> bytes:
    """Connect to *port*, send *send*, and read until *expect* bytes arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if send:
            sock.sendall(send)
        received = b""
        while len(received) < expect:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
        return received


def test_dns_tac_answers_dig(tmp_path: Path) -> None:
    dig = require_program("dig", "bind9-dnsutils")
    config, ports = settings_file(tmp_path)
    with twistd(tmp_path, "-y", str(SERVERS / "dns.tac"), config=config) as running:
        query = ["+short", "+time=5", "+tries=1", "auth01.dricas.ne.jp", "A"]
        for transport in ("+notcp", "+tcp"):
            answer = subprocess.run(
                [dig, "@127.0.0.1", "-p", str(ports["dns_udp"]), transport, *query],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert answer.stdout.split() == ["192.0.2.10"], answer
        assert_stopped_cleanly(running.stop(), running.text)


def test_auth_tac_holds_an_ssl_handshake(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    with twistd(tmp_path, "-y", str(SERVERS / "auth.tac"), config=config) as running:
        assert f"licence server on tcp:127.0.0.1:{ports['auth']}" in running.text
        # An SSL 3.0 ClientHello (RC4-MD5): the server answers with a ServerHello record.
        body = b"\x03\x00" + bytes(32) + b"\x00" + b"\x00\x02\x00\x04" + b"\x01\x00"
        handshake = b"\x01" + len(body).to_bytes(3, "big") + body
        hello = b"\x16\x03\x00" + len(handshake).to_bytes(2, "big") + handshake
        reply = exchange(ports["auth"], hello, expect=5)
        assert reply[:3] == bytes.fromhex("160300"), reply
        assert_stopped_cleanly(running.stop(), running.text)


def test_pso_tac_greets_a_client_on_dcsims_reactor(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    tac = ("-y", str(SERVERS / "pso.tac"))
    with twistd(
        tmp_path, "--reactor", "dcsim-epoll", *tac, config=config, until="ship on"
    ) as running:
        assert "reactor class: dcsim.reactor.EPollReactor" in running.text
        assert f"login server on tcp:127.0.0.1:{ports['login']}" in running.text
        assert f"ship on tcp:127.0.0.1:{ports['ship']}" in running.text
        for port in (ports["login"], ports["ship"]):
            assert len(exchange(port, expect=4)) >= 4  # the server's init command
        assert_stopped_cleanly(running.stop(), running.text)


def test_dcnet_tac_listens_on_every_front_end(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    with twistd(tmp_path, "-y", str(SERVERS / "dcnet.tac"), config=config) as running:
        for name in ("ppp", "ppp_7656", "ethernet"):
            socket.create_connection(("127.0.0.1", ports[name]), timeout=10).close()
        assert exchange(ports["modem"], b"AT\r", expect=6).endswith(b"OK\r\n")
        assert_stopped_cleanly(running.stop(), running.text)


def test_modem_tac_answers_at_commands(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    with twistd(tmp_path, "-y", str(SERVERS / "modem.tac"), config=config) as running:
        # [modem] names no transport: it listens where dcsim up's modem does.
        assert f"modem listening on tcp:127.0.0.1:{ports['modem']}" in running.text
        assert exchange(ports["modem"], b"ATI0\r", expect=10).endswith(b"OK\r\n")
        assert_stopped_cleanly(running.stop(), running.text)


def test_up_tac_serves_the_status_page(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    with twistd(tmp_path, "-y", str(SERVERS / "up.tac"), config=config, until="Ctrl-C") as running:
        request = b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        assert exchange(ports["status"], request, expect=12).startswith(b"HTTP/1.0 200")
        assert_stopped_cleanly(running.stop(), running.text)


def test_plugin_hangs_a_console_up_politely_before_it_exits(tmp_path: Path) -> None:
    """``twistd -n dcsim --config FILE``: a console on DCNet PPP is online; SIGTERM makes
    dcsim end its link with an LCP Terminate-Request before the process exits."""
    config, ports = settings_file(tmp_path)
    with twistd(tmp_path, "dcsim", "--config", str(config), until="Ctrl-C") as running:
        assert f"DCNet PPP (modem mode)              tcp:127.0.0.1:{ports['ppp']}" in running.text
        reactor = SelectReactor()
        console = Network(reactor, seed=3).add_host("console")
        factory = PppClientFactory(console, client_config(Login("flycast1", "password")))
        reactor.connectTCP("127.0.0.1", ports["ppp"], factory)
        seen: dict[str, object] = {}
        factory.up.addCallback(lambda up: running.process.send_signal(signal.SIGTERM))
        factory.up.addErrback(lambda failure: seen.setdefault("error", failure))
        factory.ended.addCallback(lambda ended: seen.setdefault("ended", ended))
        factory.ended.addBoth(lambda _: reactor.stop())
        reactor.callLater(30, lambda: (seen.setdefault("error", "timeout"), reactor.stop()))
        reactor.run(installSignalHandlers=False)
        assert "error" not in seen, seen.get("error")
        assert seen["ended"].reason is EndReason.PEER_TERMINATED  # type: ignore[attr-defined]
        code = running.wait(30)
    assert_stopped_cleanly(code, running.text)


def test_plugin_help_lists_the_options(tmp_path: Path) -> None:
    result = run_twistd(tmp_path, "dcsim", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--config=", "--pty", "--serial=", "--call-log=", "--session-log="):
        assert option in result.stdout


def test_plugin_bad_settings_are_one_line(tmp_path: Path) -> None:
    missing = run_twistd(tmp_path, "dcsim", "--config", str(tmp_path / "none.toml"))
    assert missing.returncode == 2
    assert missing.stderr == f"dcsim: {tmp_path / 'none.toml'}: no such file\n"
    bad = tmp_path / "bad.toml"
    bad.write_text('[log]\nlevel = "loud"\n')
    wrong = run_twistd(tmp_path, "-y", str(SERVERS / "dns.tac"), config=bad)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith(f"dcsim: {bad}: log.level: expected one of")
    assert wrong.stderr.count("\n") == 1


def test_a_port_in_use_is_one_line_and_status_1(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports["status"]))
        busy.listen()
        result = run_twistd(tmp_path, "dcsim", "--config", str(config))
    assert result.returncode == 1
    message = f"dcsim: status page: cannot listen on tcp:127.0.0.1:{ports['status']}"
    (line,) = [line for line in result.stdout.splitlines() if "#critical]" in line]
    assert message in line and "status.listen" in line
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "twistd.pid").exists()


def test_a_port_in_use_when_daemonised_is_reported_by_the_parent(tmp_path: Path) -> None:
    config, ports = settings_file(tmp_path)
    log = tmp_path / "twistd.log"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports["auth"]))
        busy.listen()
        daemon = [TWISTD, "--pidfile", str(tmp_path / "twistd.pid"), "--logfile", str(log)]
        result = subprocess.run(
            [*daemon, "dcsim", "--config", str(config)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.startswith("An error has occurred: ")
    assert "StartFailed: cannot listen on 127.0.0.1" in result.stderr
    assert f"cannot listen on 127.0.0.1:{ports['auth']} for licence server" in log.read_text()
    assert not (tmp_path / "twistd.pid").exists()
