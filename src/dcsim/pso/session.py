"""The server side of one PSO connection, login server or ship (sans-IO).

Bytes and the current time go in (:meth:`Session.receive_data`, :meth:`handle_timer`);
bytes (:meth:`data_to_send`), events (:meth:`events`) and the next deadline
(:meth:`deadline`) come out. The session never reads a clock, opens a socket or decides
who may log in: credential checks go out as :class:`~dcsim.pso.events.CheckCredentials`
events and come back through :meth:`credentials_checked`.

The login flow is the table :data:`TRANSITIONS`: for each :class:`Phase`, the commands it
accepts and the handler for each. A command the table does not list for the phase ends
the session before it reaches the lobby; in the lobby, commands dcsim does not act on
are logged (a :class:`~dcsim.pso.events.CommandIgnored` event) and otherwise left alone.

The flows, as recorded from real discs (shared/research/pso_servers.md section 4.4)::

    login server        S 17   C 90 (v1) | 9A (v2) | 88 (NTE)
                        S 90/9A/88 result  [C 92/9C/8A -> S 92/9C/8A 01]
                        C 93/9D/8B -> S 04 guild card, S 07 ship menu
                        C 96 -> S B1 time -> C 99;  C 10 choice -> S 97 01
                        C B1 -> S B1, S 19 redirect to the ship
    ship                S 02   C 93/9D/8B -> S 04, S 83 lobby list, S 95 (8D on NTE)
                        C 61 character -> S 67 join lobby (others get 68)
                        C 06 chat, 84 lobby change, 60/62/6C/6D relayed
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from ipaddress import IPv4Address

from dcsim.causes import Cause
from dcsim.pso.cipher import V2Cipher
from dcsim.pso.commands import (
    LOGIN_COPYRIGHT,
    PLAYER_DATA_SIZE,
    SHIP_COPYRIGHT,
    Broadcast,
    BroadcastLong,
    ChangeShip,
    CharacterData,
    CharSaveInfo,
    ChatRequest,
    CheckResult,
    ClientConfig,
    Command,
    Direction,
    Disconnect,
    LobbyList,
    LobbyMessage,
    LobbyName,
    LobbyNameRequest,
    LobbySelection,
    LoginServerInit,
    MenuEntry,
    MenuSelection,
    MessageBox,
    NteCheck,
    NteCheckResult,
    NteConnectionInfo,
    NteConnectionResult,
    NteLogin,
    NteRequestCharacter,
    PingReply,
    RawCommand,
    Reconnect,
    RequestCharacter,
    SaveResult,
    ServerTime,
    SetArrow,
    ShipMenu,
    ShipServerInit,
    Target,
    TargetLong,
    TimeAccepted,
    TimeRequest,
    UpdateCharacter,
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
from dcsim.pso.credentials import Credentials, Verdict
from dcsim.pso.events import (
    ChatLine,
    CheckCredentials,
    Closed,
    CommandIgnored,
    JoinedLobby,
    LoggedIn,
    PhaseChanged,
    Redirected,
    Step,
)
from dcsim.pso.framing import MAX_COMMAND_SIZE, Decoder, FrameError, append_frame, encode
from dcsim.pso.ship import Ship, ShipFull
from dcsim.pso.text import MARKER_JAPANESE
from dcsim.pso.version import LOBBY_COUNT, Version

#: Menu ids dcsim uses in 07 and 83; the client echoes them in 10 and 84.
MENU_SHIPS = 0x5348_0001
MENU_LOBBIES = 0x4C42_0001
#: The item id of the 07 title entry (not selectable).
TITLE_ITEM = 0xFFFFFFFF
#: Accepted after the 19 redirect until the client hangs up (it sends 99 and closes).
REDIRECT_GRACE = 10.0


class Role(Enum):
    LOGIN = "login"
    SHIP = "ship"


class Phase(Enum):
    # Members are singletons: hashed by identity, in C (the session looks its tables up
    # by phase at every change; Enum's own hash is Python code).
    __hash__ = object.__hash__

    AWAIT_CHECK = "await-check"  # 17 sent
    AWAIT_REGISTER = "await-register"  # told to register
    AWAIT_LOGIN = "await-login"  # licence accepted
    CHECKING = "checking"  # a credential check is out with the edge
    MENU = "menu"  # logged in at the login server, ship menu shown
    REDIRECTED = "redirected"  # 19 sent; the client hangs up
    SHIP_AWAIT_LOGIN = "ship-await-login"  # 02 sent
    AWAIT_CHARACTER = "await-character"  # 95 sent
    LOBBY = "lobby"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ShipChoice:
    """One entry of the ship menu: dcsim's own ship (no addresses) or an external one."""

    name: str
    addresses: dict[Version, tuple[IPv4Address, int]]

    @property
    def builtin(self) -> bool:
        return not self.addresses


@dataclass(frozen=True, slots=True)
class SessionConfig:
    role: Role
    server_name: str = "dcsim"
    ships: tuple[ShipChoice, ...] = (ShipChoice("dcsim", {}),)
    #: Where dcsim's own ship listens, as told to clients in 19. ``None`` for the
    #: address means the address the client reached the login server at.
    ship_address: IPv4Address | None = None
    ship_port: int = 5110
    #: Where the login server listens, for clients leaving the ship (A0); ``None``
    #: for the address means the address the client reached the ship at.
    login_address: IPv4Address | None = None
    login_port: int = 9200
    register_new_v1: bool = True
    round_up: bool = True
    login_timeout: float = 60.0
    idle_timeout: float = 900.0
    max_command_size: int = MAX_COMMAND_SIZE


Handler = Callable[["Session", Command], None]


class Session:
    """One connection's server side. Create it, then call :meth:`connection_made`."""

    __slots__ = (
        "_chosen",
        "_closed",
        "_connected_at",
        "_decoder",
        "_events",
        "_handlers",
        "_last_activity",
        "_out",
        "_pending",
        "_phase",
        "_plain",
        "_redirected_at",
        "_rng",
        "_sent_cipher",
        "address",
        "config",
        "guild_card",
        "language",
        "local_address",
        "name",
        "on_output",
        "player_data",
        "ship",
        "sub_version",
        "version",
    )

    def __init__(
        self,
        config: SessionConfig,
        rng: random.Random,
        peer: IPv4Address,
        local: IPv4Address,
        ship: Ship | None = None,
    ) -> None:
        if config.role is Role.SHIP and ship is None:
            raise ValueError("a ship session needs the ship")
        self.config = config
        self.ship = ship
        self.address = peer
        self.local_address = local
        self._rng = rng
        self._decoder = Decoder(config.max_command_size, config.round_up)
        self._sent_cipher: V2Cipher | None = None
        self._out = bytearray()
        #: Commands sent since the last data_to_send, to be encrypted together there.
        self._plain = bytearray()
        self._events: list[object] = []
        self._phase = Phase.CLOSED
        self._handlers = _HANDLERS[Phase.CLOSED]
        self._pending: Step | None = None  # the check asked for and not yet answered
        self._closed: Closed | None = None
        self._connected_at = 0.0
        self._last_activity = 0.0
        self._redirected_at: float | None = None
        self._chosen = 0
        #: Called when the ship queued output for this session from another one.
        self.on_output: Callable[[], None] = _nothing
        self.version = Version.V1
        self.sub_version = 0
        self.language = 0
        self.guild_card = 0
        self.name = b""
        self.player_data = b""

    # --- the core interface ----------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def closed(self) -> Closed | None:
        """Why the session ended, once it has; the edge then closes the connection."""
        return self._closed

    def connection_made(self, now: float) -> None:
        """Send the hello (17 or 02) in the clear and switch both directions to V2."""
        self._connected_at = self._last_activity = now
        server_key = self._rng.getrandbits(32)
        client_key = self._rng.getrandbits(32)
        if self.config.role is Role.LOGIN:
            hello: Command = LoginServerInit(LOGIN_COPYRIGHT, server_key, client_key)
            self._set_phase(Phase.AWAIT_CHECK)
        else:
            hello = ShipServerInit(SHIP_COPYRIGHT, server_key, client_key)
            self._set_phase(Phase.SHIP_AWAIT_LOGIN)
        self.send(hello)
        self._sent_cipher = V2Cipher(server_key)
        self._decoder.cipher = V2Cipher(client_key)

    def receive_data(self, data: bytes, now: float) -> None:
        if self._closed is not None:
            return
        if not data:
            self._close("the client hung up", by_peer=True)
            return
        self._last_activity = now
        self._decoder.feed(data)
        while self._closed is None:
            try:
                frame = self._decoder.next_frame()
            except FrameError as e:
                self._close(f"bad framing: {e}")
                return
            if frame is None:
                self._check_pending()
                return
            self._dispatch(decode(Direction.TO_SERVER, frame.command, frame.flag, frame.body), now)

    def _check_pending(self) -> None:
        """Before the lobby, a header naming a command the phase cannot take ends the
        session at once rather than after waiting for a body that may never come
        (garbage that decrypts to nonsense usually names a size to wait for)."""
        header = self._decoder.pending
        if header is None or self._phase is Phase.LOBBY:
            return
        if header.command not in _ACCEPTED_CODES[self._phase]:
            self._close(
                f"unexpected command {header.command:02X} (size 0x{header.size:X}) "
                f"in phase {self._phase.value}"
            )

    def handle_timer(self, now: float) -> None:
        if self._closed is not None:
            return
        if self._phase is Phase.REDIRECTED and self._redirected_at is not None:
            if now >= self._redirected_at + REDIRECT_GRACE:
                self._close("redirected; the client did not hang up")
            return
        if self._phase not in (Phase.MENU, Phase.LOBBY):
            if now >= self._connected_at + self.config.login_timeout:
                self._close(
                    f"no login within {self.config.login_timeout:g} s "
                    f"(stuck in phase {self._phase.value})",
                    Cause.SERVER_DOWN,
                )
            return
        if now >= self._last_activity + self.config.idle_timeout:
            self._close(f"idle for {self.config.idle_timeout:g} s", Cause.AUTOMATIC_DISCONNECT)

    def deadline(self) -> float | None:
        if self._closed is not None:
            return None
        if self._phase is Phase.REDIRECTED and self._redirected_at is not None:
            return self._redirected_at + REDIRECT_GRACE
        if self._phase not in (Phase.MENU, Phase.LOBBY):
            return self._connected_at + self.config.login_timeout
        return self._last_activity + self.config.idle_timeout

    def events(self) -> Iterator[object]:
        events, self._events = self._events, []
        return iter(events)

    def data_to_send(self) -> bytes:
        if self._plain:
            assert self._sent_cipher is not None
            sealed = self._sent_cipher.apply(self._plain)
            self._plain.clear()
            if not self._out:
                return sealed
            self._out += sealed
        out = bytes(self._out)
        self._out.clear()
        return out

    def credentials_checked(self, verdict: Verdict, now: float) -> None:
        """The edge's answer to the last :class:`CheckCredentials`."""
        if self._closed is not None or self._pending is None:
            return
        step = self._pending
        self._pending = None
        if step is Step.CHECK:
            self._answer_check(verdict)
        elif step is Step.LOGIN:
            self._answer_login(verdict)
        else:
            self._answer_ship_login(verdict, now)

    # --- for the ship ----------------------------------------------------------------

    def send(self, command: Command) -> None:
        if self._closed is not None:
            return
        flag, body = command.pack()
        # Queued in the clear; data_to_send encrypts everything queued at once.
        append_frame(
            self._out if self._sent_cipher is None else self._plain, command.code, flag, body
        )
        self.on_output()

    def _send_flag(self, command: type[Command], flag: int) -> None:
        """Send a command that is only its flag (the frame is made once per flag)."""
        self._queue(_flag_frame(command, flag))

    def _queue(self, frame: bytes) -> None:
        """Queue one command's plaintext frame, made beforehand (see :meth:`send`)."""
        if self._closed is not None:
            return
        if self._sent_cipher is None:
            self._out += frame
        else:
            self._plain += frame
        self.on_output()

    def refuse(self, text: str, reason: str) -> None:
        """Show *text* to the player, then end the session (the server is full...)."""
        self._refuse(text, reason, None)

    def kick(self, reason: str) -> None:
        self.send(MessageBox(reason.encode("latin-1", "replace")))
        self._close(reason, from_ship=True)

    # --- dispatch --------------------------------------------------------------------

    def _dispatch(self, command: Command, now: float) -> None:
        handler = self._handlers.get(type(command))
        if handler is not None:
            handler(self, command)
            return
        if self._phase is Phase.LOBBY:
            self._events.append(CommandIgnored(command, self._phase.value))
            return
        if isinstance(command, RawCommand):
            what = f"{command.name} ({command.reason})"
        else:
            what = type(command).__name__
        self._close(f"unexpected command {what} in phase {self._phase.value}")

    def _set_phase(self, phase: Phase) -> None:
        if phase is not self._phase:
            self._events.append(PhaseChanged(self._phase._value_, phase._value_))
            self._phase = phase
            self._handlers = _HANDLERS[phase]

    def _close(
        self,
        reason: str,
        cause: Cause | None = None,
        *,
        by_peer: bool = False,
        from_ship: bool = False,
    ) -> None:
        if self._closed is not None:
            return
        self._closed = Closed(reason, cause, by_peer)
        self._set_phase(Phase.CLOSED)
        self._events.append(self._closed)
        if self.ship is not None and not from_ship:
            self.ship.remove(self)

    def _refuse(self, text: str, reason: str, cause: Cause | None) -> None:
        """Show *text* in a message box, then end the session."""
        self.send(MessageBox(text.encode("latin-1", "replace")))
        self._close(reason, cause)

    def _ask(self, step: Step, credentials: Credentials) -> None:
        self._pending = step
        self._set_phase(Phase.CHECKING)
        self._events.append(CheckCredentials(credentials, step))

    # --- login server: the licence check ---------------------------------------------

    def _on_v1_check(self, command: V1Check) -> None:
        self.version = Version.V1
        creds = Credentials(Version.V1, 0, command.serial, command.access_key)
        self._ask(Step.CHECK, creds)

    def _on_v2_check(self, command: V2Check) -> None:
        self.version = Version.V2
        self.sub_version = command.sub_version
        creds = Credentials(
            Version.V2,
            command.sub_version,
            command.serial,
            command.access_key,
            command.hardware_id,
        )
        self._ask(Step.CHECK, creds)

    def _on_nte_check(self, command: NteCheck) -> None:
        self.version = Version.NTE
        creds = Credentials(Version.NTE, 0x20, command.serial, command.access_key)
        self._ask(Step.CHECK, creds)

    def _answer_check(self, verdict: Verdict) -> None:
        result = verdict.result
        if (
            verdict.accepted
            and self.version is Version.V1
            and verdict.new_player
            and self.config.register_new_v1
        ):
            result = CheckResult.REGISTER
        if self.version is Version.V1:
            self._send_flag(V1CheckResult, result)
        elif self.version is Version.V2:
            self._send_flag(V2CheckResult, result)
        else:  # NTE: 0 asks for the connection info (8A), anything else goes to 8B
            self._send_flag(NteCheckResult, 0 if verdict.accepted else 1)
        if not verdict.accepted:
            self._close(
                f"licence check refused: {verdict.reason or result.name}",
                Cause.AUTHENTICATION_FAILURE,
            )
        elif result is CheckResult.REGISTER or self.version is Version.NTE:
            self._set_phase(Phase.AWAIT_REGISTER)
        else:
            self._set_phase(Phase.AWAIT_LOGIN)

    def _on_v1_register(self, command: V1Register) -> None:
        self.sub_version = command.sub_version
        self.language = command.language
        self._send_flag(V1RegisterResult, 1)
        self._set_phase(Phase.AWAIT_LOGIN)

    def _on_v2_register(self, command: V2Register) -> None:
        self.language = command.language
        self._send_flag(V2RegisterResult, 1)
        self._set_phase(Phase.AWAIT_LOGIN)

    def _on_nte_info(self, command: NteConnectionInfo) -> None:
        self._send_flag(NteConnectionResult, 1)
        self._set_phase(Phase.AWAIT_LOGIN)

    # --- login server and ship: the login --------------------------------------------

    def _on_login(self, command: V1Login | V2Login | NteLogin) -> None:
        if isinstance(command, V1Login):
            self.version = Version.V1
        elif isinstance(command, V2Login):
            self.version = Version.V2
        else:
            self.version = Version.NTE
        self.sub_version = command.sub_version
        self.language = command.language
        self.name = command.name
        creds = Credentials(
            self.version,
            command.sub_version,
            command.serial,
            command.access_key,
            command.hardware_id,
        )
        step = Step.LOGIN if self.config.role is Role.LOGIN else Step.SHIP_LOGIN
        self._ask(step, creds)

    def _refused(self, verdict: Verdict, where: str) -> bool:
        """End the session with a message if *verdict* refuses the login."""
        if verdict.accepted:
            return False
        self._refuse(
            "Your serial number or access key was not accepted.",
            f"{where} refused: {verdict.reason or verdict.result.name}",
            Cause.AUTHENTICATION_FAILURE,
        )
        return True

    def _answer_login(self, verdict: Verdict) -> None:
        if self._refused(verdict, "login"):
            return
        self.guild_card = verdict.guild_card
        self.send(ClientConfig(self.guild_card))
        self.send(self._ship_menu())
        self._events.append(
            LoggedIn(self.guild_card, self.version, self.sub_version, self.name, Step.LOGIN)
        )
        self._set_phase(Phase.MENU)

    def _ship_menu(self) -> ShipMenu:
        title = MenuEntry(MENU_SHIPS, TITLE_ITEM, self.config.server_name.encode("latin-1"), 0)
        entries = [
            MenuEntry(MENU_SHIPS, i, choice.name.encode("latin-1"))
            for i, choice in enumerate(self.config.ships)
        ]
        return ShipMenu((title, *entries))

    # --- login server: after the login -----------------------------------------------

    def _on_save_info(self, command: CharSaveInfo) -> None:
        self.send(ServerTime(self._time_text()))

    def _on_time_request(self, command: TimeRequest) -> None:
        self.send(ServerTime(self._time_text()))
        if self._phase is Phase.REDIRECTED and self._redirected_at is None:
            self._send_redirect()

    def _on_time_accepted(self, command: TimeAccepted) -> None:
        pass  # the client saw the time; nothing to answer

    def _on_menu_selection(self, command: MenuSelection) -> None:
        ships = self.config.ships
        if command.menu_id != MENU_SHIPS or not 0 <= command.item_id < len(ships):
            self.send(LobbyMessage(b"That is not a ship."))
            self.send(self._ship_menu())
            return
        choice = ships[command.item_id]
        if not choice.builtin and self.version not in choice.addresses:
            self.send(
                LobbyMessage(f"{choice.name} has no server for PSO {self.version.name}.".encode())
            )
            self.send(self._ship_menu())
            return
        self._chosen = command.item_id
        if self.version is Version.NTE:
            # NTE and the 11/2000 prototype crash on 97 (newserv notes): go straight on.
            self._set_phase(Phase.REDIRECTED)
            self._send_redirect()
        else:
            self._send_flag(SaveResult, 1)  # the client saves and asks for the time (B1)
            self._set_phase(Phase.REDIRECTED)

    def _send_redirect(self) -> None:
        choice = self.config.ships[self._chosen]
        if choice.builtin:
            address = self.config.ship_address or self.local_address
            port = self.config.ship_port
        else:
            address, port = choice.addresses[self.version]
        self.send(Reconnect(address, port))
        self._redirected_at = self._last_activity
        self._events.append(Redirected(choice.name, address, port))

    def _time_text(self) -> bytes:
        return _time_text(int(self._last_activity))

    # --- ship ------------------------------------------------------------------------

    def _answer_ship_login(self, verdict: Verdict, now: float) -> None:
        assert self.ship is not None
        if self._refused(verdict, "ship login"):
            return
        self.guild_card = verdict.guild_card
        refusal = self.ship.admit(self)
        if refusal is not None:
            self._refuse(f"Cannot enter: {refusal}.", f"ship refused: {refusal}", None)
            return
        self.send(ClientConfig(self.guild_card))
        self._queue(_lobby_list_frame(LOBBY_COUNT[self.version]))
        self._send_flag(NteRequestCharacter if self.version is Version.NTE else RequestCharacter, 0)
        self._events.append(
            LoggedIn(self.guild_card, self.version, self.sub_version, self.name, Step.SHIP_LOGIN)
        )
        self._set_phase(Phase.AWAIT_CHARACTER)

    def _on_character(self, command: CharacterData) -> None:
        assert self.ship is not None
        self.player_data = command.player_data
        try:
            place = self.ship.enter(self)
        except ShipFull:
            self._refuse("The ship is full. Please try again later.", "the ship is full", None)
            return
        self._set_phase(Phase.LOBBY)
        self._events.append(
            JoinedLobby(self.guild_card, place.lobby.block, place.lobby.number, place.client_id)
        )

    def _on_update_character(self, command: UpdateCharacter) -> None:
        self.player_data = command.data[:PLAYER_DATA_SIZE]

    def _on_chat(self, command: ChatRequest) -> None:
        assert self.ship is not None
        place = self.ship.place_of(self)
        if place is None:
            return
        self.ship.chat(self, command.text)
        japanese = command.text.startswith(MARKER_JAPANESE) or (
            self.language == 0 and not command.text.startswith(b"\tE")
        )
        self._events.append(
            ChatLine(
                self._last_activity,
                self.guild_card,
                self.name,
                place.lobby.block,
                place.lobby.number,
                command.text,
                japanese,
            )
        )

    def _on_lobby_selection(self, command: LobbySelection) -> None:
        assert self.ship is not None
        if command.menu_id != MENU_LOBBIES:
            self.send(LobbyMessage(b"That is not a lobby."))
            return
        result = self.ship.change_lobby(self, command.item_id)
        if isinstance(result, str):
            self.send(LobbyMessage(result.encode()))
            return
        self._events.append(
            JoinedLobby(self.guild_card, result.lobby.block, result.lobby.number, result.client_id)
        )

    def _on_change_ship(self, command: ChangeShip) -> None:
        assert self.ship is not None
        self.ship.remove(self)
        address = self.config.login_address or self.local_address
        self.send(Reconnect(address, self.config.login_port))
        self._redirected_at = self._last_activity
        self._set_phase(Phase.REDIRECTED)
        self._events.append(Redirected("login server", address, self.config.login_port))

    def _on_broadcast(self, command: Broadcast | BroadcastLong) -> None:
        assert self.ship is not None
        self.ship.broadcast(self, command)

    def _on_target(self, command: Target | TargetLong) -> None:
        assert self.ship is not None
        self.ship.send_to(self, command.flag, command)

    def _on_lobby_name(self, command: LobbyNameRequest) -> None:
        assert self.ship is not None
        place = self.ship.place_of(self)
        number = place.lobby.number if place else 0
        self.send(LobbyName(f"LOBBY{number:02d}".encode()))

    def _on_set_arrow(self, command: SetArrow) -> None:
        pass  # lobby arrows are cosmetic; dcsim does not keep them

    # --- any phase -------------------------------------------------------------------

    def _on_disconnect(self, command: Disconnect) -> None:
        pass  # the client says it will hang up; the connection closing ends the session

    def _on_ping_reply(self, command: PingReply) -> None:
        pass  # activity is recorded on receipt


def _nothing() -> None:
    pass


@functools.cache  # a few dozen: results and requests
def _flag_frame(command: type[Command], flag: int) -> bytes:
    """The plaintext frame of a flag-only command (90/9A results, 97, 95...)."""
    return encode(command.code, *command(flag).pack())  # type: ignore[call-arg]


@functools.cache  # two lists: DC v1's and v2's
def _lobby_list_frame(count: int) -> bytes:
    """The 83 every player gets on the ship, as a plaintext frame."""
    command = LobbyList(tuple((MENU_LOBBIES, n) for n in range(1, count + 1)))
    return encode(command.code, *command.pack())


@functools.lru_cache(maxsize=1)  # everyone asking within the same second
def _time_text(second: int) -> bytes:
    """The B1 text for *second* (whole seconds: the milliseconds are always 000)."""
    return datetime.fromtimestamp(second, UTC).strftime("%Y:%m:%d: %H:%M:%S.000").encode()


#: phase -> command class -> handler. A missing entry ends the session (before the
#: lobby) or is logged and ignored (in the lobby).
TRANSITIONS: dict[Phase, dict[type[Command], Handler]] = {
    Phase.AWAIT_CHECK: {
        V1Check: Session._on_v1_check,
        V2Check: Session._on_v2_check,
        NteCheck: Session._on_nte_check,
    },
    Phase.AWAIT_REGISTER: {
        V1Register: Session._on_v1_register,
        V2Register: Session._on_v2_register,
        NteConnectionInfo: Session._on_nte_info,
    },
    Phase.AWAIT_LOGIN: {
        V1Login: Session._on_login,
        V2Login: Session._on_login,
        NteLogin: Session._on_login,
    },
    Phase.CHECKING: {},
    Phase.MENU: {
        CharSaveInfo: Session._on_save_info,
        TimeRequest: Session._on_time_request,
        TimeAccepted: Session._on_time_accepted,
        MenuSelection: Session._on_menu_selection,
    },
    Phase.REDIRECTED: {
        TimeRequest: Session._on_time_request,
        TimeAccepted: Session._on_time_accepted,
        CharSaveInfo: Session._on_save_info,
    },
    Phase.SHIP_AWAIT_LOGIN: {
        V1Login: Session._on_login,
        V2Login: Session._on_login,
        NteLogin: Session._on_login,
    },
    Phase.AWAIT_CHARACTER: {
        CharacterData: Session._on_character,
        CharSaveInfo: Session._on_save_info,
        TimeAccepted: Session._on_time_accepted,
    },
    Phase.LOBBY: {
        ChatRequest: Session._on_chat,
        LobbySelection: Session._on_lobby_selection,
        ChangeShip: Session._on_change_ship,
        Broadcast: Session._on_broadcast,
        BroadcastLong: Session._on_broadcast,
        Target: Session._on_target,
        TargetLong: Session._on_target,
        LobbyNameRequest: Session._on_lobby_name,
        SetArrow: Session._on_set_arrow,
        UpdateCharacter: Session._on_update_character,
        TimeRequest: Session._on_time_request,
        TimeAccepted: Session._on_time_accepted,
        CharSaveInfo: Session._on_save_info,
    },
    Phase.CLOSED: {},
}

#: Commands every phase accepts.
ANY_PHASE: dict[type[Command], Handler] = {
    Disconnect: Session._on_disconnect,
    PingReply: Session._on_ping_reply,
}

#: Each phase's table with the commands every phase accepts.
_HANDLERS: dict[Phase, dict[type[Command], Handler]] = {
    phase: {**ANY_PHASE, **table} for phase, table in TRANSITIONS.items()
}

#: The command codes each phase can take, to judge a header before its body arrives.
_ACCEPTED_CODES: dict[Phase, frozenset[int]] = {
    phase: frozenset(cls.code for cls in (*table, *ANY_PHASE))
    for phase, table in TRANSITIONS.items()
}
