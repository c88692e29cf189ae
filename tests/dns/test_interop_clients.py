"""``dcsim dns`` on loopback against clients nobody here wrote: dig, kdig and dnspython."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest

from tests.dns.helpers import EXAMPLE, ZONES
from tests.dns.running import DnsServer, dcsim_dns
from tests.peers import require_program

pytestmark = [pytest.mark.interop, pytest.mark.slow]


@pytest.fixture(scope="module")
def zone_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("zones")
    for path in ZONES.glob("*.zone"):
        shutil.copy(path, directory)
    (directory / "example.zone").write_text(EXAMPLE)
    return directory


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, zone_dir: Path):
    with dcsim_dns(tmp_path_factory.mktemp("run"), zones=zone_dir) as running:
        yield running


def dig(server: DnsServer, *args: str, program: str = "dig") -> str:
    path = require_program(program, "bind9-dnsutils" if program == "dig" else "knot-dnsutils")
    result = subprocess.run(
        [path, f"@{server.host}", "-p", str(server.port), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize("mode", [[], ["+tcp"], ["+noedns"], ["+tcp", "+noedns"]])
def test_dig_over_udp_and_tcp_with_and_without_edns(server: DnsServer, mode: list[str]):
    out = dig(server, "AUTH01.dricas.ne.jp", "A", "+norec", *mode)
    assert "status: NOERROR" in out
    assert "flags: qr aa;" in out
    assert "AUTH01.dricas.ne.jp.\t3600\tIN\tA\t192.0.2.10" in out
    assert ("EDNS: version: 0" in out) == ("+noedns" not in mode)
    assert ("(TCP)" in out) == ("+tcp" in mode)


def test_dig_nxdomain_nodata_and_refused(server: DnsServer):
    nx = dig(server, "pso99.dricas.ne.jp")
    assert "status: NXDOMAIN" in nx and "IN\tSOA\tns1.dricas.ne.jp." in nx
    nodata = dig(server, "pso01.dricas.ne.jp", "MX")
    assert "status: NOERROR" in nodata and "ANSWER: 0" in nodata and "IN\tSOA" in nodata
    refused = dig(server, "www.example.com")
    assert "status: REFUSED" in refused


def test_dig_truncation_and_the_tcp_retry(server: DnsServer):
    truncated = dig(server, "big.example", "TXT", "+noedns", "+ignore", "+norec")
    assert "flags: qr aa tc;" in truncated and "ANSWER: 0" in truncated
    retried = dig(server, "big.example", "TXT", "+noedns")
    assert "Truncated, retrying in TCP mode" in retried
    assert "ANSWER: 6" in retried and "(TCP)" in retried
    fits = dig(server, "big.example", "TXT", "+bufsize=1232")
    assert "ANSWER: 6" in fits and "(UDP)" in fits


def test_dig_axfr_is_refused(server: DnsServer):
    out = dig(server, "dricas.ne.jp", "AXFR")
    assert "Transfer failed" in out
    assert "192.0.2.10" not in out


def test_dig_axfr_to_an_allowed_client(tmp_path: Path):
    with dcsim_dns(tmp_path, 'axfr_clients = ["127.0.0.0/8"]') as server:
        out = dig(server, "dricas.ne.jp", "AXFR")
    assert out.count("\tSOA\t") == 2
    assert "auth01.dricas.ne.jp.\t3600\tIN\tA\t192.0.2.10" in out


@pytest.mark.parametrize("mode", [["+notcp"], ["+tcp"], ["+noedns"]])
def test_kdig(server: DnsServer, mode: list[str]):
    out = dig(server, "x.st-pso.games.sega.net", "A", *mode, program="kdig")
    assert "status: NOERROR" in out
    assert "x.st-pso.games.sega.net.\t3600\tIN\tA\t192.0.2.20" in out


def test_kdig_truncation_retries_over_tcp(server: DnsServer):
    out = dig(server, "big.example", "TXT", "+noedns", program="kdig")
    assert "ANSWER: 6" in out and "TCP" in out


def test_dnspython_udp_tcp_and_fallback(server: DnsServer):
    q = dns.message.make_query("pso01.dricas.ne.jp", "A")
    udp = dns.query.udp(q, server.host, port=server.port, timeout=5)
    assert udp.flags & dns.flags.AA and str(udp.answer[0][0]) == "192.0.2.20"
    tcp = dns.query.tcp(q, server.host, port=server.port, timeout=5)
    assert tcp.answer == udp.answer
    big = dns.message.make_query("big.example", "TXT")
    response, used_tcp = dns.query.udp_with_fallback(big, server.host, port=server.port, timeout=5)
    assert used_tcp and len(response.answer[0]) == 6


def test_dnspython_resolver_nxdomain(server: DnsServer):
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server.host]
    resolver.port = server.port
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("pso99.dricas.ne.jp", "A")
    assert str(resolver.resolve("master.pso.dream-key.com", "A")[0]) == "192.0.2.20"


def test_dnspython_several_queries_on_one_tcp_connection(server: DnsServer):
    import socket

    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        for name in ("pso01.dricas.ne.jp", "pso02.dricas.ne.jp", "auth01.dricas.com"):
            q = dns.message.make_query(name, "A")
            dns.query.send_tcp(sock, q)
            response, _ = dns.query.receive_tcp(sock)
            assert response.id == q.id and response.answer


def test_the_2006_knobs_seen_by_dig(tmp_path: Path):
    settings = 'transport = "udp"\nedns = "drop"\nforeign_names = "drop"'
    with dcsim_dns(tmp_path, settings) as server:
        no_tcp = dig(server, "auth01.dricas.ne.jp", "+tcp", "+tries=1", "+time=2")
        edns = dig(server, "auth01.dricas.ne.jp", "+tries=1", "+time=1")
        plain = dig(server, "auth01.dricas.ne.jp", "+noedns", "+tries=1", "+time=2")
        foreign = dig(server, "www.example.com", "+noedns", "+tries=1", "+time=1")
    assert "connection refused" in no_tcp
    assert "timed out" in edns
    assert "192.0.2.10" in plain
    assert "timed out" in foreign


def test_upward_referral_and_edns_formerr(tmp_path: Path):
    hints = ZONES / "2006" / "root.hints"
    settings = f'foreign_names = "upward_referral"\nroot_hints = "{hints}"\nedns = "formerr"'
    with dcsim_dns(tmp_path, settings) as server:
        up = dig(server, "www.example.com", "+noedns")
        formerr = dig(server, "auth01.dricas.ne.jp")
    assert "status: NOERROR" in up and "ANSWER: 0" in up
    assert ".\t\t\t3600000\tIN\tNS\ta.root-servers.net." in up
    assert "status: FORMERR" in formerr


def test_revival_address_for_every_name(tmp_path: Path):
    with dcsim_dns(tmp_path, 'revival_address = "192.0.2.77"') as server:
        out = dig(server, "anything.at.all.example.net")
    assert "anything.at.all.example.net. 60\tIN\tA\t192.0.2.77" in out
