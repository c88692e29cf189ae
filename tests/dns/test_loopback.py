"""The same resolvers and servers on real sockets: a delegation chain on loopback.

The 2006 tree of configs/zones/2006 with its addresses moved into 127.0.0.0/8 (203.0.113.N
becomes 127.0.113.N), every server on the same free port of its own loopback address,
the recursive resolver told to use that port. The real reactor is stepped until the
answer arrives.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from dnslib import QTYPE, DNSLabel
from twisted.internet.error import CannotListenError

from dcsim.address import Listen
from dcsim.dns.authority import Authority
from dcsim.dns.message import Rcode
from dcsim.dns.recursive import RecursiveResolver, ResolverConfig
from dcsim.dns.server import DnsController, DnsServer
from dcsim.dns.stub import DreamcastResolver, StubConfig
from dcsim.dns.zone import Zones, load_hints
from tests.dns.helpers import ZONES
from tests.peers import free_port

pytestmark = pytest.mark.slow

SERVERS = {
    "127.0.113.1": "root",
    "127.0.113.2": "jp",
    "127.0.113.3": "gtld",
    "127.0.113.4": "public",
    "127.0.2.53": "sega",
}


def spin(d, timeout: float = 20.0):
    """Run the real reactor until *d* fires (tests only: the wall clock bounds the wait)."""
    from twisted.internet import reactor

    box: list = []
    d.addBoth(box.append)
    deadline = time.monotonic() + timeout
    while not box and time.monotonic() < deadline:
        reactor.iterate(0.01)
    assert box, "no answer on loopback"
    if hasattr(box[0], "raiseException"):
        box[0].raiseException()
    return box[0]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory):
    from twisted.internet import reactor

    base = tmp_path_factory.mktemp("loopback")
    for path in (ZONES / "2006").rglob("*"):
        if path.is_file():
            target = base / path.relative_to(ZONES / "2006")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text().replace("203.0.113.", "127.0.113."))
    for _ in range(5):
        port = free_port()
        servers: list[DnsServer] = []
        try:
            for address, directory in SERVERS.items():
                server = DnsServer(reactor, DnsController(Authority(Zones.load(base / directory))))
                servers.append(server)
                server.listen(Listen("udp", address, port))
                server.listen(Listen("tcp", address, port))
        except CannotListenError:
            for server in servers:
                spin(server.stop())
            continue
        yield base, port
        for server in servers:
            spin(server.stop())
        return
    pytest.skip("no port free on every loopback address")


def resolver(base: Path, port: int) -> RecursiveResolver:
    from twisted.internet import reactor

    config = ResolverConfig(root_hints=load_hints(base / "root.hints"), port=port, timeout=2.0)
    return RecursiveResolver(reactor, config, random.Random(1))


def test_recursive_resolution_down_a_real_delegation_chain(tree):
    base, port = tree
    r = resolver(base, port)
    eu = spin(r.resolve(DNSLabel("master.pso.dream-key.com."), QTYPE.A))
    assert [str(rr.rdata) for rr in eu.answer] == ["192.0.2.20"]
    jp = spin(r.resolve(DNSLabel("auth01.dricas.ne.jp."), QTYPE.A))
    assert jp.rcode == Rcode.NXDOMAIN and jp.authority[0].rtype == QTYPE.SOA
    assert r.queries_sent == 6  # root, com., dream-key.com; root, jp., dricas.ne.jp


def test_the_stub_on_real_sockets_asks_the_island(tree):
    from twisted.internet import reactor

    _, port = tree
    stub = DreamcastResolver(reactor, StubConfig(("127.0.2.53",), port=port), random.Random(2))
    result = spin(stub.lookup("auth01.dricas.ne.jp"))
    assert result.addresses == ("192.0.2.10",)
