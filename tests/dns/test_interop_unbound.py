"""unbound (real recursive software) as the ISP's resolver, with stub zones at dcsim.

What failure2006.md describes, with a resolver nobody here wrote: through the public
``dricas.ne.jp`` the PSO names are NXDOMAIN (M1); Sega's island answers them whether or
not it speaks TCP (M2), unless the resolver itself insists on TCP; a server that drops
EDNS queries gets no answer to a post-2019 resolver at all; truncated answers need TCP.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from tests.dns.helpers import EXAMPLE, ZONES
from tests.dns.running import DnsServer, dcsim_dns
from tests.peers import free_port, require_program
from tests.running import started

pytestmark = [pytest.mark.interop, pytest.mark.slow]

AUTH = "auth01.dricas.ne.jp"


@contextlib.contextmanager
def unbound(tmp_path: Path, stubs: dict[str, DnsServer], extra: str = "") -> Iterator[int]:
    """unbound on a free loopback port, with a stub zone for each name in *stubs*.

    Everything else goes to a closed loopback port, so unbound never leaves 127.0.0.1."""
    program = require_program("unbound", "unbound")
    port = free_port()
    closed = free_port()
    zones = "".join(
        f'stub-zone:\n    name: "{name}"\n    stub-addr: {s.host}@{s.port}\n'
        for name, s in stubs.items()
    )
    conf = tmp_path / "unbound.conf"
    conf.write_text(
        f"""server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    username: ""
    chroot: ""
    directory: "{tmp_path}"
    pidfile: "{tmp_path}/unbound.pid"
    use-syslog: no
    verbosity: 1
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    qname-minimisation: no
{extra}
remote-control:
    control-enable: no
stub-zone:
    name: "."
    stub-addr: 127.0.0.1@{closed}
{zones}"""
    )
    with (
        (tmp_path / "unbound.log").open("w") as log,
        started([program, "-d", "-c", str(conf)], stdout=log, stderr=log) as running,
    ):
        _wait_until_answering(port, running.process)
        yield port


def _wait_until_answering(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    query = dns.message.make_query("localhost.", "A")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("unbound exited at start")
        try:
            dns.query.udp(query, "127.0.0.1", port=port, timeout=0.2)
            return
        except (TimeoutError, dns.exception.Timeout, ConnectionRefusedError, OSError):
            continue
    raise RuntimeError("unbound did not start")


def ask(port: int, name: str, qtype: str = "A", timeout: float = 10.0) -> dns.message.Message:
    """Ask unbound (over TCP if its reply to us is truncated: that is not what we test)."""
    query = dns.message.make_query(name, qtype)
    reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=timeout)
    if reply.flags & dns.flags.TC:
        reply = dns.query.tcp(query, "127.0.0.1", port=port, timeout=timeout)
    return reply


def test_revival_zones_resolve_through_unbound(tmp_path: Path):
    with (
        dcsim_dns(tmp_path) as server,
        unbound(tmp_path, {"dricas.ne.jp": server, "dream-key.com": server}) as port,
    ):
        jp = ask(port, AUTH)
        eu = ask(port, "master.pso.dream-key.com")
    assert jp.rcode() == dns.rcode.NOERROR and str(jp.answer[0][0]) == "192.0.2.10"
    assert not jp.flags & dns.flags.AA and jp.flags & dns.flags.RA
    assert str(eu.answer[0][0]) == "192.0.2.20"


def test_m1_the_public_zone_gives_the_isp_resolver_nxdomain(tmp_path: Path):
    public = ZONES / "2006" / "public"
    with (
        dcsim_dns(tmp_path, zones=public) as server,
        unbound(tmp_path, {"dricas.ne.jp": server}) as port,
    ):
        reply = ask(port, AUTH)
        again = ask(port, "pso01.dricas.ne.jp")
    assert reply.rcode() == dns.rcode.NXDOMAIN and again.rcode() == dns.rcode.NXDOMAIN
    assert reply.authority[0].rdtype == dns.rdatatype.SOA


def test_m2_the_island_works_for_unbound_with_or_without_tcp(tmp_path: Path):
    island = ZONES / "2006" / "sega"
    for settings in ('transport = "udp"', 'transport = "udp+tcp"'):
        with (
            dcsim_dns(tmp_path, settings, zones=island) as server,
            unbound(tmp_path, {"dricas.ne.jp": server}) as port,
        ):
            assert str(ask(port, AUTH).answer[0][0]) == "192.0.2.10"


def test_unbound_told_to_use_tcp_fails_on_a_udp_only_island(tmp_path: Path):
    island = ZONES / "2006" / "sega"
    with (
        dcsim_dns(tmp_path, 'transport = "udp"', zones=island) as server,
        unbound(tmp_path, {"dricas.ne.jp": server}, "    tcp-upstream: yes") as port,
    ):
        assert ask(port, AUTH).rcode() == dns.rcode.SERVFAIL


def test_edns_formerr_is_survived_but_edns_drop_leaves_unbound_without_answer(tmp_path: Path):
    island = ZONES / "2006" / "sega"
    with (
        dcsim_dns(tmp_path, 'edns = "formerr"', zones=island) as server,
        unbound(tmp_path, {"dricas.ne.jp": server}) as port,
    ):
        assert str(ask(port, AUTH).answer[0][0]) == "192.0.2.10"  # retried without EDNS
    with (
        dcsim_dns(tmp_path, 'edns = "drop"', zones=island) as server,
        unbound(tmp_path, {"dricas.ne.jp": server}) as port,
    ):
        with pytest.raises(dns.exception.Timeout):
            ask(port, AUTH, timeout=4.0)
        plain = dns.message.make_query(AUTH, "A")  # no EDNS: the island answers at once
        direct = dns.query.udp(plain, server.host, port=server.port, timeout=5)
        assert str(direct.answer[0][0]) == "192.0.2.10"


def test_truncation_makes_unbound_retry_over_tcp(tmp_path: Path):
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "example.zone").write_text(EXAMPLE)
    small = "    edns-buffer-size: 512"
    with (
        dcsim_dns(tmp_path, zones=zones) as server,
        unbound(tmp_path, {"example": server}, small) as port,
    ):
        reply = ask(port, "big.example", "TXT")
    assert reply.rcode() == dns.rcode.NOERROR and len(reply.answer[0]) == 6
    with (
        dcsim_dns(tmp_path, 'transport = "udp"', zones=zones) as server,
        unbound(tmp_path, {"example": server}, small) as port,
    ):
        assert ask(port, "big.example", "TXT").rcode() == dns.rcode.SERVFAIL
