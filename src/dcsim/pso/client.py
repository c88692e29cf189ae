"""The client side of PSO on a Dreamcast, as a sans-IO core (the virtual Dreamcast's).

One :class:`Client` lives across the two connections of a login: the login server
(17 ... 19) and the ship (02 ... 67). It answers each server command the way the discs
recorded in tests/data/newserv/ do, with the identity of a :class:`Profile`: version,
sub_version, serial and access key, hardware id, language, character. JP DC v1 sends
its 90 with size 0x26 (:attr:`Profile.unpadded_v1_check`), the quirk the login server's
round-up switch is about.

The edge (:mod:`dcsim.pso.client_twisted`) connects, feeds bytes in, writes
:meth:`Client.data_to_send` out, and reconnects when a :class:`Redirect` event says so.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address

from dcsim.pso import serial as sega_serial
from dcsim.pso.cipher import V2Cipher
from dcsim.pso.commands import (
    EXTENSION_SIZE,
    PLAYER_DATA_SIZE,
    PLAYER_PRESENT,
    V2_CHARACTER_SIZE,
    AddLobbyPlayer,
    CharacterData,
    CharSaveInfo,
    Chat,
    ChatRequest,
    CheckResult,
    ClientConfig,
    Command,
    Direction,
    Disconnect,
    JoinLobby,
    LeaveLobby,
    LobbyList,
    LobbyMessage,
    LobbyPlayer,
    LobbySelection,
    LoginServerInit,
    MenuSelection,
    MessageBox,
    NteRequestCharacter,
    Ping,
    PingReply,
    RawCommand,
    Reconnect,
    RequestCharacter,
    SaveResult,
    ServerTime,
    ShipInfo,
    ShipMenu,
    ShipServerInit,
    TimeAccepted,
    TimeRequest,
    V1Check,
    V1CheckResult,
    V1Login,
    V1Register,
    V1RegisterResult,
    V2Check,
    V2CheckResult,
    V2Login,
    V2Register,
    V2RegisterResult,
    decode,
)
from dcsim.pso.framing import Decoder, FrameError, encode
from dcsim.pso.text import MARKER_ENGLISH, MARKER_JAPANESE
from dcsim.pso.version import Region, SubVersion, Version

#: The guild card field of a console that has not been given one yet (recorded 93/9D).
NO_GUILD_CARD = 0xFFFFFFFF


# --- who the console is --------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """One Dreamcast with one PSO disc: everything it tells the login server."""

    label: str
    version: Version
    region: Region
    sub_version: int
    serial: str
    access_key: str
    hardware_id: int
    language: int
    name: bytes
    character: bytes = field(repr=False)
    email: str = ""
    #: The 9C password (the Hunter's License password on JP/US v2).
    password: str = ""
    #: JP and prototype DC v1 send 90 with size 0x26 instead of padding it to 0x28.
    unpadded_v1_check: bool = False
    #: The ship to pick from the ship menu, by name; None picks the first.
    ship: str | None = None


_SUB_VERSIONS = {
    (Region.JP, Version.V1): SubVersion.JP_V1,
    (Region.US, Version.V1): SubVersion.US_V1,
    (Region.EU, Version.V1): SubVersion.EU_V1_60HZ,
    (Region.JP, Version.V2): SubVersion.JP_V2,
    (Region.US, Version.V2): SubVersion.US_V2,
    (Region.EU, Version.V2): SubVersion.EU_V2_60HZ,
}
#: Language numbers (newserv CommandFormats.hh): 0 Japanese, 1 English.
_LANGUAGES = {Region.JP: 0, Region.US: 1, Region.EU: 1}


def character(name: bytes, version: Version) -> bytes:
    """A character for the 61 command: an empty inventory and display data carrying
    *name* (at offset 0x24 of the display data, as in the recorded sessions)."""
    data = bytearray(V2_CHARACTER_SIZE if version is Version.V2 else PLAYER_DATA_SIZE)
    disp = 0x34C
    data[disp + 0x24 : disp + 0x24 + len(name[:16])] = name[:16]
    return bytes(data)


def make_profile(
    region: Region,
    version: Version,
    *,
    serial: str | None = None,
    access_key: str = "DCSIM001",
    hardware_id: int | None = None,
    name: bytes | None = None,
    seed: int = 0,
    ship: str | None = None,
) -> Profile:
    """A console for *region* and *version* (DC v1 or v2), with a serial that passes
    Sega's check unless one is given. Everything random comes from *seed*."""
    if version is Version.NTE:
        raise ValueError("profiles are for retail discs (DC v1 and v2)")
    rng = random.Random(f"{region.value}-{version.value}-{seed}")
    label = f"{region.name} {version.name.lower()}"
    if serial is None:
        serial = sega_serial.generate(region, 0 if version is Version.V1 else 1, rng)
    if hardware_id is None:
        hardware_id = rng.getrandbits(48)
    if name is None:
        name = f"{region.name}{version.name}{seed:04d}".encode()
    return Profile(
        label=label,
        version=version,
        region=region,
        sub_version=_SUB_VERSIONS[(region, version)],
        serial=serial,
        access_key=access_key,
        hardware_id=hardware_id,
        language=_LANGUAGES[region],
        name=name,
        character=character(name, version),
        unpadded_v1_check=(region is Region.JP and version is Version.V1),
        ship=ship,
    )


#: The six retail discs dcsim's virtual Dreamcast can run.
PROFILES: dict[str, Profile] = {
    f"{r.value}-{v.value}": make_profile(r, v) for r in Region for v in (Version.V1, Version.V2)
}


# --- events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenceChecked:
    result: CheckResult


@dataclass(frozen=True, slots=True)
class GuildCardAssigned:
    guild_card: int


@dataclass(frozen=True, slots=True)
class ShipMenuShown:
    ships: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Redirect:
    """Connect to this address and port next (the edge does it)."""

    address: IPv4Address
    port: int


@dataclass(frozen=True, slots=True)
class LobbyPlayerInfo:
    client_id: int
    guild_card: int
    name: bytes


@dataclass(frozen=True, slots=True)
class LobbyJoined:
    block: int
    lobby: int  # 1-based
    client_id: int
    players: tuple[LobbyPlayerInfo, ...]


@dataclass(frozen=True, slots=True)
class PlayerJoined:
    player: LobbyPlayerInfo


@dataclass(frozen=True, slots=True)
class PlayerLeft:
    client_id: int


@dataclass(frozen=True, slots=True)
class ChatReceived:
    guild_card: int
    text: bytes  # "name\ttext" as the server relays it


@dataclass(frozen=True, slots=True)
class MessageShown:
    text: bytes


@dataclass(frozen=True, slots=True)
class SegmentMisaligned:
    """A received chunk of *length* bytes, not a whole number of cipher words, was
    decrypted in whole words: every later byte of the connection is garbled."""

    length: int


@dataclass(frozen=True, slots=True)
class LoginFailed:
    step: str
    reason: str


class Phase(Enum):
    DISCONNECTED = "disconnected"
    AWAIT_HELLO = "await-hello"
    AWAIT_CHECK = "await-check"
    AWAIT_REGISTER = "await-register"
    AWAIT_LOGIN = "await-login"
    MENU = "menu"
    REDIRECTING = "redirecting"
    AWAIT_SHIP_HELLO = "await-ship-hello"
    SHIP_LOGIN = "ship-login"
    AWAIT_LOBBY = "await-lobby"
    LOBBY = "lobby"
    FAILED = "failed"


class Client:
    """A Dreamcast running PSO, logging in with *profile*.

    *segment_words* makes the client decrypt each received chunk (TCP segment) on its own
    in whole 4-byte words, the granularity the players blamed for garbled data when the
    MSS is not a multiple of 4 (:class:`~dcsim.pso.framing.Decoder`); every such chunk is
    reported as a :class:`SegmentMisaligned` event.
    """

    def __init__(self, profile: Profile, *, segment_words: bool = False) -> None:
        self.profile = profile
        self.segment_words = segment_words
        self.phase = Phase.DISCONNECTED
        self.guild_card = NO_GUILD_CARD
        self.lobby_ids: tuple[tuple[int, int], ...] = ()
        self.lobby: int | None = None
        self.client_id: int | None = None
        self.players: dict[int, LobbyPlayerInfo] = {}
        self.failure: LoginFailed | None = None
        self._sent_96 = False
        self._to_ship = False
        self._decoder = Decoder(segment_words=segment_words)
        self._cipher: V2Cipher | None = None
        self._out = bytearray()
        self._events: list[object] = []

    # --- core interface --------------------------------------------------------------

    def connection_made(self, now: float) -> None:
        """A new TCP connection (the login server first, the ship after a redirect)."""
        self._decoder = Decoder(segment_words=self.segment_words)
        self._cipher = None
        self._out.clear()
        self.phase = Phase.AWAIT_SHIP_HELLO if self._to_ship else Phase.AWAIT_HELLO

    def receive_data(self, data: bytes, now: float) -> None:
        if not data:
            if self.phase not in (Phase.REDIRECTING, Phase.FAILED):
                self._fail("connection", f"the server hung up in phase {self.phase.value}")
            return
        decoder = self._decoder
        seen = len(decoder.misaligned)
        decoder.feed(data)
        while self.phase is not Phase.FAILED:
            try:
                frame = decoder.next_frame()
            except FrameError as e:
                self._report_misaligned(seen)
                self._fail("framing", str(e))
                return
            seen = self._report_misaligned(seen)
            if frame is None:
                return
            self._handle(decode(Direction.TO_CLIENT, frame.command, frame.flag, frame.body))

    def _report_misaligned(self, seen: int) -> int:
        """Events for the chunks the decoder found misaligned since *seen*."""
        lengths = self._decoder.misaligned
        self._events += (SegmentMisaligned(n) for n in lengths[seen:])
        return len(lengths)

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def events(self) -> Iterator[object]:
        events, self._events = self._events, []
        return iter(events)

    # --- what a player does in the lobby ---------------------------------------------

    def chat(self, text: str) -> None:
        marker = MARKER_JAPANESE if self.profile.region is Region.JP else MARKER_ENGLISH
        encoding = "cp932" if self.profile.region is Region.JP else "latin-1"
        self._send(ChatRequest(marker + text.encode(encoding)))

    def change_lobby(self, number: int) -> None:
        """Use the lobby teleporter (84) to go to lobby *number* (1-based)."""
        menu_id, item_id = self.lobby_ids[number - 1]
        self._send(LobbySelection(menu_id, item_id))

    def hang_up(self) -> None:
        self._send(Disconnect())

    # --- the login, as the disc does it ----------------------------------------------

    def _send(self, command: Command, pad: bool = True) -> None:
        flag, body = command.pack()
        self._out += encode(command.code, flag, body, self._cipher, pad=pad)

    def _fail(self, step: str, reason: str) -> None:
        self.phase = Phase.FAILED
        self.failure = LoginFailed(step, reason)
        self._events.append(self.failure)

    def _handle(self, command: Command) -> None:
        p = self.profile
        match command:
            case LoginServerInit() if self.phase is Phase.AWAIT_HELLO:
                self._start_cipher(command.server_key, command.client_key)
                self.phase = Phase.AWAIT_CHECK
                if p.version is Version.V1:
                    self._send(V1Check(p.serial, p.access_key), pad=not p.unpadded_v1_check)
                else:
                    self._send(
                        V2Check(
                            "",
                            "",
                            p.serial,
                            p.access_key,
                            p.hardware_id,
                            p.sub_version,
                            f"{p.hardware_id:08X}",
                            "",
                            p.email,
                        )
                    )
            case ShipServerInit() if self.phase is Phase.AWAIT_SHIP_HELLO:
                self._start_cipher(command.server_key, command.client_key)
                self.phase = Phase.SHIP_LOGIN
                self._send_login(extended=False)
            case V1CheckResult() | V2CheckResult() if self.phase is Phase.AWAIT_CHECK:
                result = _check_result(command.flag)
                self._events.append(LicenceChecked(result))
                if result is CheckResult.REGISTER:
                    self.phase = Phase.AWAIT_REGISTER
                    self._send_register()
                elif result in (CheckResult.OK, CheckResult.OK_SAVE):
                    self.phase = Phase.AWAIT_LOGIN
                    self._send_login(extended=True)
                else:
                    self._fail("licence check", f"refused with flag {command.flag:02X}")
            case V1RegisterResult() | V2RegisterResult() if self.phase is Phase.AWAIT_REGISTER:
                if not command.flag:
                    self._fail("registration", "the server refused the registration")
                else:
                    self.phase = Phase.AWAIT_LOGIN
                    self._send_login(extended=True)
            case ClientConfig():
                if command.flag:
                    self._fail("login", f"04 error code {command.flag:02X}")
                    return
                self.guild_card = command.guild_card
                self._events.append(GuildCardAssigned(command.guild_card))
                if not self._sent_96:  # sent once per session with the disc
                    self._sent_96 = True
                    self._send(CharSaveInfo(0x1000, 1))
            case ShipMenu() if self.phase in (Phase.AWAIT_LOGIN, Phase.MENU):
                self.phase = Phase.MENU
                names = tuple(e.name for e in command.entries[1:])
                self._events.append(ShipMenuShown(names))
                choice = command.entries[1] if len(command.entries) > 1 else None
                if p.ship is not None:
                    wanted = p.ship.encode("latin-1")
                    choice = next((e for e in command.entries[1:] if e.name == wanted), None)
                if choice is None:
                    self._fail("ship menu", f"no ship named {p.ship!r} in {names}")
                    return
                self._send(MenuSelection(choice.menu_id, choice.item_id))
            case ServerTime():
                self._send(TimeAccepted())
            case SaveResult():
                self._send(TimeRequest())
            case Reconnect():
                self._to_ship = True
                self.phase = Phase.REDIRECTING
                self._events.append(Redirect(command.address, command.port))
            case LobbyList():
                self.lobby_ids = command.lobbies
            case RequestCharacter() | NteRequestCharacter() if self.phase is Phase.SHIP_LOGIN:
                self.phase = Phase.AWAIT_LOBBY
                self._send(CharacterData(p.character, 2 if p.version is Version.V2 else 1))
            case JoinLobby():
                self.phase = Phase.LOBBY
                self.lobby = command.lobby_number + 1
                self.client_id = command.client_id
                self.players = {q.client_id: _info(q) for q in command.players}
                self._events.append(
                    LobbyJoined(
                        command.block_number,
                        self.lobby,
                        command.client_id,
                        tuple(self.players.values()),
                    )
                )
            case AddLobbyPlayer():
                for q in command.players:
                    self.players[q.client_id] = _info(q)
                    self._events.append(PlayerJoined(_info(q)))
            case LeaveLobby():
                self.players.pop(command.client_id, None)
                self._events.append(PlayerLeft(command.client_id))
            case Chat():
                self._events.append(ChatReceived(command.guild_card, command.text))
            case MessageBox() | LobbyMessage() | ShipInfo():
                self._events.append(MessageShown(command.text))
            case Ping():
                self._send(PingReply())
            case RawCommand():
                self._events.append(command)
            case _:
                self._fail("protocol", f"unexpected {type(command).__name__} in {self.phase.value}")

    def _start_cipher(self, server_key: int, client_key: int) -> None:
        self._decoder.cipher = V2Cipher(server_key)
        self._cipher = V2Cipher(client_key)

    def _send_register(self) -> None:
        p = self.profile
        if p.version is Version.V1:
            self._send(
                V1Register(
                    p.hardware_id, p.sub_version, p.language, f"{p.hardware_id:08X}", "", p.email
                )
            )
        else:
            self._send(
                V2Register(
                    p.hardware_id, p.sub_version, p.language, p.serial, p.access_key, p.password
                )
            )

    def _send_login(self, extended: bool) -> None:
        p = self.profile
        known = self.guild_card != NO_GUILD_CARD
        tag = PLAYER_PRESENT if known else 0xFFFF0000
        extension = bytes(EXTENSION_SIZE) if extended else b""
        if p.version is Version.V1:
            command: Command = V1Login(
                tag,
                self.guild_card,
                p.hardware_id,
                p.sub_version,
                p.language,
                p.serial,
                p.access_key,
                f"{p.hardware_id:08X}",
                "",
                p.name,
                extension,
            )
        else:
            command = V2Login(
                tag,
                self.guild_card,
                p.hardware_id,
                p.sub_version,
                p.language,
                "",
                "",
                p.serial,
                p.access_key,
                f"{p.hardware_id:08X}",
                "",
                p.name,
                extension,
            )
        self._send(command)


def _check_result(flag: int) -> CheckResult:
    try:
        return CheckResult(flag)
    except ValueError:
        return CheckResult.CONNECTION_ERROR


def _info(player: LobbyPlayer) -> LobbyPlayerInfo:
    return LobbyPlayerInfo(player.client_id, player.guild_card, player.name)
