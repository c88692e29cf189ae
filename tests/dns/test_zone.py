"""Zones: loading checks, and the RFC 1034 §4.3.2 lookup with RFC 2308/4592 details."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dnslib import QTYPE, DNSLabel

from dcsim.dns import names
from dcsim.dns.zone import Outcome, Zones, load_hints, load_zone
from dcsim.dns.zonefile import ZoneFileError
from tests.dns.helpers import EXAMPLE, ZONES, zone
from tests.peers import require_program

EX = zone(EXAMPLE)


def look(name: str, qtype: str = "A"):
    return EX.lookup(DNSLabel(name), getattr(QTYPE, qtype))


def test_answer_keeps_the_query_spelling():
    r = look("WwW.Example.")
    assert r.outcome is Outcome.ANSWER and r.authoritative
    assert [(rr.rname.label, str(rr.rdata)) for rr in r.answer] == [
        ((b"WwW", b"Example"), "192.0.2.80")
    ]


def test_nxdomain_and_nodata_carry_the_soa_with_the_negative_ttl():
    nx = look("nothing.example.")
    nodata = look("www.example.", "MX")
    assert nx.outcome is Outcome.NXDOMAIN and nodata.outcome is Outcome.NODATA
    for r in (nx, nodata):
        assert [rr.rtype for rr in r.authority] == [QTYPE.SOA]
        assert r.authority[0].ttl == 300  # min(SOA TTL 3600, MINIMUM 300): RFC 2308 §3
        assert not r.answer


def test_empty_non_terminal_is_nodata_not_nxdomain():
    assert look("b.c.example.").outcome is Outcome.NODATA
    assert look("c.example.").outcome is Outcome.NODATA
    assert look("x.b.c.example.").outcome is Outcome.NXDOMAIN


def test_cname_chain_inside_the_zone():
    r = look("chain.example.")
    assert [QTYPE[rr.rtype] for rr in r.answer] == ["CNAME", "CNAME", "A"]
    assert str(r.answer[-1].rname) == "www.example."
    assert look("chain.example.", "CNAME").answer[0].rtype == QTYPE.CNAME


def test_cname_leaving_the_zone_or_looping_stops_with_the_chain():
    out = look("outside.example.")
    assert out.outcome is Outcome.ANSWER and [rr.rtype for rr in out.answer] == [QTYPE.CNAME]
    loop = look("loop1.example.")
    assert [str(rr.rname) for rr in loop.answer] == ["loop1.example.", "loop2.example."]


def test_cname_to_a_missing_name_is_nxdomain_with_the_chain():
    r = look("dangling.example.")
    assert r.outcome is Outcome.NXDOMAIN  # RFC 6604: the RCODE is about the last name
    assert [rr.rtype for rr in r.answer] == [QTYPE.CNAME]


def test_wildcards_synthesise_the_query_name():
    r = look("Anything.wild.example.")
    assert (
        str(r.answer[0].rname) == "Anything.wild.example."
        and str(r.answer[0].rdata) == "192.0.2.99"
    )
    assert look("deep.er.wild.example.").outcome is Outcome.ANSWER
    assert look("x.wild.example.", "MX").outcome is Outcome.NODATA
    # RFC 4592 §2.2.1: the wildcard does not match the name it hangs from
    assert look("wild.example.").outcome is Outcome.NODATA


def test_delegation_gives_a_referral_with_glue():
    for name in ("sub.example.", "host.sub.example."):
        r = look(name)
        assert r.outcome is Outcome.REFERRAL and not r.authoritative
        assert [str(rr.rdata) for rr in r.authority] == ["ns.sub.example."]
        assert [str(rr.rdata) for rr in r.additional] == ["192.0.2.54"]
    # DS lives on the parent side of a cut (RFC 4035 §3.1.4.1)
    assert look("sub.example.", "DS").outcome is Outcome.NODATA


def test_ns_and_mx_answers_add_addresses_the_zone_has():
    ns = look("example.", "NS")
    assert [str(rr.rdata) for rr in ns.additional] == ["192.0.2.53"]
    mx = look("example.", "MX")
    assert [str(rr.rdata) for rr in mx.additional] == ["192.0.2.25"]


def test_any_returns_every_rrset():
    assert {QTYPE[rr.rtype] for rr in look("www.example.", "ANY").answer} == {"A", "AAAA"}


def test_transfer_starts_and_ends_with_the_soa():
    rrs = list(EX.transfer())
    assert rrs[0].rtype == rrs[-1].rtype == QTYPE.SOA
    assert sum(1 for rr in rrs if rr.rtype == QTYPE.SOA) == 2
    assert (
        len(rrs) == 2 + sum(len(s.rdatas) for n in EX.nodes.values() for s in n.rrsets.values()) - 1
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("$TTL 60\n@ NS ns\n", "no SOA"),
        ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n", "no NS"),
        ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ SOA ns h 2 2 3 4 5\n@ NS ns\n", "more than one SOA"),
        ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nx.other. A 192.0.2.1\n", "outside the zone"),
        ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nc CNAME a\nc A 192.0.2.1\n", "CNAME and other"),
        ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nc CNAME a\nc CNAME b\n", "several CNAMEs"),
        ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nd NS ns.d\nx.d MX 1 m\n", "below the delegation"),
        ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nd NS ns.d\nd MX 1 m\n", "is a delegation"),
        ("@ 60 SOA ns h 1 2 3 4 5\n@ 60 NS ns\nw 60 A 192.0.2.1\nw 30 A 192.0.2.2\n", "RFC 2181"),
        ("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n* NS ns\n", "wildcard"),
    ],
)
def test_zone_checks(text: str, words: str):
    with pytest.raises(ZoneFileError, match=words):
        zone(text)


def test_duplicate_records_are_one():
    z = zone("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nw A 192.0.2.1\nw A 192.0.2.1\n")
    assert len(z.lookup(DNSLabel("w.example."), QTYPE.A).answer) == 1


def test_zones_find_the_closest_enclosing_zone(tmp_path: Path):
    for origin in ("example", "sub.example"):
        (tmp_path / f"{origin}.zone").write_text(
            f"$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns.{origin}.\n"
        )
    (tmp_path / "ignored.txt").write_text("not a zone")
    zs = Zones.load(tmp_path)
    assert str(zs.find(names.key(DNSLabel("a.sub.example."))).origin) == "sub.example."
    assert str(zs.find(names.key(DNSLabel("a.example."))).origin) == "example."
    assert zs.find(names.key(DNSLabel("example.com."))) is None


def test_directory_errors(tmp_path: Path):
    with pytest.raises(ZoneFileError, match=r"no \*\.zone files"):
        Zones.load(tmp_path)
    with pytest.raises(ZoneFileError, match="not a directory"):
        Zones.load(tmp_path / "nope")
    (tmp_path / "bad..name.zone").write_text("")
    with pytest.raises(ZoneFileError, match="not a zone name"):
        Zones.load(tmp_path)


SHIPPED = sorted({p.parent for p in ZONES.rglob("*.zone")})


@pytest.mark.parametrize("directory", SHIPPED, ids=lambda p: str(p.relative_to(ZONES)) or ".")
def test_shipped_zone_directories_load(directory: Path):
    assert len(Zones.load(directory)) >= 1


def test_shipped_hints_name_the_simulated_root():
    hints = load_hints(ZONES / "2006" / "root.hints")
    assert {str(rr.rdata) for rr in hints} == {"a.root-servers.net.", "203.0.113.1"}


def test_the_2006_public_tree_delegates_dricas_to_the_public_servers_not_the_island():
    root = Zones.load(ZONES / "2006" / "root")
    jp = Zones.load(ZONES / "2006" / "jp")
    public = Zones.load(ZONES / "2006" / "public")
    island = Zones.load(ZONES / "2006" / "sega")
    name = DNSLabel("auth01.dricas.ne.jp.")
    k = names.key(name)
    assert root.find(k).lookup(name, QTYPE.A).additional[0].rdata.data == (203, 0, 113, 2)
    assert str(jp.find(k).lookup(name, QTYPE.A).additional[0].rdata) == "203.0.113.4"
    assert public.find(k).lookup(name, QTYPE.A).outcome is Outcome.NXDOMAIN
    assert str(island.find(k).lookup(name, QTYPE.A).answer[0].rdata) == "192.0.2.10"


@pytest.mark.interop
@pytest.mark.parametrize(
    "path", sorted(ZONES.rglob("*.zone")), ids=lambda p: str(p.relative_to(ZONES))
)
def test_nsd_accepts_every_shipped_zone_file(path: Path):
    checkzone = require_program("nsd-checkzone", "nsd")
    origin = load_zone(path).origin
    result = subprocess.run(
        [checkzone, names.to_text(origin), str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
