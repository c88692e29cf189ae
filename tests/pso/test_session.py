"""The session core: the flows, the lobby, and bad input (no Twisted here)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcsim.causes import Cause
from dcsim.pso.client import PROFILES, Client, LobbyJoined, LoginFailed, make_profile
from dcsim.pso.client import Phase as ClientPhase
from dcsim.pso.commands import (
    Broadcast,
    ChangeShip,
    Chat,
    ChatRequest,
    CheckResult,
    ClientConfig,
    LeaveLobby,
    LobbyMessage,
    LobbyName,
    LobbyNameRequest,
    LobbySelection,
    MenuSelection,
    MessageBox,
    Reconnect,
    ShipMenu,
    Target,
    V1Check,
    V1CheckResult,
)
from dcsim.pso.credentials import SylverantRules
from dcsim.pso.events import ChatLine, Closed, CommandIgnored
from dcsim.pso.framing import encode
from dcsim.pso.session import MENU_LOBBIES, MENU_SHIPS, Phase, Role, ShipChoice
from dcsim.pso.ship import Ship
from dcsim.pso.version import Region, Version
from tests.pso.harness import LOCAL, Peer, Server, login, pair


@pytest.fixture
def servers():
    ship = Ship(1)
    login_server = Server(Role.LOGIN)
    ship_server = Server(Role.SHIP, ship=ship, guild_cards=login_server.guild_cards)
    return login_server, ship_server


def closed(server: Server) -> list[Closed]:
    return [e for e in server.events if isinstance(e, Closed)]


# --- the flows -----------------------------------------------------------------------


@pytest.mark.parametrize("label", sorted(PROFILES))
def test_every_profile_reaches_the_lobby(servers, label):
    _login_server, _ship_server = servers
    client, session = login(PROFILES[label], *servers)
    assert client.phase is ClientPhase.LOBBY and session.phase is Phase.LOBBY
    joined = [e for e in client.events() if isinstance(e, LobbyJoined)]
    assert joined[0].lobby == 1 and joined[0].players[0].name == PROFILES[label].name
    assert session.version is PROFILES[label].version
    assert session.sub_version == PROFILES[label].sub_version


def test_v1_registers_the_first_time_only(servers):
    login_server, _ = servers
    profile = PROFILES["us-v1"]
    for expected in (CheckResult.REGISTER, CheckResult.OK_SAVE):
        peer = Peer(login_server.session())
        (reply,) = peer.send(V1Check(profile.serial, profile.access_key), login_server)
        assert reply == V1CheckResult(expected)


def test_v1_without_registration_step(servers):
    login_server = Server(Role.LOGIN, register_new_v1=False)
    peer = Peer(login_server.session())
    (reply,) = peer.send(V1Check("0123ABCD", "A1B2C3D4"), login_server)
    assert reply.flag == CheckResult.OK_SAVE


def test_refused_licence_gets_the_flag_then_the_session_ends():
    server = Server(Role.LOGIN, policy=SylverantRules())
    client = Client(make_profile(Region.US, Version.V2, access_key="12345678"))
    session = server.session()
    pair(client, session, server)
    assert client.failure == LoginFailed("licence check", "refused with flag 03")
    assert session.closed is not None and session.closed.cause is Cause.AUTHENTICATION_FAILURE
    assert "access key is a refused pattern" in session.closed.reason


def test_same_guild_card_at_login_server_and_ship(servers):
    client, session = login(PROFILES["jp-v2"], *servers)
    assert client.guild_card == session.guild_card


def test_jp_v1_round_up_switch_decides_whether_v1_gets_past_its_check():
    for round_up in (True, False):
        login_server = Server(Role.LOGIN, round_up=round_up)
        client = Client(PROFILES["jp-v1"])
        session = login_server.session()
        pair(client, session, login_server)
        if round_up:
            assert session.phase is Phase.REDIRECTED
        else:
            # The 90 is answered, then the client's 92 decrypts to garbage: its header
            # names no command the phase can take, and the server hangs up at once.
            assert client.phase is ClientPhase.AWAIT_REGISTER  # its 92 went unanswered
            assert session.closed is not None
            assert session.closed.reason.startswith("unexpected command")
            assert session.closed.reason.endswith("in phase await-register")


def test_us_v1_is_not_affected_by_the_switch():
    login_server = Server(Role.LOGIN, round_up=False)
    client = Client(PROFILES["us-v1"])
    session = login_server.session()
    pair(client, session, login_server)
    assert session.phase is Phase.REDIRECTED


def test_ship_menu_and_a_wrong_choice():
    login_server = Server(
        Role.LOGIN,
        register_new_v1=False,
        ships=(
            ShipChoice("dcsim", {}),
            ShipChoice("Sylverant", {Version.V2: (IPv4Address("192.0.2.77"), 9100)}),
        ),
    )
    p = Peer(login_server.session())
    p.send(V1Check("0123ABCD", "A1B2C3D4"), login_server)
    replies = p.send(_v1_login(), login_server)
    menu = replies[1]
    assert isinstance(menu, ShipMenu)
    assert [e.name for e in menu.entries] == [b"dcsim", b"dcsim", b"Sylverant"]
    assert menu.pack()[0] == 2
    # A v1 client choosing the v2-only external ship gets a message and the menu again.
    replies = p.send(MenuSelection(MENU_SHIPS, 1), login_server)
    assert [type(r) for r in replies] == [LobbyMessage, ShipMenu]
    assert b"no server for PSO V1" in replies[0].text
    replies = p.send(MenuSelection(MENU_SHIPS, 9), login_server)
    assert [type(r) for r in replies] == [LobbyMessage, ShipMenu]
    assert p.session.phase is Phase.MENU


def _v1_login():
    from dcsim.pso.commands import V1Login

    return V1Login(0, 0xFFFFFFFF, 1, 0x21, 1, "0123ABCD", "A1B2C3D4", "", "", b"Rico")


def _client_bytes(client, command):
    client._send(command)
    return client.data_to_send()


def deliver(client, session):
    """Hand the session's output to the client core; the client's events."""
    client.receive_data(session.data_to_send(), 0)
    return list(client.events())


def _server_replies(client, session):
    client._decoder.feed(session.data_to_send())
    from dcsim.pso.commands import Direction, decode

    out = []
    while (f := client._decoder.next_frame()) is not None:
        out.append(decode(Direction.TO_CLIENT, f.command, f.flag, f.body))
    return out


def test_redirect_to_an_external_ship_per_version():
    external = ShipChoice(
        "newserv",
        {
            Version.V1: (IPv4Address("192.0.2.88"), 9200),
            Version.V2: (IPv4Address("192.0.2.88"), 9201),
        },
    )
    for label, port in (("eu-v1", 9200), ("eu-v2", 9201)):
        server = Server(Role.LOGIN, ships=(external,))
        client = Client(PROFILES[label])
        pair(client, server.session(), server)
        redirects = [e for e in client.events() if type(e).__name__ == "Redirect"]
        assert (redirects[0].address, redirects[0].port) == (IPv4Address("192.0.2.88"), port)


def test_builtin_ship_address_defaults_to_the_login_servers_own():
    server = Server(Role.LOGIN, ship_port=5999)
    client = Client(PROFILES["us-v2"])
    pair(client, server.session(), server)
    (redirect,) = [e for e in client.events() if type(e).__name__ == "Redirect"]
    assert (redirect.address, redirect.port) == (LOCAL, 5999)


# --- the lobby -----------------------------------------------------------------------


def test_joins_leaves_chat_and_lobby_change(servers):
    a, sa = login(make_profile(Region.JP, Version.V1, name=b"Alice", seed=1), *servers)
    b, sb = login(make_profile(Region.US, Version.V2, name=b"Bob", seed=2), *servers)
    joined = deliver(a, sa)[-1]  # after the events of its own login
    assert type(joined).__name__ == "PlayerJoined" and joined.player.name == b"Bob"
    assert set(a.players) == {0, 1} and set(b.players) == {0, 1}

    _, ship_server = servers
    sb.receive_data(_client_bytes(b, ChatRequest(b"\tEhi all")), 10.0)
    ship_server.pump(sb, 10.0)
    for client, session in ((a, sa), (b, sb)):
        (chat,) = _server_replies(client, session)
        assert chat == Chat(b"Bob\t\tEhi all", sb.guild_card)
    (line,) = [e for e in ship_server.events if isinstance(e, ChatLine)]
    assert (line.time, line.guild_card, line.lobby, line.text) == (
        10.0,
        sb.guild_card,
        1,
        b"\tEhi all",
    )

    sb.receive_data(_client_bytes(b, LobbySelection(MENU_LOBBIES, 12)), 11.0)
    (join,) = _server_replies(b, sb)
    assert join.lobby_number == 11 and [p.name for p in join.players] == [b"Bob"]
    (left,) = _server_replies(a, sa)
    assert left == LeaveLobby(1, 0)

    # A v1 client cannot go to lobby 12 (its teleporter has 10).
    sa.receive_data(_client_bytes(a, LobbySelection(MENU_LOBBIES, 12)), 12.0)
    (refusal,) = _server_replies(a, sa)
    assert refusal == LobbyMessage(b"there is no lobby 12")

    sb.receive_data(b"", 13.0)  # Bob hangs up
    assert sb.closed is not None and sb.closed.by_peer
    assert ship_server.ship is not None and ship_server.ship.online == 1


def test_relayed_game_data(servers):
    a, sa = login(make_profile(Region.US, Version.V1, name=b"A", seed=1), *servers)
    b, sb = login(make_profile(Region.US, Version.V1, name=b"B", seed=2), *servers)
    deliver(a, sa)
    sa.receive_data(_client_bytes(a, Broadcast(b"\x3f\x06\0\0" + bytes(20))), 1)
    assert _server_replies(a, sa) == []
    assert _server_replies(b, sb) == [Broadcast(b"\x3f\x06\0\0" + bytes(20))]
    sa.receive_data(_client_bytes(a, Target(b"\x1f\x02\0\0", flag=1)), 1)
    assert _server_replies(b, sb) == [Target(b"\x1f\x02\0\0", flag=1)]
    sb.receive_data(_client_bytes(b, LobbyNameRequest()), 1)
    assert _server_replies(b, sb) == [LobbyName(b"LOBBY01")]


def test_handle_names_are_unique_among_players_online(servers):
    login(make_profile(Region.US, Version.V1, name=b"Tali", seed=1), *servers)
    client, session = login(make_profile(Region.EU, Version.V2, name=b"\tJTali", seed=2), *servers)
    assert session.closed is not None and "already in use" in session.closed.reason
    shown = [e.text for e in client.events() if type(e).__name__ == "MessageShown"]
    assert shown == [b"Cannot enter: the handle name 'Tali' is already in use."]


def test_same_guild_card_again_replaces_the_stale_session(servers):
    profile = make_profile(Region.US, Version.V2, name=b"Echo", seed=5)
    _first, s1 = login(profile, *servers)
    second, s2 = login(profile, *servers)
    assert s1.closed is not None and "logged in again" in s1.closed.reason
    assert s2.phase is Phase.LOBBY and second.players[s2.ship.place_of(s2).client_id]  # type: ignore[union-attr]


def test_change_ship_goes_back_to_the_login_server(servers):
    client, session = login(PROFILES["us-v1"], *servers)
    session.receive_data(_client_bytes(client, ChangeShip(session.guild_card)), 1)
    (reply,) = _server_replies(client, session)
    assert reply == Reconnect(LOCAL, 9200)
    assert session.phase is Phase.REDIRECTED
    assert servers[1].ship.online == 0


def test_unknown_commands_in_the_lobby_are_logged_not_fatal(servers):
    client, session = login(PROFILES["us-v2"], *servers)
    _, ship_server = servers
    session.receive_data(client._cipher.apply(encode(0xEE, 1, b"1234")), 2)  # type: ignore[union-attr]
    ship_server.pump(session, 2)
    assert session.closed is None
    (ignored,) = [e for e in ship_server.events if isinstance(e, CommandIgnored)]
    assert ignored.command.reason == "unknown command"


def test_ship_full():
    ship = Ship(1)
    login_server = Server(Role.LOGIN)
    ship_server = Server(Role.SHIP, ship=ship, guild_cards=login_server.guild_cards)
    for i in range(10 * 12):  # v1 sees 10 lobbies of 12
        login(
            make_profile(Region.US, Version.V1, name=f"P{i}".encode(), seed=i),
            login_server,
            ship_server,
        )
    client, session = login(
        make_profile(Region.US, Version.V1, name=b"Late", seed=999), login_server, ship_server
    )
    assert session.closed is not None and session.closed.reason == "the ship is full"
    shown = [e.text for e in client.events() if type(e).__name__ == "MessageShown"]
    assert shown == [b"The ship is full. Please try again later."]


# --- bad input -----------------------------------------------------------------------


@pytest.fixture
def peer():
    server = Server(Role.LOGIN)
    return server, Peer(server.session(now=100.0))


def test_a_size_field_that_lies(peer):
    server, p = peer
    p.send_raw(bytes.fromhex("90000200"), server)
    assert "smaller than its own header" in p.session.closed.reason


def test_oversize_command(peer):
    server, p = peer
    p.send_raw(bytes.fromhex("9000fc7f") + bytes(12), server)
    assert "over the limit" in p.session.closed.reason


def test_truncated_command_times_out(peer):
    server, p = peer
    p.send_raw(encode(0x90, 0, bytes(0x24))[:20], server, now=101.0)
    assert p.session.closed is None
    assert p.session.deadline() == 160.0
    p.session.handle_timer(159.0)
    assert p.session.closed is None
    p.session.handle_timer(160.0)
    assert p.session.closed.reason == "no login within 60 s (stuck in phase await-check)"


def test_a_client_that_never_logs_in(peer):
    _server, p = peer
    p.session.handle_timer(160.0)
    assert p.session.closed.cause is Cause.SERVER_DOWN


def test_unknown_and_unexpected_commands_before_the_lobby(peer):
    server, p = peer
    p.send_raw(encode(0xEE, 0, b""), server)
    assert p.session.closed.reason == "unexpected command EE (unknown command) in phase await-check"
    server2 = Server(Role.LOGIN)
    p2 = Peer(server2.session())
    p2.send(ClientConfig(5), server2)  # a server command sent by a client
    assert p2.session.closed.reason == (
        "unexpected command 04 (CLIENT_CONFIG) (only a server sends this command) "
        "in phase await-check"
    )


def test_garbage_that_decrypts_to_nonsense(peer):
    server, p = peer
    p.session.receive_data(bytes(range(7, 200)), 0)
    server.pump(p.session, 0)
    assert p.session.closed is not None or p.session.deadline() == 160.0


def test_idle_timeout_in_the_lobby(servers):
    _client, session = login(PROFILES["us-v2"], *servers)
    assert session.deadline() == 900.0
    session.handle_timer(900.0)
    assert session.closed.cause is Cause.AUTOMATIC_DISCONNECT
    assert servers[1].ship.online == 0


def test_nothing_is_sent_after_the_session_closed(peer):
    _server, p = peer
    p.session.handle_timer(1000.0)
    p.session.data_to_send()
    p.session.send(MessageBox(b"late"))
    p.session.receive_data(b"more", 1001.0)
    assert p.session.data_to_send() == b""


# --- DC NTE --------------------------------------------------------------------------


def test_the_network_trial_edition_flow():
    """88 -> 88 00 -> 8A -> 8A 01 -> 8B -> 04, 07; no 97 (NTE crashes on it); on the
    ship 8B -> 04, 83, 8D (not 95) -> 61 -> 67."""
    from dcsim.pso.commands import (
        CharacterData,
        JoinLobby,
        LobbyList,
        NteCheck,
        NteCheckResult,
        NteConnectionInfo,
        NteConnectionResult,
        NteLogin,
        NteRequestCharacter,
    )

    login_server = Server(Role.LOGIN)
    p = Peer(login_server.session())
    assert p.send(NteCheck("NTESERIAL0000001", "NTEKEY0000000001"), login_server) == [
        NteCheckResult(0)
    ]
    info = NteConnectionInfo(0x1234, 0x20, "hunter", "secret", "")
    assert p.send(info, login_server) == [NteConnectionResult(1)]
    nte_login = NteLogin(
        0,
        0xFFFFFFFF,
        0x1234,
        0x20,
        0,
        "NTESERIAL0000001",
        "NTEKEY0000000001",
        "hunter",
        "secret",
        b"Nte",
    )
    config, menu = p.send(nte_login, login_server)
    assert isinstance(config, ClientConfig) and isinstance(menu, ShipMenu)
    (redirect,) = p.send(MenuSelection(MENU_SHIPS, 0), login_server)
    assert isinstance(redirect, Reconnect)

    ship_server = Server(Role.SHIP, guild_cards=login_server.guild_cards)
    s = Peer(ship_server.session())
    config, lobbies, request = s.send(nte_login, ship_server)
    assert config.guild_card > 0
    assert isinstance(lobbies, LobbyList) and len(lobbies.lobbies) == 10
    assert request == NteRequestCharacter()
    (join,) = s.send(CharacterData(bytes(0x41C)), ship_server)
    assert isinstance(join, JoinLobby) and join.players[0].name == b"Nte"


# --- fuzz ----------------------------------------------------------------------------


@settings(max_examples=150)
@given(st.lists(st.binary(max_size=600), max_size=6), st.booleans())
def test_arbitrary_bytes_never_break_a_session(chunks, encrypted):
    """Whatever arrives, in the clear or through the cipher: no exception escapes, and
    the session either waits (with a bounded buffer and a deadline) or has ended."""
    for role in (Role.LOGIN, Role.SHIP):
        server = Server(role)
        p = Peer(server.session())
        for chunk in chunks:
            data = p.send_cipher.apply(chunk) if encrypted else chunk
            p.session.receive_data(data, 1.0)
            server.pump(p.session, 1.0)
        if p.session.closed is None:
            assert p.session._decoder.buffered < p.session.config.max_command_size
            assert p.session.deadline() is not None
