"""Typed commands of the DC PSO login and lobby protocol, in a dnslib-style registry.

Every command class has ``parse(flag, body)`` and ``pack() -> (flag, body)``; the header
flag often carries data (a result code, an entry count), so it belongs to the command.
:data:`COMMANDS` maps (direction, code) to the classes that can carry that code; one code
may mean different things by size (8A is the NTE connection info or a v2 lobby-name
request), so :func:`decode` picks the class whose sizes fit. A code nobody registered,
or a body no registered class accepts, decodes to :class:`RawCommand`: the session
decides what to do with it, and it is logged, never silently dropped.

Layouts and sizes are from shared/research/pso_servers.md section 4 and newserv's
``CommandFormats.hh`` (its documentation of the protocol; the code here is our own),
checked against the recorded client commands in tests/data/newserv/.

Text: names and chat are kept as the bytes the console sent (Shift-JIS or Latin-1 after a
``\\tJ``/``\\tE`` marker, see :mod:`dcsim.pso.text`), so they are relayed unchanged;
serial numbers, access keys and e-mail addresses are ASCII and kept as ``str``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from ipaddress import IPv4Address
from typing import ClassVar, Self, TypeVar

from dcsim.pso.framing import HEADER_SIZE, pad4


class Direction(IntEnum):
    TO_SERVER = 0
    TO_CLIENT = 1


class Cmd(IntEnum):
    """Command codes (the names say what the code means on DC v1/v2)."""

    LOBBY_MESSAGE = 0x01
    SHIP_SERVER_INIT = 0x02
    CLIENT_CONFIG = 0x04
    DISCONNECT = 0x05
    CHAT = 0x06
    SHIP_MENU = 0x07
    MENU_SELECTION = 0x10
    SHIP_INFO = 0x11
    LOGIN_SERVER_INIT = 0x17
    RECONNECT = 0x19
    MESSAGE_BOX = 0x1A
    PING = 0x1D
    BROADCAST = 0x60
    CHARACTER_DATA = 0x61
    TARGET = 0x62
    JOIN_LOBBY = 0x67
    ADD_LOBBY_PLAYER = 0x68
    LEAVE_LOBBY = 0x69
    BROADCAST_LONG = 0x6C
    TARGET_LONG = 0x6D
    LOBBY_LIST = 0x83
    LOBBY_SELECTION = 0x84
    NTE_CHECK = 0x88  # NTE licence check; from the server on v2 it is the lobby arrows
    SET_ARROW = 0x89
    LOBBY_NAME = 0x8A  # NTE connection info from an NTE client
    NTE_LOGIN = 0x8B
    NTE_REQUEST_CHARACTER = 0x8D
    V1_CHECK = 0x90
    V1_REGISTER = 0x92
    V1_LOGIN = 0x93
    REQUEST_CHARACTER = 0x95
    CHAR_SAVE_INFO = 0x96
    SAVE_RESULT = 0x97
    UPDATE_CHARACTER = 0x98
    TIME_ACCEPTED = 0x99
    V2_CHECK = 0x9A
    V2_REGISTER = 0x9C
    V2_LOGIN = 0x9D
    CHANGE_SHIP = 0xA0
    TIME = 0xB1


class CheckResult(IntEnum):
    """Flag of the server's 90 (v1) and 9A (v2) answer (newserv CommandFormats.hh, 9A;
    Sylverant ``LOGIN_9A_*``). The number in brackets is the error the console shows."""

    OK = 0x00  # licence ok; the client logs in (93/9D) without saving
    REGISTER = 0x01  # the client must register first (92/9C)
    OK_SAVE = 0x02  # licence ok, save it to the memory card
    BAD_ACCESS_KEY = 0x03  # (125) the client deletes its saved licence
    BAD_SERIAL = 0x04  # (126)
    INVALID_LICENCE = 0x07  # (117) Hunter's License invalid
    LICENCE_EXPIRED = 0x08  # (116)
    NOT_REGISTERED = 0x0B  # (112) Hunter's License not registered for this serial/key
    CONNECTION_ERROR = 0x0E  # (115)
    SUSPENDED = 0x0F  # (111)
    SUSPENDED_OTHER = 0x10  # (111) also "connection suspended"; dcsim: a billing error
    MAINTENANCE = 0x13  # (118)

    @property
    def accepted(self) -> bool:
        return self in _ACCEPTED


_ACCEPTED = frozenset((CheckResult.OK, CheckResult.REGISTER, CheckResult.OK_SAVE))


class CommandError(ValueError):
    """A body that cannot be the command its header names (carries the reason)."""


# --- the registry --------------------------------------------------------------------


class Command:
    """Base of every typed command: its ``code`` and the sizes it may have."""

    code: ClassVar[int]
    #: Allowed body sizes after padding to 4; ``None`` means checked by ``parse``.
    body_sizes: ClassVar[tuple[int, ...] | None] = None

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return cls.body_sizes is None or body_len in cls.body_sizes

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        raise NotImplementedError

    def pack(self) -> tuple[int, bytes]:
        raise NotImplementedError


C = TypeVar("C", bound=type[Command])

COMMANDS: dict[tuple[Direction, int], list[type[Command]]] = {}


def command(code: int, *directions: Direction) -> Callable[[C], C]:
    """Register a command class for *code* in each of *directions*."""

    def register(cls: C) -> C:
        cls.code = code
        for direction in directions:
            COMMANDS.setdefault((direction, code), []).append(cls)
        return cls

    return register


@dataclass(frozen=True, slots=True)
class RawCommand(Command):
    """A command no registered class accepts: kept whole for logging and capture."""

    command_code: int
    flag: int
    body: bytes
    reason: str = ""

    def pack(self) -> tuple[int, bytes]:
        return self.flag, self.body

    @property
    def name(self) -> str:
        """The code in hex, with its name when it has one: ``04 (CLIENT_CONFIG)``."""
        try:
            return f"{self.command_code:02X} ({Cmd(self.command_code).name})"
        except ValueError:
            return f"{self.command_code:02X}"


def decode(direction: Direction, code: int, flag: int, body: bytes) -> Command:
    """The typed command for a decrypted frame, or :class:`RawCommand`."""
    classes = COMMANDS.get((direction, code))
    if not classes:
        other = Direction(1 - direction)
        if (other, code) in COMMANDS:
            sender = "server" if direction is Direction.TO_SERVER else "client"
            return RawCommand(code, flag, body, f"only a {sender} sends this command")
        return RawCommand(code, flag, body, "unknown command")
    reason = ""
    for cls in classes:
        if not cls.fits(len(body)):
            continue
        try:
            return cls.parse(flag, body)
        except (CommandError, struct.error, UnicodeDecodeError, ValueError) as e:
            reason = str(e)
    if not reason:
        sizes = ", ".join(f"0x{s + HEADER_SIZE:X}" for c in classes for s in c.body_sizes or ())
        reason = f"size 0x{len(body) + HEADER_SIZE:X} is not one of {sizes}"
    return RawCommand(code, flag, body, reason)


# --- field helpers -------------------------------------------------------------------


def cstr(raw: bytes) -> bytes:
    """A fixed-size text field up to its first NUL."""
    end = raw.find(0)
    return raw if end < 0 else raw[:end]


def ascii_field(raw: bytes) -> str:
    """An ASCII field (serial, access key, e-mail) as text; other bytes map 1:1."""
    return cstr(raw).decode("latin-1")


def fixed(text: bytes | str, size: int) -> bytes:
    """*text* in a field of *size* bytes, NUL-padded; too long is an error."""
    data = text.encode("latin-1") if isinstance(text, str) else text
    if len(data) > size:
        raise ValueError(f"{data!r} does not fit a field of {size} bytes")
    return data + bytes(size - len(data))


def text_body(text: bytes) -> bytes:
    """A NUL-terminated text body (padding to 4 is added by the framing)."""
    return text + b"\0"


# --- server hello: 17 and 02 ---------------------------------------------------------

LOGIN_COPYRIGHT = b"DreamCast Port Map. Copyright SEGA Enterprises. 1999"
SHIP_COPYRIGHT = b"DreamCast Lobby Server. Copyright SEGA Enterprises. 1999"
_INIT = struct.Struct("<64sII")


@dataclass(frozen=True, slots=True)
class _ServerInit(Command):
    copyright: bytes
    server_key: int
    client_key: int
    #: Bytes after the keys; the client ignores them (newserv puts a disclaimer here).
    after: bytes = b""

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return body_len >= _INIT.size

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        copyright, server_key, client_key = _INIT.unpack_from(body)
        return cls(cstr(copyright), server_key, client_key, body[_INIT.size :])

    def pack(self) -> tuple[int, bytes]:
        return 0, _INIT.pack(self.copyright, self.server_key, self.client_key) + self.after


@command(Cmd.LOGIN_SERVER_INIT, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class LoginServerInit(_ServerInit):
    """17: the login server's hello, in the clear; the client answers 90 (v1), 9A (v2)
    or 88 (NTE)."""


@command(Cmd.SHIP_SERVER_INIT, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class ShipServerInit(_ServerInit):
    """02: the ship (lobby) server's hello; the client logs in again with 93 or 9D."""


# --- flag-only commands --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FlagOnly(Command):
    flag: int = 0
    body_sizes: ClassVar[tuple[int, ...] | None] = None

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return True  # some clients send junk after flag-only commands; it is ignored

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        return cls(flag)

    def pack(self) -> tuple[int, bytes]:
        return self.flag, b""


@dataclass(frozen=True, slots=True)
class _Empty(_FlagOnly):
    """A flag-only command whose code means something else when it has a body."""

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return body_len == 0


@command(Cmd.V1_CHECK, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class V1CheckResult(_FlagOnly):
    """90 from the server: a :class:`CheckResult` in the flag."""


@command(Cmd.V1_REGISTER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class V1RegisterResult(_FlagOnly):
    """92 from the server: nonzero flag = registered, the client goes on with 93."""


@command(Cmd.V2_CHECK, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class V2CheckResult(_FlagOnly):
    """9A from the server: a :class:`CheckResult` in the flag."""


@command(Cmd.V2_REGISTER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class V2RegisterResult(_FlagOnly):
    """9C from the server: 1 = registered, 0 = wrong password."""


@command(Cmd.NTE_CHECK, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class NteCheckResult(_Empty):
    """88 from the server to an NTE client: 0 = send 8A, else 8B."""


@command(Cmd.LOBBY_NAME, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class NteConnectionResult(_Empty):
    """8A from the server to an NTE client: nonzero = go on with 8B."""


@command(Cmd.SAVE_RESULT, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class SaveResult(_FlagOnly):
    """97: 1 = the save is fine (the client answers B1); 0 wipes the character's items."""


@command(Cmd.REQUEST_CHARACTER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class RequestCharacter(_FlagOnly):
    """95: the client answers with its character data (61)."""


@command(Cmd.NTE_REQUEST_CHARACTER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class NteRequestCharacter(_FlagOnly):
    """8D: 95 for DC NTE (which crashes on 95)."""


@command(Cmd.TIME_ACCEPTED, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class TimeAccepted(_FlagOnly):
    """99: the client accepted the server time (B1)."""


@command(Cmd.TIME, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class TimeRequest(_FlagOnly):
    """B1 from the client: it wants the server time."""


@command(Cmd.DISCONNECT, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class Disconnect(_FlagOnly):
    """05: the client is about to hang up."""


@command(Cmd.PING, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class PingReply(_FlagOnly):
    """1D from the client: the answer to a ping."""


@command(Cmd.PING, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class Ping(_FlagOnly):
    """1D from the server; the client answers 1D."""


@command(Cmd.LOBBY_NAME, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class LobbyNameRequest(_Empty):
    """8A from a v2 client: the name of the lobby or game it is in."""


@command(Cmd.SET_ARROW, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class SetArrow(_FlagOnly):
    """89 from a v2 client: its lobby arrow colour in the flag."""


# --- fixed layouts ------------------------------------------------------------------


#: How each kind of field is read (see _UNPACK) and written. The hardware id is big-endian
#: (the low 48 bits of the DC's FUNC_SYSINFO_ID), everything else little-endian.
_WRITE: dict[str, Callable[[object, int], bytes]] = {
    "u32": lambda v, n: v.to_bytes(4, "little"),  # type: ignore[attr-defined]
    "u8": lambda v, n: bytes((v,)),  # type: ignore[arg-type]
    "u16": lambda v, n: v.to_bytes(2, "little"),  # type: ignore[attr-defined]
    "ipv4": lambda v, n: v.packed,  # type: ignore[attr-defined]
    "hwid": lambda v, n: v.to_bytes(8, "big"),  # type: ignore[attr-defined]
    "ascii": lambda v, n: fixed(v, n),  # type: ignore[arg-type]
    "text": lambda v, n: fixed(v, n),  # type: ignore[arg-type]
    "rest": lambda v, n: v,  # type: ignore[return-value]
}
Field = tuple[str | None, str, int]  # (dataclass field or None for padding, kind, size)


@dataclass(frozen=True, slots=True)
class _Fixed(Command):
    """A command whose body is a sequence of fields declared in ``LAYOUT``; a field of
    kind ``rest`` takes what is left (the optional 0x64-byte login extension). A
    dataclass field named ``flag`` carries the header flag."""

    LAYOUT: ClassVar[tuple[Field, ...]] = ()

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        plan = _PLANS.get(cls) or _plan(cls)
        values = dict(zip(plan.names, plan.struct.unpack_from(body), strict=True))
        for name, how in plan.convert:
            values[name] = how(values[name])
        if plan.rest is not None:
            values[plan.rest[0]] = body[plan.rest[1] :]
        if plan.takes_flag:
            values["flag"] = flag
        return cls(**values)

    def pack(self) -> tuple[int, bytes]:
        body = b"".join(
            bytes(size) if name is None else _WRITE[kind](getattr(self, name), size)
            for name, kind, size in self.LAYOUT
        )
        return getattr(self, "flag", 0), body


#: How a field kind is read: its struct code (for its size) and, unless struct's own
#: value is the field's, how that value becomes it.
_UNPACK: dict[str, tuple[Callable[[int], str], Callable[[bytes], object] | None]] = {
    "u32": (lambda n: "I", None),
    "u16": (lambda n: "H", None),
    "u8": (lambda n: "B", None),
    "ipv4": (lambda n: "4s", IPv4Address),
    "hwid": (lambda n: "8s", lambda raw: int.from_bytes(raw, "big")),
    "ascii": (lambda n: f"{n}s", ascii_field),
    "text": (lambda n: f"{n}s", cstr),
}


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one _Fixed class is parsed: one struct for the fixed part, what turns some of
    its values into fields, where a ``rest`` field starts, whether it takes the flag."""

    struct: struct.Struct
    names: tuple[str, ...]
    convert: tuple[tuple[str, Callable[[bytes], object]], ...]
    rest: tuple[str, int] | None
    takes_flag: bool


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type[_Fixed]) -> _Plan:
    """Made on first use from ``LAYOUT``: the sizes there must be what struct makes of
    the codes (4 for u32, 2 for u16, 1 for u8) for named fields."""
    codes, names, convert = ["<"], [], []
    rest = None
    offset = 0
    for name, kind, size in cls.LAYOUT:
        if kind == "rest":
            rest = (name, offset) if name is not None else None
            continue
        if name is None:
            codes.append(f"{size}x")
        else:
            code, how = _UNPACK[kind]
            codes.append(code(size))
            names.append(name)
            if how is not None:
                convert.append((name, how))
        offset += size
    unpacker = struct.Struct("".join(codes))
    assert unpacker.size == offset, f"{cls.__name__}: LAYOUT sizes do not match its fields"
    plan = _Plan(
        unpacker,
        tuple(names),
        tuple(convert),
        rest,
        "flag" in cls.__dataclass_fields__,  # type: ignore[attr-defined]
    )
    _PLANS[cls] = plan
    return plan


#: Serial and access key as DC v1 and NTE send them: 17 bytes each.
_CHECK_V1: tuple[Field, ...] = (("serial", "ascii", 17), ("access_key", "ascii", 17))
#: player_tag, guild_card, hardware id, sub_version, is_extended, language, 2 unused.
#: (Recorded discs send is_extended 0 even with the extension; its size tells.)
_LOGIN_HEAD: tuple[Field, ...] = (
    ("player_tag", "u32", 4),
    ("guild_card", "u32", 4),
    ("hardware_id", "hwid", 8),
    ("sub_version", "u32", 4),
    (None, "u8", 1),
    ("language", "u8", 1),
    (None, "u8", 2),
)
#: The extension of an "extended" 93/9D/8B: lobby references for Meet User, 0x64 bytes.
EXTENSION_SIZE = 0x64
_EXTENSION: Field = ("extension", "rest", 0)


# --- v1 login: 90, 92, 93 ------------------------------------------------------------


@command(Cmd.V1_CHECK, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class V1Check(_Fixed):
    """90: DC v1's licence check. JP and prototype v1 send it with size 0x26 (body 0x22,
    not padded); later v1 discs pad it to 0x28."""

    serial: str
    access_key: str
    body_sizes: ClassVar[tuple[int, ...] | None] = (0x22, 0x24)
    LAYOUT = _CHECK_V1


@dataclass(frozen=True, slots=True)
class _Register(_Fixed):
    """92 and 9C: hardware id, sub_version, language and three 0x30-byte texts."""

    hardware_id: int
    sub_version: int
    language: int
    body_sizes: ClassVar[tuple[int, ...] | None] = (0xA0,)


_REGISTER_HEAD: tuple[Field, ...] = (
    ("hardware_id", "hwid", 8),
    ("sub_version", "u32", 4),
    (None, "u8", 1),
    ("language", "u8", 1),
    (None, "u8", 2),
)


@command(Cmd.V1_REGISTER, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class V1Register(_Register):
    """92: DC v1 registration (hardware id, sub_version, language, serial2, key2, e-mail)."""

    serial2: str
    access_key2: str
    email: str
    LAYOUT = (
        *_REGISTER_HEAD,
        ("serial2", "ascii", 48),
        ("access_key2", "ascii", 48),
        ("email", "ascii", 48),
    )


@command(Cmd.V1_LOGIN, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class V1Login(_Fixed):
    """93: DC v1 login, on the login server after 90 and again on the ship after 02.
    Flag 1 means the client has UDP disabled."""

    player_tag: int
    guild_card: int
    hardware_id: int
    sub_version: int
    language: int
    serial: str
    access_key: str
    serial2: str
    access_key2: str
    name: bytes
    extension: bytes = b""
    flag: int = 0
    body_sizes: ClassVar[tuple[int, ...] | None] = (0xAC, 0xAC + EXTENSION_SIZE)
    LAYOUT = (
        *_LOGIN_HEAD,
        *_CHECK_V1,
        ("serial2", "ascii", 48),
        ("access_key2", "ascii", 48),
        ("name", "text", 16),
        (None, "u8", 2),
        _EXTENSION,
    )


# --- v2 login: 9A, 9C, 9D ------------------------------------------------------------


@command(Cmd.V2_CHECK, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class V2Check(_Fixed):
    """9A: DC v2's licence check. The eight bytes after the keys hold the hardware id
    (the recorded US v2 session has the same bytes as in its 9D's hardware id field);
    serial2 carries the hardware id again, as text."""

    v1_serial: str
    v1_access_key: str
    serial: str
    access_key: str
    hardware_id: int
    sub_version: int
    serial2: str
    access_key2: str
    email: str
    body_sizes: ClassVar[tuple[int, ...] | None] = (0xDC,)
    LAYOUT = (
        ("v1_serial", "ascii", 16),
        ("v1_access_key", "ascii", 16),
        ("serial", "ascii", 16),
        ("access_key", "ascii", 16),
        ("hardware_id", "hwid", 8),
        ("sub_version", "u32", 4),
        ("serial2", "ascii", 48),
        ("access_key2", "ascii", 48),
        ("email", "ascii", 48),
    )


@command(Cmd.V2_REGISTER, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class V2Register(_Register):
    """9C: DC v2 registration with a password (the Hunter's License password on JP/US)."""

    serial: str
    access_key: str
    password: str
    LAYOUT = (
        *_REGISTER_HEAD,
        ("serial", "ascii", 48),
        ("access_key", "ascii", 48),
        ("password", "ascii", 48),
    )


@command(Cmd.V2_LOGIN, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class V2Login(_Fixed):
    """9D: DC v2 login (0xCC basic, 0x130 extended on the first login)."""

    player_tag: int
    guild_card: int
    hardware_id: int
    sub_version: int
    language: int
    v1_serial: str
    v1_access_key: str
    serial: str
    access_key: str
    serial2: str
    access_key2: str
    name: bytes
    extension: bytes = b""
    flag: int = 0
    body_sizes: ClassVar[tuple[int, ...] | None] = (0xC8, 0xC8 + EXTENSION_SIZE)
    LAYOUT = (
        *_LOGIN_HEAD,
        ("v1_serial", "ascii", 16),
        ("v1_access_key", "ascii", 16),
        ("serial", "ascii", 16),
        ("access_key", "ascii", 16),
        ("serial2", "ascii", 48),
        ("access_key2", "ascii", 48),
        ("name", "text", 16),
        _EXTENSION,
    )


# --- DC NTE: 88, 8A, 8B --------------------------------------------------------------


@command(Cmd.NTE_CHECK, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class NteCheck(_Fixed):
    """88: the DC Network Trial Edition's licence check (16-character serial and key)."""

    serial: str
    access_key: str
    body_sizes: ClassVar[tuple[int, ...] | None] = (0x22, 0x24)
    LAYOUT = _CHECK_V1


@command(Cmd.LOBBY_NAME, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class NteConnectionInfo(_Fixed):
    """8A from an NTE client: hardware id, sub_version, user name, password, e-mail."""

    hardware_id: int
    sub_version: int
    username: str
    password: str
    email: str
    body_sizes: ClassVar[tuple[int, ...] | None] = (0xA0,)
    LAYOUT = (
        ("hardware_id", "hwid", 8),
        ("sub_version", "u32", 4),
        (None, "u32", 4),
        ("username", "ascii", 48),
        ("password", "ascii", 48),
        ("email", "ascii", 48),
    )


@command(Cmd.NTE_LOGIN, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class NteLogin(_Fixed):
    """8B: the NTE login (0xAC basic, 0x110 extended); 93's layout with a user name and
    password where DC v1 has serial2 and access_key2."""

    player_tag: int
    guild_card: int
    hardware_id: int
    sub_version: int
    language: int
    serial: str
    access_key: str
    username: str
    password: str
    name: bytes
    extension: bytes = b""
    flag: int = 0
    body_sizes: ClassVar[tuple[int, ...] | None] = (0xAC, 0xAC + EXTENSION_SIZE)
    LAYOUT = (
        *_LOGIN_HEAD,
        *_CHECK_V1,
        ("username", "ascii", 48),
        ("password", "ascii", 48),
        ("name", "text", 16),
        (None, "u8", 2),
        _EXTENSION,
    )


# --- after login: 04, 07, 10, 96, B1, 19 ---------------------------------------------

#: player_tag value meaning "a player is present" (newserv CommandFormats.hh, 04).
PLAYER_PRESENT = 0x00010000


@command(Cmd.CLIENT_CONFIG, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class ClientConfig(Command):
    """04: sets the client's guild card number. A nonzero flag is an error code and the
    body is then empty."""

    guild_card: int
    player_tag: int = PLAYER_PRESENT
    flag: int = 0

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return body_len in (0, 8) or body_len >= 8

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        if not body:
            return cls(0, 0, flag)
        tag, gc = struct.unpack_from("<II", body)
        return cls(gc, tag, flag)

    def pack(self) -> tuple[int, bytes]:
        if self.flag:
            return self.flag, b""
        return 0, struct.pack("<II", self.player_tag, self.guild_card)


_MENU_ENTRY = struct.Struct("<IIBB16sBB")


@dataclass(frozen=True, slots=True)
class MenuEntry:
    menu_id: int
    item_id: int
    name: bytes
    flags: int = 0x0F  # the value Sega-era servers used for ship entries
    difficulty_tag: int = 0
    num_players: int = 0
    episode: int = 0

    def pack(self) -> bytes:
        return _MENU_ENTRY.pack(
            self.menu_id,
            self.item_id,
            self.difficulty_tag,
            self.num_players,
            fixed(self.name, 16),
            self.episode,
            self.flags,
        )


@command(Cmd.SHIP_MENU, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class ShipMenu(Command):
    """07: the ship select menu. The first entry is the title (the ship name shown in
    the lobby) and is not counted in the flag."""

    entries: tuple[MenuEntry, ...]

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return body_len % _MENU_ENTRY.size == 0 and body_len > 0

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        entries = []
        for off in range(0, len(body), _MENU_ENTRY.size):
            mid, iid, diff, players, name, ep, flags = _MENU_ENTRY.unpack_from(body, off)
            entries.append(MenuEntry(mid, iid, cstr(name), flags, diff, players, ep))
        return cls(tuple(entries))

    def pack(self) -> tuple[int, bytes]:
        return len(self.entries) - 1, b"".join(e.pack() for e in self.entries)


@command(Cmd.MENU_SELECTION, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class MenuSelection(_Fixed):
    """10: the player chose an item. Flags 1/2/3 add a name and/or a password (0x10 each)."""

    menu_id: int
    item_id: int
    extra: bytes = b""
    flag: int = 0
    body_sizes: ClassVar[tuple[int, ...] | None] = (0x08, 0x18, 0x28)
    LAYOUT = (("menu_id", "u32", 4), ("item_id", "u32", 4), ("extra", "rest", 0))


@command(Cmd.CHAR_SAVE_INFO, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class CharSaveInfo(_Fixed):
    """96: the character's creation time and event counter, sent once after the first 04."""

    creation_timestamp: int
    event_counter: int
    body_sizes: ClassVar[tuple[int, ...] | None] = (0x08,)
    LAYOUT = (("creation_timestamp", "u32", 4), ("event_counter", "u32", 4))


@command(Cmd.TIME, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class ServerTime(Command):
    """B1 from the server: ``YYYY:MM:DD: HH:MM:SS.000`` (24 characters, as recorded)."""

    text: bytes

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return body_len >= 0x18

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        return cls(cstr(body))

    def pack(self) -> tuple[int, bytes]:
        return 0, self.text


@command(Cmd.RECONNECT, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class Reconnect(_Fixed):
    """19: disconnect and connect to this IPv4 address and port (the ship)."""

    address: IPv4Address
    port: int
    body_sizes: ClassVar[tuple[int, ...] | None] = (0x08,)
    LAYOUT = (("address", "ipv4", 4), ("port", "u16", 2), (None, "u16", 2))


# --- text: 01, 06, 11, 1A, 8A --------------------------------------------------------

#: The longest chat or message text the client accepts (newserv CommandFormats.hh, 01/06).
MAX_TEXT = 0x200


@dataclass(frozen=True, slots=True)
class _TextWithHeader(Command):
    """01/06/11: ``le32 unused, le32 guild_card``, then NUL-terminated text."""

    text: bytes
    guild_card: int = 0

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return 8 <= body_len <= 8 + pad4(MAX_TEXT + 1)

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        (gc,) = struct.unpack_from("<I", body, 4)
        return cls(cstr(body[8:]), gc)

    def pack(self) -> tuple[int, bytes]:
        return 0, struct.pack("<II", 0, self.guild_card) + text_body(self.text)


@command(Cmd.CHAT, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class ChatRequest(_TextWithHeader):
    """06 from a client: one chat line (its own text only)."""


@command(Cmd.CHAT, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class Chat(_TextWithHeader):
    """06 to a client: ``name\\ttext`` and the speaker's guild card."""


@command(Cmd.LOBBY_MESSAGE, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class LobbyMessage(_TextWithHeader):
    """01: a small message box in the lobby."""


@command(Cmd.SHIP_INFO, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class ShipInfo(_TextWithHeader):
    """11: a small information box."""


@command(Cmd.MESSAGE_BOX, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class MessageBox(Command):
    """1A: a large message box (plain NUL-terminated text)."""

    text: bytes

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return body_len <= 0x400

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        return cls(cstr(body))

    def pack(self) -> tuple[int, bytes]:
        return 0, text_body(self.text)


@command(Cmd.LOBBY_NAME, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class LobbyName(Command):
    """8A to a v2 client: the lobby name (Sega's servers answered ``LOBBY01``...)."""

    text: bytes

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return 0 < body_len <= 0x40

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        return cls(cstr(body))

    def pack(self) -> tuple[int, bytes]:
        return 0, text_body(self.text)


# --- ship and lobby: 61, 83, 84, 67, 68, 69 ------------------------------------------

#: Inventory (0x34C) + display data (0xD0): what lobby join commands carry per player.
PLAYER_DATA_SIZE = 0x41C
#: DC v2 adds challenge/battle records and the choice search config (newserv 61).
V2_CHARACTER_SIZE = 0x4F0


@command(Cmd.CHARACTER_DATA, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class CharacterData(Command):
    """61: the player's character (flag = format: 1 on DC v1, 2 on DC v2)."""

    data: bytes
    flag: int = 1

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return PLAYER_DATA_SIZE <= body_len <= 0x1000

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        return cls(body, flag)

    def pack(self) -> tuple[int, bytes]:
        return self.flag, self.data

    @property
    def player_data(self) -> bytes:
        """The inventory and display data, as lobby join commands carry them."""
        return self.data[:PLAYER_DATA_SIZE]

    @property
    def name(self) -> bytes:
        """The character name in the display data (offset 0x24 of it)."""
        return cstr(self.data[0x34C + 0x24 : 0x34C + 0x34])


@command(Cmd.UPDATE_CHARACTER, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class UpdateCharacter(Command):
    """98: the character after a game (same format as 61)."""

    data: bytes
    flag: int = 1

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return PLAYER_DATA_SIZE <= body_len <= 0x1000

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        return cls(body, flag)

    def pack(self) -> tuple[int, bytes]:
        return self.flag, self.data


_LOBBY_ENTRY = struct.Struct("<III")


@command(Cmd.LOBBY_LIST, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class LobbyList(Command):
    """83: the lobby teleporter's menu ids; DC v1 expects 10 entries, v2 15."""

    lobbies: tuple[tuple[int, int], ...]  # (menu_id, item_id)

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return body_len % _LOBBY_ENTRY.size == 0

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        return cls(
            tuple(
                _LOBBY_ENTRY.unpack_from(body, off)[:2]
                for off in range(0, len(body), _LOBBY_ENTRY.size)
            )
        )

    def pack(self) -> tuple[int, bytes]:
        body = b"".join(_LOBBY_ENTRY.pack(m, i, 0) for m, i in self.lobbies)
        return len(self.lobbies), body


@command(Cmd.LOBBY_SELECTION, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class LobbySelection(_Fixed):
    """84: the player chose a lobby in the teleporter."""

    menu_id: int
    item_id: int
    body_sizes: ClassVar[tuple[int, ...] | None] = (0x08,)
    LAYOUT = (("menu_id", "u32", 4), ("item_id", "u32", 4))


_LOBBY_FLAGS = struct.Struct("<BBBBBBBBI")
_PLAYER_HEAD = struct.Struct("<II4sI16s")
LOBBY_ENTRY_SIZE = _PLAYER_HEAD.size + PLAYER_DATA_SIZE  # 0x43C


@dataclass(frozen=True, slots=True)
class LobbyPlayer:
    """One player in a 67/68: lobby data (0x20) then inventory and display (0x41C).

    The packed form is kept once made: the ship sends the same entry to everyone in a
    lobby, and to each player who joins later."""

    guild_card: int
    address: IPv4Address
    client_id: int
    name: bytes
    player_data: bytes = field(repr=False)
    player_tag: int = PLAYER_PRESENT
    _packed: bytes = field(default=b"", init=False, repr=False, compare=False)

    def pack(self) -> bytes:
        if not self._packed:
            data = self.player_data[:PLAYER_DATA_SIZE]
            head = _PLAYER_HEAD.pack(
                self.player_tag,
                self.guild_card,
                self.address.packed,
                self.client_id,
                fixed(self.name, 16),
            )
            packed = head + data + bytes(PLAYER_DATA_SIZE - len(data))
            object.__setattr__(self, "_packed", packed)  # a cache on a frozen value
        return self._packed

    @classmethod
    def parse(cls, body: bytes, offset: int) -> LobbyPlayer:
        tag, gc, ip, cid, name = _PLAYER_HEAD.unpack_from(body, offset)
        start = offset + _PLAYER_HEAD.size
        return cls(
            gc, IPv4Address(ip), cid, cstr(name), body[start : start + PLAYER_DATA_SIZE], tag
        )


@dataclass(frozen=True, slots=True)
class _JoinLobby(Command):
    """67/68: lobby flags (0x0C) and one 0x43C entry per player; flag = player count."""

    client_id: int
    leader_id: int
    lobby_number: int
    block_number: int
    players: tuple[LobbyPlayer, ...]
    event: int = 0
    disable_udp: int = 1

    @classmethod
    def fits(cls, body_len: int) -> bool:
        rest = body_len - _LOBBY_FLAGS.size
        return rest >= 0 and rest % LOBBY_ENTRY_SIZE == 0 and rest // LOBBY_ENTRY_SIZE <= 12

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        cid, leader, udp, lobby, block, _a1, event, _a2, _unused = _LOBBY_FLAGS.unpack_from(body)
        players = tuple(
            LobbyPlayer.parse(body, off)
            for off in range(_LOBBY_FLAGS.size, len(body), LOBBY_ENTRY_SIZE)
        )
        return cls(cid, leader, lobby, block, players, event, udp)

    def pack(self) -> tuple[int, bytes]:
        head = _LOBBY_FLAGS.pack(
            self.client_id,
            self.leader_id,
            self.disable_udp,
            self.lobby_number,
            self.block_number,
            0,
            self.event,
            0,
            0,
        )
        return len(self.players), head + b"".join([p.pack() for p in self.players])


@command(Cmd.JOIN_LOBBY, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class JoinLobby(_JoinLobby):
    """67: to the joining player, with everyone in the lobby (itself included)."""


@command(Cmd.ADD_LOBBY_PLAYER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class AddLobbyPlayer(_JoinLobby):
    """68: to the others, with the joining player only."""


@command(Cmd.LEAVE_LOBBY, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class LeaveLobby(Command):
    """69: a player left the lobby; flag and first byte = its client id."""

    client_id: int
    leader_id: int
    body_sizes: ClassVar[tuple[int, ...] | None] = (0x04,)

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        cid, leader, _udp, _unused = struct.unpack_from("<BBBB", body)
        return cls(cid, leader)

    def pack(self) -> tuple[int, bytes]:
        return self.client_id, struct.pack("<BBBB", self.client_id, self.leader_id, 1, 0)


@command(Cmd.CHANGE_SHIP, Direction.TO_SERVER)
@dataclass(frozen=True, slots=True)
class ChangeShip(_Fixed):
    """A0 from a client in the lobby: back to the ship select menu (the login server).
    Carries the player tag and guild card, then 16 unused bytes."""

    guild_card: int
    player_tag: int = PLAYER_PRESENT
    body_sizes: ClassVar[tuple[int, ...] | None] = (0x18,)
    LAYOUT = (("player_tag", "u32", 4), ("guild_card", "u32", 4), (None, "u8", 16))


# --- relayed game data: 60, 62, 6C, 6D -----------------------------------------------


@dataclass(frozen=True, slots=True)
class _GameData(Command):
    """Subcommands the server relays without reading (flag = target on 62/6D)."""

    data: bytes
    flag: int = 0

    @classmethod
    def fits(cls, body_len: int) -> bool:
        return body_len <= 0x7C00

    @classmethod
    def parse(cls, flag: int, body: bytes) -> Self:
        return cls(body, flag)

    def pack(self) -> tuple[int, bytes]:
        return self.flag, self.data


@command(Cmd.BROADCAST, Direction.TO_SERVER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class Broadcast(_GameData):
    """60: relayed to everyone else in the lobby."""


@command(Cmd.TARGET, Direction.TO_SERVER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class Target(_GameData):
    """62: relayed to the player whose client id is the flag."""


@command(Cmd.BROADCAST_LONG, Direction.TO_SERVER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class BroadcastLong(_GameData):
    """6C: a 60 without the size limit."""


@command(Cmd.TARGET_LONG, Direction.TO_SERVER, Direction.TO_CLIENT)
@dataclass(frozen=True, slots=True)
class TargetLong(_GameData):
    """6D: a 62 without the size limit."""
