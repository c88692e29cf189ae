"""Typed commands: golden parses of recorded client commands, packing back to the same
bytes, size checks, unknown codes, and arbitrary bodies."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.pso.commands import (
    COMMANDS,
    CharacterData,
    CharSaveInfo,
    ChatRequest,
    Direction,
    JoinLobby,
    LobbyList,
    LobbySelection,
    MenuEntry,
    MenuSelection,
    RawCommand,
    Reconnect,
    ShipMenu,
    ShipServerInit,
    V1Check,
    V1Login,
    V1Register,
    V2Check,
    V2Login,
    decode,
)
from dcsim.pso.framing import encode
from tests.pso.newserv_log import read

V1 = read("DCv1-GameSmokeTest.excerpt.txt")
V2 = read("DCv2-GameSmokeTest.excerpt.txt")


def first(log, code, from_client=True, nth=0):
    return [c for c in log if c.command == code and c.from_client == from_client][nth]


def parse(logged):
    direction = Direction.TO_SERVER if logged.from_client else Direction.TO_CLIENT
    return decode(direction, logged.command, logged.flag, logged.data[4:])


def repack(command) -> bytes:
    flag, body = command.pack()
    return encode(command.code, flag, body)


def test_v1_check_register_login():
    check = parse(first(V1, 0x90))
    assert check == V1Check("77777777", "11111111")
    assert repack(check) == first(V1, 0x90).data
    reg = parse(first(V1, 0x92))
    assert isinstance(reg, V1Register)
    assert (reg.hardware_id, reg.sub_version, reg.language) == (0x8A03CA3B9F4A, 0x21, 1)
    assert reg.serial2 == "88916632"
    assert repack(reg) == first(V1, 0x92).data
    login = parse(first(V1, 0x93))
    assert isinstance(login, V1Login)
    assert (login.serial, login.access_key, login.name) == ("77777777", "11111111", b"Tali")
    assert login.hardware_id == 0x8A03CA3B9F4A and login.sub_version == 0x21
    assert len(login.extension) == 0x64
    ship_login = parse(first(V1, 0x93, nth=1))
    assert ship_login.guild_card == 0x77777777 and ship_login.extension == b""
    assert repack(ship_login) == first(V1, 0x93, nth=1).data


def test_v2_check_and_login():
    check = parse(first(V2, 0x9A))
    assert isinstance(check, V2Check)
    assert (check.serial, check.access_key, check.sub_version) == ("77777777", "11111111", 0x26)
    assert check.serial2 == "8A0F296E" and check.hardware_id == 0x132B64B22CB2
    assert repack(check) == first(V2, 0x9A).data
    login = parse(first(V2, 0x9D, nth=1))
    assert isinstance(login, V2Login)
    assert (login.v1_serial, login.serial, login.name) == ("77777777", "77777777", b"Tali")
    assert login.hardware_id == check.hardware_id
    assert repack(login) == first(V2, 0x9D, nth=1).data


def test_menu_time_selection_character():
    assert parse(first(V1, 0x96)) == CharSaveInfo(0x88916C93, 0x16)
    sel = parse(first(V1, 0x10))
    assert sel == MenuSelection(0x11000011, 0x11222211)
    for log, fmt, size in ((V1, 1, 0x41C), (V2, 2, 0x4F0)):
        char = parse(first(log, 0x61))
        assert isinstance(char, CharacterData)
        assert char.flag == fmt and len(char.data) == size and char.name == b"Tali"
    assert parse(first(V1, 0x84)) == LobbySelection(0x33000033, 10)
    chat = parse(first(V1, 0x06))
    assert chat == ChatRequest(b"\tE$cheat")


def test_server_commands_as_recorded():
    menu = parse(first(V1, 0x07, from_client=False))
    assert isinstance(menu, ShipMenu)
    assert [e.name for e in menu.entries][:2] == [b"Alexandria", b"Go to lobby"]
    assert repack(menu) == first(V1, 0x07, from_client=False).data
    lobbies = parse(first(V2, 0x83, from_client=False))
    assert isinstance(lobbies, LobbyList) and len(lobbies.lobbies) == 15
    assert repack(lobbies) == first(V2, 0x83, from_client=False).data
    redirect = parse(first(V1, 0x19, from_client=False))
    assert redirect == Reconnect(IPv4Address("10.0.0.4"), 0x13F6)
    assert repack(redirect) == first(V1, 0x19, from_client=False).data
    hello = parse(first(V1, 0x02, from_client=False))
    assert isinstance(hello, ShipServerInit)
    assert hello.copyright == b"DreamCast Lobby Server. Copyright SEGA Enterprises. 1999"


@pytest.mark.parametrize("log", [V1, V2], ids=["v1", "v2"])
def test_join_lobby_round_trips_and_carries_the_character(log):
    recorded = first(log, 0x67, from_client=False)
    join = parse(recorded)
    assert isinstance(join, JoinLobby) and len(join.players) == 1
    player = join.players[0]
    assert player.guild_card == 0x77777777 and player.address == IPv4Address("127.0.0.1")
    assert player.player_data == parse(first(log, 0x61)).player_data
    assert repack(join) == recorded.data


def test_unknown_code_and_wrong_size_become_raw():
    raw = decode(Direction.TO_SERVER, 0xEE, 3, b"abcd")
    assert isinstance(raw, RawCommand) and raw.reason == "unknown command"
    assert raw.name == "EE"
    short = decode(Direction.TO_SERVER, 0x93, 0, bytes(0x20))
    assert isinstance(short, RawCommand) and "0x24 is not one of 0xB0, 0x114" in short.reason


def test_fields_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="does not fit"):
        V1Check("x" * 18, "k").pack()


def test_menu_entry_count_is_the_flag_minus_the_title():
    menu = ShipMenu((MenuEntry(1, 0xFFFFFFFF, b"t"), MenuEntry(1, 0, b"a"), MenuEntry(1, 1, b"b")))
    assert menu.pack()[0] == 2


CODES = sorted(COMMANDS)


@given(st.sampled_from(CODES), st.integers(0, 255), st.binary(max_size=0x600))
def test_arbitrary_bodies_decode_or_become_raw(key, flag, body):
    direction, code = key
    command = decode(direction, code, flag, body)
    if isinstance(command, RawCommand):
        assert command.body == body
    else:
        assert command.code == code
