"""The resolver's pure parts: what a reply means (classify) and the cache."""

from __future__ import annotations

import pytest
from dnslib import CNAME, NS, QTYPE, RR, SOA, A, DNSLabel, DNSRecord

from dcsim.dns import names
from dcsim.dns.cache import MAX_TTL, Cache, Negative, Rank
from dcsim.dns.message import Rcode
from dcsim.dns.recursive import Kind, RecursiveResolver, ResolverConfig, classify

NAME = DNSLabel("auth01.dricas.ne.jp.")
JP = names.key(DNSLabel("jp."))
SOA_RR = RR("dricas.ne.jp.", QTYPE.SOA, rdata=SOA("ns1.", "h.", (1, 2, 3, 4, 300)), ttl=3600)


def reply(rcode: int = 0, *, rr=(), auth=(), ar=(), aa: bool = True) -> DNSRecord:
    r = DNSRecord.question(str(NAME)).reply(ra=0, aa=int(aa))
    r.header.rcode = rcode
    r.rr, r.auth, r.ar = list(rr), list(auth), list(ar)
    return r


def a(name: str, address: str, ttl: int = 60) -> RR:
    return RR(name, QTYPE.A, rdata=A(address), ttl=ttl)


def test_answer_and_cname_chain():
    direct = classify(reply(rr=[a(str(NAME), "192.0.2.10")]), NAME, QTYPE.A, JP)
    assert direct.kind is Kind.ANSWER and len(direct.chain) == 1
    chained = reply(
        rr=[
            RR(str(NAME), QTYPE.CNAME, rdata=CNAME("x.dricas.ne.jp."), ttl=60),
            a("x.dricas.ne.jp.", "192.0.2.10"),
        ]
    )
    assert [rr.rtype for rr in classify(chained, NAME, QTYPE.A, JP).chain] == [5, 1]
    dangling = reply(rr=[RR(str(NAME), QTYPE.CNAME, rdata=CNAME("www.example.com."), ttl=60)])
    assert classify(dangling, NAME, QTYPE.A, JP).kind is Kind.CNAME


def test_negative_answers():
    assert classify(reply(Rcode.NXDOMAIN, auth=[SOA_RR]), NAME, 1, JP).kind is Kind.NXDOMAIN
    nodata = classify(reply(auth=[SOA_RR]), NAME, 1, JP)
    assert nodata.kind is Kind.NODATA and nodata.soa is SOA_RR


def test_referrals_must_go_down_towards_the_name():
    ns = RR("dricas.ne.jp.", QTYPE.NS, rdata=NS("ns1.dricas.ne.jp."), ttl=60)
    down = classify(reply(auth=[ns], aa=False), NAME, 1, JP)
    assert down.kind is Kind.REFERRAL and down.child == names.key(DNSLabel("dricas.ne.jp."))
    root = RR(".", QTYPE.NS, rdata=NS("a.root-servers.net."), ttl=60)
    up = classify(reply(auth=[root], aa=False), NAME, 1, JP)
    assert up.kind is Kind.LAME and "referral to ." in up.detail
    sideways = RR("example.com.", QTYPE.NS, rdata=NS("ns.example.com."), ttl=60)
    assert classify(reply(auth=[sideways], aa=False), NAME, 1, JP).kind is Kind.LAME
    assert classify(reply(aa=False), NAME, 1, JP).kind is Kind.LAME


@pytest.mark.parametrize("rcode", [Rcode.SERVFAIL, Rcode.REFUSED, Rcode.FORMERR, 11])
def test_errors_fail(rcode: int):
    result = classify(reply(rcode), NAME, 1, JP)
    assert result.kind is Kind.FAIL and result.detail


def test_cache_ttls_count_down_and_expire():
    cache = Cache()
    k = names.key(NAME)
    cache.put(k, QTYPE.A, [a(str(NAME), "192.0.2.10", ttl=100)], Rank.ANSWER, now=0.0)
    assert cache.get(k, QTYPE.A, 40.0).records[0].ttl == 60
    assert cache.get(k, QTYPE.A, 100.0) is None
    cache.put(k, QTYPE.A, [a(str(NAME), "192.0.2.10", ttl=0)], Rank.ANSWER, now=0.0)
    assert cache.get(k, QTYPE.A, 0.0) is None  # TTL 0 is not cached
    cache.put(k, QTYPE.A, [a(str(NAME), "192.0.2.10", ttl=10**9)], Rank.ANSWER, now=0.0)
    assert cache.get(k, QTYPE.A, 0.0).records[0].ttl == MAX_TTL


def test_glue_does_not_replace_an_answer_but_an_answer_replaces_glue():
    cache = Cache()
    k = names.key(NAME)
    cache.put(k, QTYPE.A, [a(str(NAME), "192.0.2.10")], Rank.ANSWER, 0.0)
    cache.put(k, QTYPE.A, [a(str(NAME), "203.0.113.66")], Rank.GLUE, 1.0)
    assert str(cache.get(k, QTYPE.A, 2.0).records[0].rdata) == "192.0.2.10"
    cache.put(k, QTYPE.A, [a(str(NAME), "192.0.2.11")], Rank.ANSWER, 3.0)
    assert str(cache.get(k, QTYPE.A, 4.0).records[0].rdata) == "192.0.2.11"


def test_negative_entries_per_rfc_2308():
    cache = Cache()
    k = names.key(NAME)
    cache.put_negative(k, QTYPE.A, Negative.NXDOMAIN, SOA_RR, 0.0)
    for qtype in (QTYPE.A, QTYPE.MX):
        assert cache.get(k, qtype, 10.0).negative is Negative.NXDOMAIN  # every type
    assert cache.get(k, QTYPE.A, 300.0) is None  # min(SOA TTL, MINIMUM) = 300
    cache.put_negative(k, QTYPE.MX, Negative.NODATA, SOA_RR, 0.0)
    assert cache.get(k, QTYPE.MX, 1.0).negative is Negative.NODATA
    assert cache.get(k, QTYPE.A, 1.0) is None
    cache.put_negative(k, QTYPE.TXT, Negative.NODATA, None, 0.0)
    assert cache.get(k, QTYPE.TXT, 1.0) is None  # no SOA: not cached


def test_cache_is_bounded():
    cache = Cache(entries=5)
    for i in range(20):
        cache.put((b"h%d" % i,), QTYPE.A, [a(f"h{i}.", "192.0.2.1")], Rank.ANSWER, 0.0)
    assert len(cache) == 5


def test_a_resolver_needs_somewhere_to_start():
    with pytest.raises(ValueError, match="root hints or forwarders"):
        RecursiveResolver(None, ResolverConfig(), None)
