"""The Twisted edge with a memory reactor: limits, timeouts, log lines, purging."""

from __future__ import annotations

import random

import pytest
from twisted.internet.address import IPv4Address as TwistedAddress
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import globalLogPublisher

from dcsim.address import Listen
from dcsim.pso.client import PROFILES, Client, Phase, PlayerJoined, Redirect
from dcsim.pso.commands import CheckResult
from dcsim.pso.credentials import Credentials
from dcsim.pso.events import ChatLine
from dcsim.pso.server import DAY, PsoService
from dcsim.pso.settings import PsoSettings
from dcsim.pso.store import FIRST_GUILD_CARD
from dcsim.pso.version import Version


@pytest.fixture
def logged():
    lines = []

    def observer(event):
        if event.get("log_namespace") == "dcsim.pso":
            from twisted.logger import formatEvent

            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observer)
    yield lines
    globalLogPublisher.removeObserver(observer)


def service(tmp_path, **pso):
    reactor = MemoryReactorClock()
    reactor.advance(1_000_000_000)
    settings = PsoSettings(listen=[Listen.from_text("tcp:127.0.0.1:9200")], **pso)
    svc = PsoService(settings, tmp_path, reactor=reactor, rng=random.Random(2), database=":memory:")
    svc.start()
    return reactor, svc


def connect(factory, n=1):
    peer = TwistedAddress("TCP", "127.0.0.1", 40000 + n)
    proto = factory.buildProtocol(peer)
    transport = StringTransport(
        hostAddress=TwistedAddress("TCP", "127.0.0.1", 9200), peerAddress=peer
    )
    proto.makeConnection(transport)
    return proto, transport


def test_listens_where_configured(tmp_path):
    reactor, _svc = service(tmp_path)
    assert [(p[0], p[3]) for p in reactor.tcpServers] == [(5110, "127.0.0.1"), (9200, "127.0.0.1")]


def test_sessions_over_the_limit_get_a_message_and_a_hang_up(tmp_path, logged):
    _reactor, svc = service(tmp_path, max_sessions=2)
    conns = [connect(svc.login, i) for i in range(3)]
    assert [t.disconnecting for _, t in conns] == [False, False, True]
    client = Client(PROFILES["us-v1"])
    client.connection_made(0)
    client.receive_data(conns[2][1].value(), 0)
    shown = [e.text for e in client.events() if type(e).__name__ == "MessageShown"]
    assert shown == [b"The server is full. Please try again later."]
    assert any("refused: 2 sessions already" in line for line in logged)
    for proto, _ in conns[::2]:  # the first client leaves; the refused one is gone
        proto.connectionLost(None)
    proto, transport = connect(svc.login, 4)
    assert not transport.disconnecting


def test_a_silent_client_is_closed_at_the_login_timeout(tmp_path, logged):
    reactor, svc = service(tmp_path, login_timeout=30)
    _proto, transport = connect(svc.login)
    reactor.advance(29.9)
    assert not transport.disconnecting
    reactor.advance(0.2)
    assert transport.disconnecting
    assert any(
        "no login within 30 s (stuck in phase await-check) [the server is down]" in line
        for line in logged
    )


def test_garbage_is_closed_with_a_log_line_and_others_go_on(tmp_path, logged):
    reactor, svc = service(tmp_path)
    good, good_t = connect(svc.login, 1)
    bad, bad_t = connect(svc.login, 2)
    bad.dataReceived(b"\xff" * 64)
    assert bad_t.disconnecting and not good_t.disconnecting
    assert any("127.0.0.1:40002: session closed: unexpected command" in line for line in logged)
    client = Client(PROFILES["jp-v2"])
    client.connection_made(0)
    client.receive_data(good_t.value(), 0)
    good_t.clear()
    good.dataReceived(client.data_to_send())
    reactor.advance(0)  # a new player's guild card is written at the end of the turn
    assert good_t.value()  # the 9A was answered


def test_chat_retention_purge_runs_on_the_reactors_clock(tmp_path, logged):
    reactor, svc = service(tmp_path, chat_retention_days=183)
    now = reactor.seconds()
    svc.chat_log.record(ChatLine(now - 200 * DAY, 1, b"Old", 1, 1, b"\tEold", False))
    svc.chat_log.record(ChatLine(now - 100 * DAY, 1, b"New", 1, 1, b"\tEnew", False))
    reactor.advance(6 * 3600)
    assert [r.text for r in svc.chat_log.export()] == ["new"]
    assert any("purged 1 lines older than 183 days" in line for line in logged)
    reactor.advance(84 * DAY)  # now "new" is 184 days old
    assert list(svc.chat_log.export()) == []


def log_in(svc, reactor, profile, n):
    """One console from the login server to the lobby, through the edge's protocols."""
    client = Client(profile)
    client.connection_made(reactor.seconds())
    proto, transport = connect(svc.login, n)
    while client.phase is not Phase.LOBBY:
        out = transport.value()
        transport.clear()
        client.receive_data(out, reactor.seconds())
        for event in client.events():
            if isinstance(event, Redirect):
                proto.connectionLost(None)
                proto, transport = connect(svc.ship_factory, n)
                client.connection_made(reactor.seconds())
        data = client.data_to_send()
        if data:
            proto.dataReceived(data)
            if not transport.value():  # a new player's guild card is written at the
                reactor.advance(0)  # end of the turn, then the answer goes
        assert client.phase is not Phase.FAILED, client.failure
    return client, proto, transport


def test_activity_moves_the_idle_timeout_and_the_others_hear_who_joins(tmp_path, logged):
    reactor, svc = service(tmp_path, idle_timeout=900)
    first, _first_proto, first_t = log_in(svc, reactor, PROFILES["us-v2"], 1)
    second, second_proto, _second_t = log_in(svc, reactor, PROFILES["jp-v1"], 2)
    assert first_t.value() == b""  # what one player causes others to hear waits for
    reactor.advance(0)  # the end of the reactor's turn, then goes in one write
    first.receive_data(first_t.value(), reactor.seconds())
    joined = [e.player.name for e in first.events() if isinstance(e, PlayerJoined)]
    assert joined == [PROFILES["jp-v1"].name]
    reactor.advance(500)
    second.chat("still here")
    second_proto.dataReceived(second.data_to_send())
    reactor.advance(450)  # 950 s: the first player, silent, is gone; the second is not
    assert first_t.disconnecting
    assert not second_proto.transport.disconnecting
    reactor.advance(449)
    assert not second_proto.transport.disconnecting
    reactor.advance(2)  # 900 s after the chat line
    assert second_proto.transport.disconnecting
    assert sum("idle for 900 s" in line for line in logged) == 2


def test_a_failing_policy_answers_a_connection_error(tmp_path, logged):
    class Broken:
        blocking = False

        def check(self, credentials):
            raise RuntimeError("the accounts database is gone")

    _reactor, svc = service(tmp_path)
    svc.checker.policy = Broken()
    client = Client(PROFILES["us-v2"])
    client.connection_made(0)
    proto, transport = connect(svc.login)
    client.receive_data(transport.value(), 0)
    transport.clear()
    proto.dataReceived(client.data_to_send())
    client.receive_data(transport.value(), 0)
    assert client.phase is Phase.FAILED and transport.disconnecting
    assert any("credential check for" in line for line in logged)


def test_new_players_are_answered_once_their_guild_cards_are_committed(tmp_path, logged):
    reactor, svc = service(tmp_path)
    checker = svc.checker
    answers = []
    checker.guild_cards.assign("OLD", "KEY", 0)
    for serial in ("NEW1", "OLD", "NEW2", "NEW1"):
        checker.check(Credentials(Version.V2, 0x20, serial, "KEY"), answers.append)
    assert [a.new_player for a in answers] == [False]  # the one seen before, at once
    reactor.advance(0)  # the end of the turn: one transaction, then the answers
    assert [(a.guild_card, a.new_player) for a in answers[1:]] == [
        (FIRST_GUILD_CARD + 1, True),
        (FIRST_GUILD_CARD + 2, True),
        (FIRST_GUILD_CARD + 1, False),
    ]


def test_a_failed_guild_card_write_answers_each_waiting_player(tmp_path, logged):
    reactor, svc = service(tmp_path)
    svc.db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON guild_cards "
        "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    answers = []
    for serial in ("NEW1", "NEW2"):
        svc.checker.check(Credentials(Version.V2, 0x20, serial, "KEY"), answers.append)
    reactor.advance(0)
    assert [a.result for a in answers] == [CheckResult.CONNECTION_ERROR] * 2
    assert sum("credential check for" in line for line in logged) == 2


def test_a_console_that_stays_after_the_redirect_is_closed_after_the_grace(tmp_path, logged):
    """The deadline moves earlier (60 s to log in, then 10 s after the 19): the timer
    set at the first deadline must not be left where it was."""
    reactor, svc = service(tmp_path)
    client = Client(PROFILES["eu-v2"])
    client.connection_made(0)
    proto, transport = connect(svc.login)
    redirected = False
    while not redirected:
        client.receive_data(transport.value(), 0)
        transport.clear()
        redirected = any(isinstance(e, Redirect) for e in client.events())
        if data := client.data_to_send():
            proto.dataReceived(data)
            reactor.advance(0)  # a new player's guild card is written at the end of the turn
    reactor.advance(9.9)
    assert not transport.disconnecting
    reactor.advance(0.2)
    assert transport.disconnecting
    assert any("redirected; the client did not hang up" in line for line in logged)


def test_a_second_login_with_the_same_guild_card_ends_the_first(tmp_path, logged):
    reactor, svc = service(tmp_path)
    first, _first_proto, first_t = log_in(svc, reactor, PROFILES["us-v2"], 1)
    log_in(svc, reactor, PROFILES["us-v2"], 2)
    assert not first_t.disconnecting  # the first is told at the end of the reactor's turn
    reactor.advance(0)
    assert first_t.disconnecting
    first.receive_data(first_t.value(), reactor.seconds())
    shown = [e.text for e in first.events() if type(e).__name__ == "MessageShown"]
    assert shown == [b"the same guild card logged in again"]
