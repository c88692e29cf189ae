"""Relaxed replay of real Dreamcast client traffic (newserv's recorded US v1 and v2
sessions, tests/data/newserv/) against dcsim's login server and ship.

Each recorded client command is encrypted with the keys dcsim's server hands out and
fed to a dcsim session; dcsim must answer each step with the commands and result flags
the real flow expects, so that the recorded client stream stays valid up to the lobby.
Byte equality is not the aim (that would only test "is dcsim newserv"): server
commands are compared by number and, where the flag carries a result or a count, flag.
"""

from __future__ import annotations

import struct

import pytest

from dcsim.pso.commands import (
    PLAYER_DATA_SIZE,
    Chat,
    CheckResult,
    Cmd,
    JoinLobby,
    LobbyList,
    Reconnect,
)
from dcsim.pso.session import MENU_LOBBIES, MENU_SHIPS, Role
from dcsim.pso.ship import Ship
from tests.pso.harness import Peer, Server
from tests.pso.newserv_log import Logged, connections, read

#: Replies that are newserv's own choices, not part of the flow (see the data README):
#: chat-command answers (B0), challenge records (C5), lobby arrows (88), the repeated
#: 04 after 97, and the 69/1A newserv sends the leaving player itself on A0.
NEWSERV_EXTRAS = {Cmd.CLIENT_CONFIG, 0xB0, 0xC5, Cmd.NTE_CHECK, 0x69, Cmd.MESSAGE_BOX}
#: Flags that carry a result or a count, compared as recorded.
FLAG_MATTERS = {
    Cmd.V1_CHECK,
    Cmd.V1_REGISTER,
    Cmd.V2_CHECK,
    Cmd.V2_REGISTER,
    Cmd.SAVE_RESULT,
    Cmd.LOBBY_LIST,
    Cmd.JOIN_LOBBY,
}


def rewrite(logged: Logged) -> bytes:
    """Put dcsim's menu ids where the client echoed newserv's (10, 84)."""
    data = bytearray(logged.data)
    if logged.command == Cmd.MENU_SELECTION:
        struct.pack_into("<II", data, 4, MENU_SHIPS, 0)
    elif logged.command == Cmd.LOBBY_SELECTION:
        struct.pack_into("<I", data, 4, MENU_LOBBIES)
    return bytes(data)


def expected_steps(commands: list[Logged]) -> list[tuple[Logged, list[Logged]]]:
    """Each client command with the server commands logged after it."""
    steps: list[tuple[Logged, list[Logged]]] = []
    for c in commands[1:]:  # the first is the hello (17 or 02)
        if c.from_client:
            steps.append((c, []))
        else:
            steps[-1][1].append(c)
    return steps


Step = tuple[int, list[tuple[int, int]], list[tuple[int, int]], list]


def replay(name: str) -> list[Step]:
    ship = Ship(1)
    servers = {
        Cmd.LOGIN_SERVER_INIT: Server(Role.LOGIN),
        Cmd.SHIP_SERVER_INIT: Server(Role.SHIP, ship=ship),
    }
    servers[Cmd.SHIP_SERVER_INIT].guild_cards = servers[Cmd.LOGIN_SERVER_INIT].guild_cards
    results = []
    for commands in connections(read(name)).values():
        hello = commands[0]
        server = servers[hello.command]
        peer = Peer(server.session())
        assert peer.hello.code == hello.command
        for client_command, logged_replies in expected_steps(commands):
            replies = peer.send_raw(rewrite(client_command), server)
            assert peer.session.closed is None, peer.session.closed
            ours = [(r.code, r.pack()[0]) for r in replies if r.code not in NEWSERV_EXTRAS]
            theirs = [
                (r.command, r.flag) for r in logged_replies if r.command not in NEWSERV_EXTRAS
            ]
            results.append((client_command.command, ours, theirs, replies))
            _check_contents(replies, logged_replies)
    return results


def _check_contents(replies: list, logged: list[Logged]) -> None:
    """Beyond numbers and flags: sizes of fixed commands, and the lobby carrying the
    character the client sent."""
    for r in replies:
        if isinstance(r, Reconnect):
            assert r.port > 0
        if isinstance(r, LobbyList):
            recorded = next(x for x in logged if x.command == Cmd.LOBBY_LIST)
            assert len(r.lobbies) == recorded.flag
        if isinstance(r, JoinLobby):
            recorded = next(x for x in logged if x.command == Cmd.JOIN_LOBBY)
            _flag, body = r.pack()
            assert len(body) + 4 == len(recorded.data)  # one player: 0x44C
            assert r.players[0].player_data == recorded.data[0x30 : 0x30 + PLAYER_DATA_SIZE]


def compare(results) -> None:  # type: ignore[no-untyped-def]
    for client_command, ours, theirs, _ in results:
        if client_command == Cmd.CHAT:
            # newserv answered "$cheat" with a chat-command error (B0, dropped above);
            # dcsim has no chat commands and relays every line as 06.
            assert [c for c, _ in ours] == [Cmd.CHAT]
            assert not theirs or [c for c, _ in theirs] == [Cmd.CHAT]
            continue
        ours_cmp = [(c, f if c in FLAG_MATTERS else None) for c, f in ours]
        theirs_cmp = [(c, f if c in FLAG_MATTERS else None) for c, f in theirs]
        assert ours_cmp == theirs_cmp, f"after client {client_command:02X}"


def test_replay_dc_v1_us():
    results = replay("DCv1-GameSmokeTest.excerpt.txt")
    steps = [c for c, _, _, _ in results]
    assert steps == [
        0x90,
        0x92,
        0x93,
        0x96,
        0x99,
        0x10,
        0xB1,
        0x99,  # login server
        0x93,
        0x61,
        0x06,
        0x84,
        0x06,
        0xA0,
    ]  # ship
    compare(results)
    by_step = {i: ours for i, (_, ours, _, _) in enumerate(results)}
    assert by_step[0] == [(Cmd.V1_CHECK, CheckResult.REGISTER)]
    assert by_step[8] == [(Cmd.LOBBY_LIST, 10), (Cmd.REQUEST_CHARACTER, 0)]
    assert by_step[13] == [(Cmd.RECONNECT, 0)]  # A0: back to the login server


def test_replay_dc_v2_us():
    results = replay("DCv2-GameSmokeTest.excerpt.txt")
    assert [c for c, _, _, _ in results] == [
        0x9A,
        0x9D,
        0x96,
        0x99,
        0x10,
        0xB1,
        0x99,
        0x9D,
        0x61,
        0x84,
    ]
    compare(results)
    assert results[0][1] == [(Cmd.V2_CHECK, CheckResult.OK_SAVE)]
    assert results[7][1] == [(Cmd.LOBBY_LIST, 15), (Cmd.REQUEST_CHARACTER, 0)]


def test_chat_is_relayed_in_the_recorded_format():
    """newserv relayed the client's "\\tE11111" as "Tali\\t" + text with the speaker's
    guild card; dcsim relays the same shape (keeping the client's own marker)."""
    logged = [c for c in read("DCv1-GameSmokeTest.excerpt.txt") if c.command == Cmd.CHAT]
    sent, relayed = logged[-2], logged[-1]
    theirs = Chat.parse(relayed.flag, relayed.data[4:])
    assert theirs.text.startswith(b"Tali\t") and theirs.guild_card == 0x77777777
    results = replay("DCv1-GameSmokeTest.excerpt.txt")
    ours = results[12][3][0]
    assert isinstance(ours, Chat)
    assert ours.text == b"Tali\t" + sent.data[12:].rstrip(b"\0")
    assert ours.guild_card == results[8][3][0].guild_card  # the ship's 04


@pytest.mark.parametrize(
    "name", ["DCv1-GameSmokeTest.excerpt.txt", "DCv2-GameSmokeTest.excerpt.txt"]
)
def test_every_recorded_command_decodes(name):
    from dcsim.pso.commands import Direction, RawCommand, decode

    for c in read(name):
        direction = Direction.TO_SERVER if c.from_client else Direction.TO_CLIENT
        command = decode(direction, c.command, c.flag, c.data[4:])
        if c.command in (0xB0, 0xC5, 0x04, 0x69, 0x1A, 0x88) and not c.from_client:
            continue  # newserv's own replies in newer or PC/GC layouts
        assert not isinstance(command, RawCommand), (c.command, command.reason)
