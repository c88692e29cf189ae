"""The Dreamcast stub resolver's core: bytes and explicit times in, datagrams and events out."""

from __future__ import annotations

import random

import pytest
from dnslib import CNAME, QTYPE, RR, A, DNSRecord
from hypothesis import given
from hypothesis import strategies as st

from dcsim.dns.message import Rcode
from dcsim.dns.stub import (
    LookupFailed,
    QuerySent,
    Resolved,
    StubConfig,
    StubFailure,
    StubLookup,
)

PRIMARY, SECONDARY = "198.51.100.53", "192.0.2.53"


def started(tries: int = 2, timeout: float = 1.0, servers=(PRIMARY, SECONDARY)) -> StubLookup:
    core = StubLookup("auth01.dricas.ne.jp", StubConfig(servers, tries, timeout), random.Random(5))
    core.start(100.0)
    return core


def answer_to(core: StubLookup, rcode: int = Rcode.NOERROR, *addresses: str) -> bytes:
    reply = core.query.reply()
    reply.header.rcode = rcode
    for address in addresses:
        reply.add_answer(RR(core.query.q.qname, QTYPE.A, rdata=A(address), ttl=60))
    return bytes(reply.pack())


def test_first_query_goes_to_the_primary_with_rd_set():
    core = started()
    [(data, address)] = core.datagrams_to_send()
    assert address == (PRIMARY, 53)
    query = DNSRecord.parse(data)
    assert query.header.rd == 1 and QTYPE[query.q.qtype] == "A" and not query.ar
    assert list(core.events()) == [QuerySent(PRIMARY, 1)]
    assert core.deadline() == 101.0


def test_tries_then_the_secondary_then_a_timeout():
    core = started(tries=2, timeout=1.0)
    sent = [address for _, address in core.datagrams_to_send()]
    for t in (101.0, 102.0, 103.0, 104.0):
        core.handle_timer(t)
        sent += [address for _, address in core.datagrams_to_send()]
    assert sent == [(PRIMARY, 53), (PRIMARY, 53), (SECONDARY, 53), (SECONDARY, 53)]
    events = list(core.events())
    assert events[-1] == LookupFailed("auth01.dricas.ne.jp", StubFailure.TIMEOUT, None, 4.0)
    assert core.deadline() is None


def test_early_timer_calls_do_nothing():
    core = started()
    core.datagrams_to_send()
    core.handle_timer(100.5)
    assert core.datagrams_to_send() == []


def test_an_answer_resolves_and_a_late_one_from_the_primary_still_counts():
    core = started(tries=1)
    core.handle_timer(101.0)  # now asking the secondary
    core.receive_datagram(answer_to(core, Rcode.NOERROR, "192.0.2.10"), (PRIMARY, 53), 101.5)
    resolved = [e for e in core.events() if isinstance(e, Resolved)]
    assert resolved == [Resolved("auth01.dricas.ne.jp", ("192.0.2.10",), PRIMARY, 1.5)]
    assert core.done and core.deadline() is None


@pytest.mark.parametrize(
    ("rcode", "failure"),
    [
        (Rcode.NXDOMAIN, StubFailure.NXDOMAIN),
        (Rcode.SERVFAIL, StubFailure.SERVFAIL),
        (Rcode.REFUSED, StubFailure.REFUSED),
        (Rcode.NOTIMP, StubFailure.ERROR),
    ],
)
def test_any_answer_from_the_primary_is_final(rcode: int, failure: StubFailure):
    core = started()
    core.datagrams_to_send()
    core.receive_datagram(answer_to(core, rcode), (PRIMARY, 53), 100.1)
    last = list(core.events())[-1]
    assert isinstance(last, LookupFailed) and last.failure is failure and last.server == PRIMARY
    core.handle_timer(200.0)
    assert core.datagrams_to_send() == []  # the secondary is never asked


def test_noerror_without_addresses_is_nodata():
    core = started()
    core.receive_datagram(answer_to(core), (PRIMARY, 53), 100.1)
    assert list(core.events())[-1].failure is StubFailure.NODATA


def test_replies_from_elsewhere_or_not_matching_are_ignored():
    core = started()
    good = answer_to(core, Rcode.NOERROR, "192.0.2.10")
    core.receive_datagram(good, ("203.0.113.66", 53), 100.1)  # a server never asked
    core.receive_datagram(good, (SECONDARY, 53), 100.1)  # not asked yet
    other = DNSRecord.parse(good)
    other.header.id ^= 1
    core.receive_datagram(bytes(other.pack()), (PRIMARY, 53), 100.1)
    core.receive_datagram(b"\x00garbage", (PRIMARY, 53), 100.1)
    assert not core.done


def test_cname_chains_in_the_answer_are_followed():
    core = started()
    reply = core.query.reply()
    reply.add_answer(RR(core.query.q.qname, QTYPE.CNAME, rdata=CNAME("login.example."), ttl=60))
    reply.add_answer(RR("login.example.", QTYPE.A, rdata=A("192.0.2.20"), ttl=60))
    core.receive_datagram(bytes(reply.pack()), (PRIMARY, 53), 100.1)
    assert list(core.events())[-1].addresses == ("192.0.2.20",)


def test_a_truncated_reply_is_used_as_it_is():
    core = started()
    data = bytearray(answer_to(core, Rcode.NOERROR, "192.0.2.10"))
    data[2] |= 0x02  # TC
    core.receive_datagram(bytes(data), (PRIMARY, 53), 100.1)
    assert isinstance(list(core.events())[-1], Resolved)


def test_config_checks():
    with pytest.raises(ValueError):
        StubConfig(())
    with pytest.raises(ValueError):
        StubConfig((PRIMARY,), tries=0)


@given(st.binary(max_size=300), st.sampled_from([PRIMARY, SECONDARY, "10.0.0.1"]))
def test_arbitrary_datagrams_never_raise(data: bytes, source: str):
    core = started()
    core.receive_datagram(data, (source, 53), 100.1)
    for event in core.events():
        assert isinstance(event, QuerySent | Resolved | LookupFailed)
