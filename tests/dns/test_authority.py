"""The authoritative answerer: flags, RCODEs, EDNS, the 2006 knobs, AXFR, revival, bad input."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from dnslib import QTYPE, DNSRecord
from hypothesis import given
from hypothesis import strategies as st

from dcsim.dns import message, names
from dcsim.dns.authority import (
    Authority,
    Drop,
    EdnsPolicy,
    ForeignNames,
    Policy,
    Recurse,
    Respond,
    Revival,
    Transfer,
    Transport,
)
from dcsim.dns.message import Rcode
from dcsim.dns.zone import load_hints
from tests.dns.helpers import EXAMPLE, ZONES, query, wire, zone, zones

UDP, TCP = Transport.UDP, Transport.TCP
CLIENT = "198.51.100.200"


def authority(**policy) -> Authority:
    return Authority(zones(zone(EXAMPLE)), Policy(**policy))


def ask(auth: Authority, data: bytes, transport: Transport = UDP, client: str = CLIENT):
    decision = auth.decide(data, client, transport)
    return decision


def reply(auth: Authority, data: bytes, transport: Transport = UDP) -> DNSRecord:
    decision = ask(auth, data, transport)
    assert isinstance(decision, Respond), decision
    return decision.message


def test_answer_flags_and_case():
    r = reply(authority(), wire("WWW.example.", qid=77, rd=True))
    h = r.header
    assert (h.id, h.qr, h.aa, h.rd, h.ra, h.tc, h.rcode) == (77, 1, 1, 1, 0, 0, Rcode.NOERROR)
    assert r.q.qname.label == (b"WWW", b"example")
    assert r.rr[0].rname.label == (b"WWW", b"example")
    packed = message.encode(r, 512)
    assert packed[12:25] == b"\x03WWW\x07example\x00"  # the question keeps the case
    assert b"\x03www" not in packed


def test_nxdomain_and_nodata_per_rfc_2308():
    nx = reply(authority(), wire("nothing.example."))
    assert nx.header.rcode == Rcode.NXDOMAIN and nx.header.aa
    assert [QTYPE[rr.rtype] for rr in nx.auth] == ["SOA"]
    nodata = reply(authority(), wire("www.example.", "MX"))
    assert nodata.header.rcode == Rcode.NOERROR and not nodata.rr
    assert [QTYPE[rr.rtype] for rr in nodata.auth] == ["SOA"]


def test_referral_is_not_authoritative():
    r = reply(authority(), wire("host.sub.example."))
    assert not r.header.aa and r.header.rcode == Rcode.NOERROR and not r.rr
    assert [QTYPE[rr.rtype] for rr in r.auth] == ["NS"]


def test_edns_answer_echoes_do_and_advertises_our_size():
    r = reply(authority(edns_payload=1400), wire("www.example.", edns=4096, do=True))
    (opt,) = message.opt_records(r)
    assert opt.edns_len == 1400 and opt.edns_do == 1 and opt.edns_ver == 0


def test_edns_version_1_gets_badvers():
    r = reply(authority(), wire("www.example.", edns=1232, version=1))
    (opt,) = message.opt_records(r)
    rcode = (opt.edns_rcode << 4) | r.header.rcode
    assert rcode == Rcode.BADVERS and not r.rr


def test_knob_edns_formerr_and_drop():
    formerr = reply(authority(edns=EdnsPolicy.FORMERR), wire("www.example.", edns=1232))
    assert formerr.header.rcode == Rcode.FORMERR and not message.opt_records(formerr)
    plain = reply(authority(edns=EdnsPolicy.FORMERR), wire("www.example."))
    assert plain.header.rcode == Rcode.NOERROR and plain.rr
    assert isinstance(ask(authority(edns=EdnsPolicy.DROP), wire("www.example.", edns=1232)), Drop)
    assert isinstance(ask(authority(edns=EdnsPolicy.DROP), wire("www.example.")), Respond)


def test_knob_foreign_names():
    data = wire("auth01.dricas.ne.jp.", rd=True)
    refused = reply(authority(), data)
    assert refused.header.rcode == Rcode.REFUSED and not refused.header.aa
    assert isinstance(ask(authority(foreign_names=ForeignNames.DROP), data), Drop)
    hints = load_hints(ZONES / "2006" / "root.hints")
    up = reply(authority(foreign_names=ForeignNames.UPWARD_REFERRAL, root_hints=hints), data)
    assert up.header.rcode == Rcode.NOERROR and not up.header.aa and not up.rr
    assert [str(rr.rdata) for rr in up.auth] == ["a.root-servers.net."]
    assert [str(rr.rdata) for rr in up.ar] == ["203.0.113.1"]


def test_recursion_is_offered_only_when_the_caller_allows_it():
    data = wire("auth01.dricas.ne.jp.", rd=True)
    assert isinstance(authority().decide(data, CLIENT, UDP, recursion=True), Recurse)
    no_rd = authority().decide(wire("auth01.dricas.ne.jp."), CLIENT, UDP, recursion=True)
    assert isinstance(no_rd, Respond) and no_rd.message.header.rcode == Rcode.REFUSED
    inside = authority().decide(wire("www.example.", rd=True), CLIENT, UDP, recursion=True)
    assert isinstance(inside, Respond) and inside.message.header.ra and not inside.cacheable


def test_axfr_refused_by_default_and_over_udp():
    refused = reply(authority(), wire("example.", "AXFR"), TCP)
    assert refused.header.rcode == Rcode.REFUSED
    allowed = authority(axfr_clients=(ipaddress.ip_network("198.51.100.0/24"),))
    assert reply(allowed, wire("example.", "AXFR"), UDP).header.rcode == Rcode.FORMERR
    assert reply(allowed, wire("www.example.", "AXFR"), TCP).header.rcode == Rcode.NOTAUTH


def test_axfr_to_an_allowed_client_over_tcp():
    auth = authority(axfr_clients=(ipaddress.ip_network("198.51.100.0/24"),))
    transfer = ask(auth, wire("example.", "AXFR"), TCP)
    assert isinstance(transfer, Transfer)
    rrs = [rr for m in transfer.messages for rr in m.rr]
    assert rrs[0].rtype == rrs[-1].rtype == QTYPE.SOA
    assert all(m.header.aa for m in transfer.messages)


def test_a_long_transfer_is_split_into_messages_under_the_size_limit():
    lines = "".join(f'h{i} IN TXT "{"x" * 200}"\n' for i in range(300))
    z = zone("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n" + lines)
    auth = Authority(zones(z), Policy(axfr_clients=(ipaddress.ip_network("0.0.0.0/0"),)))
    transfer = ask(auth, wire("example.", "AXFR"), TCP)
    assert len(transfer.messages) > 1
    assert transfer.messages[0].questions and not transfer.messages[1].questions
    for m in transfer.messages:
        assert len(message.encode(m, message.MAX_TCP_MESSAGE)) <= message.MAX_MESSAGE
    assert sum(len(m.rr) for m in transfer.messages) == 300 + 3


def test_revival_answers_a_for_listed_suffixes_ahead_of_zones():
    rev = Revival(ipaddress.IPv4Address("192.0.2.99"), (names.key(names.from_text("example.")),))
    auth = authority(revival=rev)
    r = reply(auth, wire("www.example."))
    assert [str(rr.rdata) for rr in r.rr] == ["192.0.2.99"] and r.header.aa
    assert reply(auth, wire("www.example.", "AAAA")).rr  # the zone still answers other types
    assert reply(auth, wire("other.test.")).header.rcode == Rcode.REFUSED
    everything = authority(revival=Revival(ipaddress.IPv4Address("192.0.2.99")))
    assert str(reply(everything, wire("pso01.dricas.ne.jp.")).rr[0].rdata) == "192.0.2.99"


@pytest.mark.parametrize(
    ("qtype", "rcode"),
    [(QTYPE.OPT, Rcode.FORMERR), (253, Rcode.NOTIMP), (250, Rcode.FORMERR)],
)
def test_meta_qtypes(qtype: int, rcode: Rcode):
    assert reply(authority(), wire("www.example.", qtype)).header.rcode == rcode


def test_unknown_types_in_a_zone_are_nodata():
    r = reply(authority(), wire("www.example.", 65280))
    assert r.header.rcode == Rcode.NOERROR and not r.rr and r.auth


def test_class_other_than_in_is_refused():
    q = query("www.example.")
    q.q.qclass = 3  # CHAOS
    assert reply(authority(), bytes(q.pack())).header.rcode == Rcode.REFUSED


HEADER = struct.Struct("!HHHHHH")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x00\x01", Drop),  # no header to echo
        (wire("www.example.").replace(b"\x00\x00\x00\x01", b"\x80\x00\x00\x01", 1), Drop),  # QR
        (HEADER.pack(9, 0x2800, 1, 0, 0, 0) + b"\x00\x00\x01\x00\x01", Rcode.NOTIMP),  # UPDATE
        (HEADER.pack(9, 0x0800, 1, 0, 0, 0) + b"\x00\x00\x01\x00\x01", Rcode.NOTIMP),  # IQUERY
        (HEADER.pack(9, 0x0000, 0, 0, 0, 0), Rcode.FORMERR),  # no question
        (HEADER.pack(9, 0x0000, 2, 0, 0, 0) + b"\x00\x00\x01\x00\x01" * 2, Rcode.FORMERR),
        (HEADER.pack(9, 0x0000, 1, 1, 0, 0) + b"\x00\x00\x01\x00\x01", Rcode.FORMERR),
        (
            HEADER.pack(9, 0x0000, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
            Rcode.FORMERR,
        ),
        (HEADER.pack(9, 0x0000, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01", Rcode.FORMERR),
    ],
)
def test_bad_queries(data: bytes, expected):
    decision = ask(authority(), data)
    if expected is Drop:
        assert isinstance(decision, Drop)
    else:
        assert isinstance(decision, Respond)
        assert decision.message.header.rcode == expected
        assert decision.message.header.qr == 1
        if len(data) >= 12:
            assert decision.message.header.id == struct.unpack_from("!H", data)[0]


def test_a_second_opt_record_is_formerr():
    q = query("www.example.", edns=1232)
    q.add_ar(q.ar[0])
    assert reply(authority(), bytes(q.pack())).header.rcode == Rcode.FORMERR


@given(st.binary(max_size=512))
def test_arbitrary_datagrams_get_a_decision_never_an_exception(data: bytes):
    decision = authority().decide(data, CLIENT, UDP)
    assert isinstance(decision, Respond | Drop)
    if isinstance(decision, Respond):
        out = message.encode(decision.message, 512)
        assert len(out) <= 512
        assert DNSRecord.parse(out).header.qr == 1


@given(
    st.text(alphabet="abcXYZ-.*0", min_size=1, max_size=40),
    st.sampled_from([1, 2, 5, 6, 15, 16, 28, 33, 255, 65000]),
    st.booleans(),
)
def test_arbitrary_questions_are_answered(name: str, qtype: int, edns: bool):
    labels = [part for part in name.split(".") if part]
    qname = ".".join([*labels, "example."]) if labels else "example."
    data = wire(qname, qtype, edns=1232 if edns else None)
    r = reply(authority(), data)
    assert r.header.rcode in (Rcode.NOERROR, Rcode.NXDOMAIN)
    assert len(message.encode(r, message.udp_limit(message.decode(data), 1232))) <= 1232
