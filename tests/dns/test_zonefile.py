"""The zone-file reader: RFC 1035 §5 syntax, and one clear error per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from dnslib import QTYPE
from hypothesis import given
from hypothesis import strategies as st

from dcsim.dns import names
from dcsim.dns.zonefile import Reader, ZoneFileError, parse_ttl, read_file

ORIGIN = names.from_text("example.")


def read(text: str, origin: str = "example.") -> list:
    return [r.rr for r in Reader(names.from_text(origin)).read_text(text, "t.zone", Path("."))]


def error(text: str) -> ZoneFileError:
    with pytest.raises(ZoneFileError) as info:
        read(text)
    return info.value


def test_owner_ttl_class_and_type_in_either_order():
    rrs = read("$TTL 60\nwww IN 30 A 192.0.2.1\nftp 40 IN A 192.0.2.2\nmail A 192.0.2.3\n")
    assert [(str(rr.rname), rr.ttl) for rr in rrs] == [
        ("www.example.", 30),
        ("ftp.example.", 40),
        ("mail.example.", 60),
    ]


def test_blank_owner_repeats_the_previous_one_and_at_is_the_origin():
    rrs = read("$TTL 1h\n@ IN A 192.0.2.1\n  IN AAAA 2001:db8::1\nx IN A 192.0.2.2\n\tIN TXT hi\n")
    assert [str(rr.rname) for rr in rrs] == ["example.", "example.", "x.example.", "x.example."]
    assert rrs[0].ttl == 3600


def test_parentheses_comments_and_quoted_strings():
    rrs = read(
        "$TTL 60\n@ SOA ns hostmaster ( 1 ; serial\n  2h 15m 1w ; timers\n  5m )\n"
        't TXT "a ; not a comment" "b\\"c" \\065\n'
    )
    soa, txt = rrs
    assert soa.rdata.times == (1, 7200, 900, 604800, 300)
    assert str(soa.rdata.mname) == "ns.example."
    assert txt.rdata.data == [b"a ; not a comment", b'b"c', b"A"]


def test_origin_and_include(tmp_path: Path):
    (tmp_path / "inc.zone").write_text("host A 192.0.2.7\n")
    main = tmp_path / "main.zone"
    main.write_text(
        "$TTL 60\n$INCLUDE inc.zone sub.example.\nafter A 192.0.2.8\n"
        "$ORIGIN other.\nx A 192.0.2.9\n"
    )
    rrs = [r.rr for r in read_file(main, ORIGIN)]
    assert [str(rr.rname) for rr in rrs] == ["host.sub.example.", "after.example.", "x.other."]


def test_escapes_in_names_and_generic_rdata():
    rrs = read("$TTL 60\na\\.b A 192.0.2.1\nc TYPE1 \\# 4 C0000202\nd TYPE999 \\# 2 abcd\n")
    assert rrs[0].rname.label == (b"a.b", b"example")
    assert str(rrs[1].rdata) == "192.0.2.2"
    assert rrs[2].rtype == 999 and rrs[2].rdata.data == b"\xab\xcd"


def test_record_types_with_names_are_made_absolute():
    rrs = read("$TTL 60\n@ MX 10 mail\n@ NS ns.other.\n_s._tcp SRV 1 2 3 target\np PTR host\n")
    assert [str(getattr(rr.rdata, "label", None) or rr.rdata.target) for rr in rrs] == [
        "mail.example.",
        "ns.other.",
        "target.example.",
        "host.example.",
    ]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("$TTL 60\nwww A 192.0.2.256\n", 2, "IPv4 address"),
        ("$TTL 60\nwww AAAA 192.0.2.1\n", 2, "IPv6 address"),
        ("www A 192.0.2.1\n", 1, "no TTL"),
        ("$TTL 60\nwww CH A 192.0.2.1\n", 2, "class IN only"),
        ("$TTL 60\nwww BOGUS 1\n", 2, "unknown record type"),
        ("$TTL 60\nwww A 192.0.2.1 (\n", 2, "never closed"),
        ("$TTL 60\nwww A 192.0.2.1 )\n", 2, "without a matching"),
        ('$TTL 60\nt TXT "open\n', 2, "not closed"),
        ("$TTL 60\n" + "a" * 64 + " A 192.0.2.1\n", 2, "label of 64"),
        ("$TTL 60\n" + ("a" * 60 + ".") * 5 + " A 192.0.2.1\n", 2, "at most 255"),
        ("$TTL 99999999999\n", 1, "RFC 2181"),
        ("$TTL 60\n  A 192.0.2.1\n", 2, "blank owner"),
        ("$FOO bar\n", 1, "unknown directive"),
        ("$TTL 60\nm MX mail\n", 2, "preference"),
        ("$TTL 60\nx TYPE1 \\# 3 C00002\n", 2, "not valid A"),
        ("$TTL 60\nx TYPE1 \\# 4 C00002\n", 2, "says 4 octets"),
        ("$TTL 60\nx A\n", 2, "one IPv4 address"),
        ("$TTL 60\nx AXFR\n", 2, "not a type a zone can hold"),
    ],
)
def test_errors_name_the_line(text: str, line: int, words: str):
    e = error(text)
    assert e.line == line
    assert words in e.message
    assert str(e).startswith(f"t.zone:{line}: ")


def test_file_errors(tmp_path: Path):
    with pytest.raises(ZoneFileError, match="no such file"):
        read_file(tmp_path / "missing.zone", ORIGIN)
    binary = tmp_path / "bin.zone"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ZoneFileError, match="not UTF-8"):
        read_file(binary, ORIGIN)
    loop = tmp_path / "loop.zone"
    loop.write_text("$INCLUDE loop.zone\n")
    with pytest.raises(ZoneFileError, match="nested"):
        read_file(loop, ORIGIN)


def test_ttl_units():
    assert parse_ttl("1w2d3h4m5s") == 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5
    for bad in ("1x", "h", "1h2", ""):
        with pytest.raises(ValueError):
            parse_ttl(bad)


@given(
    st.text(alphabet=st.sampled_from(list(' \t\n;()"\\$@.0123456789abAINSTXMCH*')), max_size=200)
)
def test_arbitrary_text_gives_records_or_one_zone_file_error(text: str):
    try:
        rrs = read(text)
    except ZoneFileError as e:
        assert e.path == "t.zone"
        return
    for rr in rrs:
        assert rr.rtype != QTYPE.OPT
        names.check(rr.rname)
