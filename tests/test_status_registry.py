"""The session registry on a fake clock: sessions, history, DNS, failures, events."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.causes import Cause
from dcsim.status import (
    DnsQueried,
    DnsQuery,
    FailureRecorded,
    LicenceResult,
    Login,
    SessionChanged,
    SessionEnded,
    SessionKind,
    SessionOpened,
    SessionRegistry,
    State,
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock: FakeClock) -> SessionRegistry:
    return SessionRegistry(clock)


def recorder(registry: SessionRegistry) -> list:
    events: list = []
    registry.subscribe(events.append)
    return events


def test_a_modem_call_goes_from_dialling_to_the_lobby_and_ends(registry, clock):
    call = registry.open_session(SessionKind.MODEM_CALL, "127.0.0.1:40000")
    assert call.id == 1
    info = call.info
    assert (info.kind, info.peer, info.started) == (SessionKind.MODEM_CALL, "127.0.0.1:40000", 1000)
    assert info.state is State.DIALLING and info.ended is None

    call.dialling("0,0570-01-1234")
    clock.advance(3)
    call.set_state(State.TRAINING)
    clock.advance(12)
    for state in (State.LCP, State.AUTH, State.IPCP):
        call.set_state(state)
    call.online("198.51.100.130")
    call.set_state(State.DNS)
    call.dns_query("game01.dricas.ne.jp", "A", ["192.0.2.20"])
    call.set_state(State.LICENCE)
    call.licence(True, "account 1234 accepted")
    call.set_state(State.LOGIN)
    call.logged_in(42000001, "HUNTER")
    call.in_lobby("Lobby 1")
    call.add_bytes(received=1500, sent=300)
    call.add_bytes(received=20)

    info = call.info
    assert info.state is State.LOBBY and info.detail == "Lobby 1"
    assert info.state_since == 1015
    assert info.number == "0,0570-01-1234"
    assert info.address == "198.51.100.130"
    assert [(q.name, q.answers, q.client) for q in info.dns] == [
        ("game01.dricas.ne.jp", ("192.0.2.20",), "198.51.100.130")
    ]
    assert info.licence == LicenceResult(True, "account 1234 accepted")
    assert info.login == Login(42000001, "HUNTER")
    assert info.lobby == "Lobby 1"
    assert (info.received, info.sent) == (1520, 300)
    assert registry.counts().live == 1

    clock.advance(60)
    call.end(None, "the console hung up")
    assert call.ended
    assert registry.live() == ()
    [ended] = registry.snapshot().history
    assert ended.state is State.ENDED and ended.ended == 1075
    assert ended.cause is None and ended.reason == "the console hung up"
    assert registry.snapshot().failures == ()
    assert registry.counts().live == 0 and registry.counts().total == 1


def test_each_kind_starts_where_its_sessions_start(registry):
    assert registry.open_session(SessionKind.MODEM_CALL, "a").info.state is State.DIALLING
    assert registry.open_session(SessionKind.DCNET_PPP, "b").info.state is State.LCP
    assert registry.open_session(SessionKind.DCNET_ETHERNET, "c").info.state is State.ONLINE
    virtual = registry.open_session(SessionKind.VIRTUAL_DREAMCAST, "d", State.DIALLING, "555")
    assert virtual.info.number == "555" and virtual.info.detail == "555"
    assert [s.id for s in registry.live()] == [1, 2, 3, 4]


def test_a_handle_tells_its_state_as_its_info_does(registry):
    session = registry.open_session(SessionKind.DCNET_PPP, "x")
    assert session.state is State.LCP
    session.set_state(State.AUTH)
    assert session.state is session.info.state is State.AUTH


def test_a_state_change_restarts_the_state_clock_but_a_repeat_does_not(registry, clock):
    session = registry.open_session(SessionKind.DCNET_PPP, "x")
    clock.advance(5)
    session.set_state(State.LCP, "still negotiating")
    assert session.info.state_since == 1000 and session.info.detail == "still negotiating"
    session.set_state(State.AUTH)
    assert session.info.state_since == 1005 and session.info.detail == ""


def test_a_failure_records_sega_cause_the_reason_and_where_it_failed(registry, clock):
    call = registry.open_session(SessionKind.MODEM_CALL, "127.0.0.1:40001")
    call.dialling("0570-01-1234")
    clock.advance(2)
    call.end(Cause.BUSY, "pulse dialling on a tone-only line")
    [failure] = registry.snapshot().failures
    assert failure.cause is Cause.BUSY
    assert failure.reason == "pulse dialling on a tone-only line"
    assert (failure.session_id, failure.kind, failure.state) == (
        1,
        SessionKind.MODEM_CALL,
        State.DIALLING,
    )
    assert (failure.time, failure.peer) == (1002, "127.0.0.1:40001")
    assert registry.session(1).cause is Cause.BUSY
    assert registry.counts().failures == 1


def test_the_first_end_wins_and_later_updates_are_ignored(registry):
    session = registry.open_session(SessionKind.DCNET_PPP, "x")
    session.set_state(State.AUTH)
    session.end(Cause.AUTHENTICATION_FAILURE, "PAP: wrong password for user dream")
    events = recorder(registry)
    session.end(None, "socket closed")
    session.set_state(State.ONLINE)
    session.add_bytes(10, 10)
    session.dns_query("x.jp", "A")
    assert events == []
    info = registry.session(session.id)
    assert info.cause is Cause.AUTHENTICATION_FAILURE and info.state is State.ENDED
    assert (info.received, info.sent) == (0, 0)
    assert registry.counts().dns == 0


def test_ending_goes_through_end_only(registry):
    session = registry.open_session(SessionKind.DCNET_PPP, "x")
    with pytest.raises(ValueError, match="end"):
        session.set_state(State.ENDED)
    with pytest.raises(ValueError):
        registry.open_session(SessionKind.DCNET_PPP, "x", State.ENDED)
    with pytest.raises(ValueError, match="negative"):
        session.add_bytes(received=-1)


def test_subscribers_hear_every_change_as_frozen_events(registry):
    events = recorder(registry)
    session = registry.open_session(SessionKind.DCNET_ETHERNET, "127.0.0.1:7655")
    session.online("198.51.100.140")
    session.add_bytes(sent=64)
    session.add_bytes()  # nothing counted, nothing said
    registry.dns_query("198.51.100.140", "auth01.dricas.ne.jp", "A", ["192.0.2.10"])
    session.end(Cause.SERVER_DOWN, "no answer from 192.0.2.20:9100")

    kinds = [type(e) for e in events]
    assert kinds == [
        SessionOpened,
        SessionChanged,
        SessionChanged,
        DnsQueried,
        SessionChanged,
        SessionEnded,
        FailureRecorded,
    ]
    assert events[1].session.address == "198.51.100.140"
    assert events[2].session.sent == 64
    assert events[3].query.session_id == session.id
    assert events[5].session.cause is Cause.SERVER_DOWN
    assert events[6].failure.state is State.ONLINE
    with pytest.raises(AttributeError):
        events[0].session.state = State.LOBBY  # type: ignore[misc]


def test_unsubscribe_stops_the_events(registry):
    events: list = []
    unsubscribe = registry.subscribe(events.append)
    registry.open_session(SessionKind.DCNET_PPP, "x")
    unsubscribe()
    unsubscribe()  # twice is harmless
    registry.open_session(SessionKind.DCNET_PPP, "y")
    assert len(events) == 1


def test_a_broken_subscriber_is_dropped_and_the_others_still_hear(clock):
    errors: list[Exception] = []
    registry = SessionRegistry(clock, on_error=errors.append)
    heard: list = []

    def broken(event):
        raise RuntimeError("the page went away badly")

    registry.subscribe(broken)
    registry.subscribe(heard.append)
    session = registry.open_session(SessionKind.DCNET_PPP, "x")
    session.set_state(State.AUTH)
    assert [type(e) for e in heard] == [SessionOpened, SessionChanged]
    assert [str(e) for e in errors] == ["the page went away badly"]


def test_without_an_error_hook_a_broken_subscriber_raises_after_the_others(registry):
    heard: list = []

    def broken(event):
        raise RuntimeError("bug")

    registry.subscribe(broken)
    registry.subscribe(heard.append)
    with pytest.raises(RuntimeError, match="bug"):
        registry.open_session(SessionKind.DCNET_PPP, "x")
    assert len(heard) == 1
    registry.open_session(SessionKind.DCNET_PPP, "y")  # the broken one is gone
    assert len(heard) == 2


def test_dns_queries_are_credited_to_the_session_holding_the_address(registry, clock):
    a = registry.open_session(SessionKind.DCNET_PPP, "x")
    a.online("198.51.100.130")
    b = registry.open_session(SessionKind.DCNET_PPP, "y")
    b.online("198.51.100.131")
    clock.advance(1)
    registry.dns_query("198.51.100.131", "game01.dricas.ne.jp", "A", ["192.0.2.20"])
    registry.dns_query("127.0.0.1", "www.dricas.com", "A", rcode="NXDOMAIN")
    assert a.info.dns == ()
    assert b.info.dns == (
        DnsQuery(1001, "198.51.100.131", "game01.dricas.ne.jp", "A", ("192.0.2.20",), "NOERROR", 2),
    )
    assert [q.session_id for q in registry.snapshot().dns] == [2, None]
    assert registry.find("198.51.100.131").id == b.id
    assert registry.find("198.51.100.199") is None
    b.end()
    assert registry.find("198.51.100.131") is None


def test_a_lone_failure_has_no_session(registry):
    registry.failure(Cause.AUTHENTICATION_FAILURE, "licence check: unknown account", "127.0.0.1")
    [failure] = registry.snapshot().failures
    assert failure.session_id is None and failure.kind is None and failure.state is None
    assert failure.peer == "127.0.0.1"


def test_memory_is_bounded(clock):
    registry = SessionRegistry(clock, history=3, recent_dns=4, recent_failures=2, session_dns=2)
    session = registry.open_session(SessionKind.DCNET_PPP, "x")
    for i in range(10):
        session.dns_query(f"n{i}.jp", "A")
    assert [q.name for q in session.info.dns] == ["n8.jp", "n9.jp"]
    for i in range(10):
        registry.open_session(SessionKind.DCNET_PPP, str(i)).end(Cause.SERVER_DOWN, str(i))
    snapshot = registry.snapshot()
    assert [s.peer for s in snapshot.history] == ["7", "8", "9"]
    assert [q.name for q in snapshot.dns] == ["n6.jp", "n7.jp", "n8.jp", "n9.jp"]
    assert [f.reason for f in snapshot.failures] == ["8", "9"]
    assert snapshot.counts.failures == 10 and snapshot.counts.dns == 10
    assert snapshot.counts.total == 11 and snapshot.counts.live == 1
    with pytest.raises(ValueError, match="history"):
        SessionRegistry(clock, history=0)


def test_captures_are_known_for_live_and_remembered_sessions_only(registry, tmp_path):
    capture = tmp_path / "s1.pcap"
    a = registry.open_session(SessionKind.DCNET_PPP, "x", pcap=capture)
    b = registry.open_session(SessionKind.MODEM_CALL, "y")
    assert registry.pcap_path(a.id) == capture
    assert registry.pcap_path(b.id) is None
    b.set_pcap(tmp_path / "s2.pcap")
    assert registry.pcap_path(b.id) == Path(tmp_path / "s2.pcap")
    a.end()
    assert registry.pcap_path(a.id) == capture
    assert registry.pcap_path(99) is None


actions = st.lists(
    st.tuples(
        st.sampled_from(["open", "state", "bytes", "dns", "end", "tick"]),
        st.integers(0, 7),
        st.sampled_from(list(State)[:-1]),
        st.sampled_from([None, *Cause]),
    ),
    max_size=60,
)


@given(actions)
def test_any_sequence_of_updates_keeps_the_books_straight(steps):
    clock = FakeClock()
    registry = SessionRegistry(clock, history=5, recent_dns=5, recent_failures=5)
    events: list = []
    registry.subscribe(events.append)
    handles = []
    for action, index, state, cause in steps:
        handle = handles[index % len(handles)] if handles else None
        if action == "open" or handle is None:
            handles.append(registry.open_session(SessionKind.DCNET_PPP, f"peer{index}"))
        elif action == "state":
            handle.set_state(state)
        elif action == "bytes":
            handle.add_bytes(index, 1)
        elif action == "dns":
            handle.dns_query("x.jp", "A")
        elif action == "end":
            handle.end(cause, "r")
        else:
            clock.advance(index)
    snapshot = registry.snapshot()
    live_ids = {h.id for h in handles if not h.ended}
    assert {s.id for s in snapshot.live} == live_ids
    assert all(s.state is not State.ENDED for s in snapshot.live)
    assert all(s.state is State.ENDED and s.ended is not None for s in snapshot.history)
    assert len(snapshot.history) <= 5 and len(snapshot.dns) <= 5
    ended = sum(isinstance(e, SessionEnded) for e in events)
    assert snapshot.counts.total == len(handles) == ended + len(live_ids)
    assert sum(isinstance(e, FailureRecorded) for e in events) == snapshot.counts.failures
