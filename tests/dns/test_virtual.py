"""dcsim's resolvers against dcsim's authoritative servers on the virtual internet.

The 2006 internet of configs/zones/2006: a Dreamcast's stub resolver, the ISP's
recursive resolver, the root, jp., com./net., Sega's public servers and Sega's island.
Everything runs in simulated time.
"""

from __future__ import annotations

import random

import pytest
from dnslib import QTYPE, DNSLabel

from dcsim.address import Listen
from dcsim.dns.authority import EdnsPolicy, ForeignNames, Policy
from dcsim.dns.message import Rcode
from dcsim.dns.recursive import ResolverConfig
from dcsim.dns.server import DnsServer
from dcsim.dns.settings import ResolverSettings
from dcsim.dns.stub import DreamcastResolver, Resolved, StubConfig, StubFailure, StubLookupError
from dcsim.dns.zone import Zones
from dcsim.net.link import LinkProfile
from tests.dns.helpers import EXAMPLE, ZONES, zone
from tests.dns.world import DC, HINTS, ISP, SEGA, build

AUTH = "auth01.dricas.ne.jp"
RTT = 0.08  # two links of 20 ms each way


def stub(world, *servers: str, tries: int = 4, timeout: float = 0.5) -> DreamcastResolver:
    return DreamcastResolver(
        world.hosts["dc"], StubConfig(servers, tries, timeout), random.Random(3)
    )


def lookup(world, resolver: DreamcastResolver, name: str) -> Resolved | StubLookupError:
    try:
        return world.wait(resolver.lookup(name))
    except StubLookupError as e:
        return e


def queries(world, name: str) -> int:
    return world.servers[name].controller.queries


def test_a_dreamcast_asking_sega_directly_gets_the_special_address():
    world = build()
    result = lookup(world, stub(world, SEGA), AUTH)
    assert isinstance(result, Resolved)
    assert result.addresses == ("192.0.2.10",) and result.server == SEGA
    assert result.elapsed == pytest.approx(RTT)  # one round trip


def test_m1_a_dreamcast_on_the_isp_resolver_gets_nxdomain_through_the_public_tree():
    world = build()
    result = lookup(world, stub(world, ISP), AUTH)
    assert isinstance(result, StubLookupError)
    assert result.event.failure is StubFailure.NXDOMAIN and result.event.server == ISP
    # the delegation chain: root -> jp -> Sega's public server; the island never hears
    assert (queries(world, "root"), queries(world, "jp"), queries(world, "public")) == (1, 1, 1)
    assert queries(world, "sega") == 0
    assert result.event.elapsed < 1.0  # D-NX@auth fails in under a second


def test_an_nxdomain_from_the_primary_is_final_the_secondary_is_never_asked():
    world = build()
    result = lookup(world, stub(world, ISP, SEGA), AUTH)
    assert isinstance(result, StubLookupError) and result.event.failure is StubFailure.NXDOMAIN
    assert queries(world, "sega") == 0


def test_the_secondary_is_asked_only_after_the_primary_times_out_every_try():
    world = build()
    resolver = stub(world, "203.0.113.99", SEGA, tries=3, timeout=2.0)  # nobody there
    result = lookup(world, resolver, AUTH)
    assert isinstance(result, Resolved) and result.server == SEGA
    assert result.elapsed == pytest.approx(3 * 2.0 + RTT)


def test_nobody_answering_is_a_timeout_after_tries_times_timeout_per_server():
    world = build()
    result = lookup(world, stub(world, "203.0.113.98", "203.0.113.99", tries=2, timeout=1.5), AUTH)
    assert isinstance(result, StubLookupError) and result.event.failure is StubFailure.TIMEOUT
    assert result.event.elapsed == pytest.approx(2 * 2 * 1.5)


def test_stale_public_records_resolve_to_hosts_where_nothing_listens():
    world = build(public="2006/public-stale")
    result = lookup(world, stub(world, ISP), AUTH)
    assert isinstance(result, Resolved) and result.addresses == ("203.0.113.110",)


def test_eu_pso_resolves_through_the_public_tree():
    world = build()
    result = lookup(world, stub(world, ISP), "pso.dream-key.com")
    assert isinstance(result, Resolved) and result.addresses == ("192.0.2.20",)


def test_the_isp_resolver_caches_answers_and_nxdomains_by_ttl():
    world = build()
    resolver = stub(world, ISP)
    lookup(world, resolver, AUTH)
    lookup(world, resolver, "pso.dream-key.com")
    sent = world.resolver.queries_sent
    assert isinstance(lookup(world, resolver, AUTH), StubLookupError)
    assert isinstance(lookup(world, resolver, "pso.dream-key.com"), Resolved)
    assert world.resolver.queries_sent == sent  # both from the cache
    lookup(world, resolver, "pso01.dricas.ne.jp")  # the dricas.ne.jp delegation is cached
    assert world.resolver.queries_sent == sent + 1
    world.run(301)  # the public zone's negative TTL is 300 s
    lookup(world, resolver, AUTH)
    assert world.resolver.queries_sent == sent + 2


def test_the_isp_resolver_refuses_clients_outside_its_network():
    world = build()
    outside = DreamcastResolver(world.hosts["public"], StubConfig((ISP,)), random.Random(1))
    result = lookup(world, outside, AUTH)
    assert isinstance(result, StubLookupError) and result.event.failure is StubFailure.REFUSED


def big_tree():
    """A root delegating example. to 203.0.113.4, which holds EXAMPLE (with 'big' TXT)."""
    root = zone(
        "$TTL 3600\n@ SOA a.root-servers.net. h. 1 2 3 4 300\n@ NS a.root-servers.net.\n"
        "a.root-servers.net. A 203.0.113.1\nexample. NS ns1.example.\nns1.example. A 203.0.113.4\n",
        ".",
    )
    public = zone(EXAMPLE.replace("ns1     IN A    192.0.2.53", "ns1     IN A    203.0.113.4"))
    return {"root": Zones([root]), "public": Zones([public])}


def resolve(world, name: str, qtype: str = "A"):
    return world.wait(world.resolver.resolve(DNSLabel(name), getattr(QTYPE, qtype)))


def test_the_resolver_falls_back_to_tcp_on_truncation():
    world = build(zones=big_tree(), resolver=ResolverConfig(root_hints=HINTS, edns=False))
    result = resolve(world, "big.example.", "TXT")
    assert result.rcode == Rcode.NOERROR and len(result.answer) == 6
    assert world.servers["public"].tcp_factory.controller.queries == 2  # UDP, then TCP


def test_tcp_fallback_against_a_udp_only_server_fails_fast_with_rst_slowly_without():
    for kind, expected in (("udp_only", 1.0), ("tcp_drop", 4.0)):
        config = ResolverConfig(root_hints=HINTS, edns=False, timeout=2.0, tries=1)
        world = build(zones=big_tree(), resolver=config, **{kind: ("public",)})
        start = world.clock.seconds()
        result = resolve(world, "big.example.", "TXT")
        assert result.rcode == Rcode.SERVFAIL
        assert ("refused" in result.reason) == (kind == "udp_only")
        assert world.clock.seconds() - start < expected


def test_m2_tcp_on_or_off_at_sega_changes_nothing_for_small_answers():
    for kind in ("udp_only", "tcp_drop", None):
        extra = {kind: ("sega",)} if kind else {}
        world = build(**extra)
        result = lookup(world, stub(world, SEGA), AUTH)
        assert isinstance(result, Resolved) and result.addresses == ("192.0.2.10",)


def test_a_resolver_told_to_use_tcp_cannot_use_a_udp_only_island():
    forward = ResolverConfig(forwarders=(SEGA,), upstream="tcp-only", tries=1)
    world = build(udp_only=("sega",), resolver=forward)
    assert resolve(world, AUTH + ".").rcode == Rcode.SERVFAIL
    tcp_first = ResolverConfig(forwarders=(SEGA,), upstream="tcp-first", tries=1)
    world = build(udp_only=("sega",), resolver=tcp_first)
    assert str(resolve(world, AUTH + ".").answer[0].rdata) == "192.0.2.10"


def test_edns_dropped_by_the_island_costs_a_timeout_then_works_without_edns():
    sega = {"sega": Policy(edns=EdnsPolicy.DROP)}
    world = build(policies=sega, resolver=ResolverConfig(forwarders=(SEGA,), timeout=2.0))
    start = world.clock.seconds()
    result = resolve(world, AUTH + ".")
    assert str(result.answer[0].rdata) == "192.0.2.10"
    assert world.clock.seconds() - start == pytest.approx(2.0 + RTT)
    assert SEGA in world.resolver.no_edns
    strict = ResolverConfig(forwarders=(SEGA,), timeout=2.0, edns_timeout_fallback=False)
    world = build(policies=sega, resolver=strict)
    assert resolve(world, AUTH + ".").rcode == Rcode.SERVFAIL


def test_edns_formerr_from_the_island_is_retried_at_once_without_edns():
    world = build(
        policies={"sega": Policy(edns=EdnsPolicy.FORMERR)},
        resolver=ResolverConfig(forwarders=(SEGA,)),
    )
    start = world.clock.seconds()
    assert str(resolve(world, AUTH + ".").answer[0].rdata) == "192.0.2.10"
    assert world.clock.seconds() - start == pytest.approx(2 * RTT)  # two round trips


@pytest.mark.parametrize(
    ("foreign", "rcode"),
    [
        (ForeignNames.REFUSED, Rcode.SERVFAIL),
        (ForeignNames.DROP, Rcode.SERVFAIL),
        (ForeignNames.UPWARD_REFERRAL, Rcode.SERVFAIL),
    ],
)
def test_a_resolver_forwarding_to_the_island_loses_every_other_name(foreign, rcode):
    policy = Policy(foreign_names=foreign, root_hints=HINTS)
    world = build(policies={"sega": policy}, resolver=ResolverConfig(forwarders=(SEGA,), tries=1))
    assert str(resolve(world, AUTH + ".").answer[0].rdata) == "192.0.2.10"
    other = resolve(world, "pso.dream-key.com.")
    assert other.rcode == rcode


def test_out_of_bailiwick_name_servers_are_resolved_first():
    root = zone(
        "$TTL 3600\n@ SOA a.root-servers.net. h. 1 2 3 4 300\n@ NS a.root-servers.net.\n"
        "a.root-servers.net. A 203.0.113.1\n"
        "example. NS ns.provider.test.\n"  # no glue: the name is in another zone
        "provider.test. NS ns1.provider.test.\nns1.provider.test. A 203.0.113.3\n",
        ".",
    )
    provider = zone(
        "$TTL 3600\n@ SOA ns1 h 1 2 3 4 300\n@ NS ns1\nns1 A 203.0.113.3\nns A 203.0.113.4\n",
        "provider.test.",
    )
    world = build(zones={"root": Zones([root]), "gtld": Zones([provider]), **big_tree_public()})
    result = resolve(world, "www.example.")
    assert [str(rr.rdata) for rr in result.answer] == ["192.0.2.80"]


def big_tree_public():
    return {"public": big_tree()["public"]}


def test_cname_chains_across_zones_and_into_nxdomain():
    world = build(zones=big_tree())
    chain = resolve(world, "chain.example.")
    assert [QTYPE[rr.rtype] for rr in chain.answer] == ["CNAME", "CNAME", "A"]
    outside = resolve(world, "outside.example.")  # CNAME to a name in another (absent) zone
    assert outside.rcode == Rcode.NXDOMAIN and str(outside.answer[0].rdata) == "www.elsewhere.test."
    dangling = resolve(world, "dangling.example.")
    assert dangling.rcode == Rcode.NXDOMAIN and dangling.answer[0].rtype == QTYPE.CNAME
    nodata = resolve(world, "www.example.", "MX")
    assert nodata.rcode == Rcode.NOERROR and not nodata.answer and nodata.authority


def test_a_lossy_link_is_survived_by_retries():
    world = build()
    link = world.net.links["dc-internet"]
    link.a_to_b.profile = link.b_to_a.profile = LinkProfile(latency=0.02, loss=0.3)
    resolver = stub(world, SEGA, tries=8, timeout=1.0)
    results = [lookup(world, resolver, f"pso0{i}.dricas.ne.jp") for i in range(1, 6)] * 2
    assert all(isinstance(r, Resolved) for r in results)
    assert max(r.elapsed for r in results) > 1.0  # some tries were lost and repeated


def test_the_dreamcast_uses_the_isp_resolver_over_the_virtual_internet_by_address():
    world = build()
    resolver = stub(world, ISP)
    got = world.wait(resolver.getHostByName("pso.dream-key.com"))
    assert got == "192.0.2.20"
    assert world.hosts["dc"].name == "dc" and DC == "198.51.100.130"


def test_the_isp_service_built_from_settings():
    world = build()
    settings = ResolverSettings(root_hints=ZONES / "2006" / "root.hints")
    host = world.hosts["isp"]
    server = DnsServer(host, settings.controller(host, random.Random(2)))
    server.listen(Listen("udp", ISP, 5300))
    resolver = DreamcastResolver(world.hosts["dc"], StubConfig((ISP,), port=5300), random.Random(4))
    result = lookup(world, resolver, "pso.dream-key.com")
    assert isinstance(result, Resolved) and result.addresses == ("192.0.2.20",)
