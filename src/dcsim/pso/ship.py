"""dcsim's own ship: blocks of lobbies shared by every ship session (sans-IO).

A block has 15 lobbies of up to 12 players (DC v1 clients only know the first 10). The
ship keeps who is online, so that handle names stay unique among players online (Sega's
rules) and a guild card that logs in again replaces its stale session. Everything it
sends goes through the members' own ``send``; it never touches a socket or a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Protocol

from dcsim.pso.commands import (
    AddLobbyPlayer,
    Chat,
    Command,
    JoinLobby,
    LeaveLobby,
    LobbyPlayer,
)
from dcsim.pso.text import strip_marker
from dcsim.pso.version import LOBBY_COUNT, Version

LOBBIES_PER_BLOCK = 15
LOBBY_CAPACITY = 12


class Member(Protocol):
    """What the ship needs from a session in it."""

    guild_card: int
    name: bytes
    version: Version
    address: IPv4Address
    player_data: bytes

    def send(self, command: Command) -> None: ...

    def kick(self, reason: str) -> None: ...


class ShipFull(Exception):
    """No lobby of any block has room."""


@dataclass(eq=False, slots=True)
class Lobby:
    block: int  # 1-based
    number: int  # 1-based, as players see it
    slots: list[Member | None] = field(default_factory=lambda: [None] * LOBBY_CAPACITY)
    leader: int = 0
    #: How many slots are taken (kept by the ship as members come and go).
    count: int = 0

    def members(self) -> Iterator[tuple[int, Member]]:
        for client_id, member in enumerate(self.slots):
            if member is not None:
                yield client_id, member

    def free_slot(self) -> int | None:
        if self.count >= LOBBY_CAPACITY:
            return None
        return self.slots.index(None)


@dataclass(frozen=True, slots=True)
class Place:
    lobby: Lobby
    client_id: int


class Ship:
    def __init__(self, blocks: int = 1) -> None:
        if blocks < 1:
            raise ValueError("a ship has at least one block")
        self.blocks = [
            [Lobby(b, n) for n in range(1, LOBBIES_PER_BLOCK + 1)] for b in range(1, blocks + 1)
        ]
        self._online: dict[int, Member] = {}
        self._names: dict[bytes, int] = {}
        self._places: dict[int, Place] = {}
        #: Each member's entry in 67/68, packed once while it stays the same.
        self._entries: dict[int, LobbyPlayer] = {}

    # --- who is online ---------------------------------------------------------------

    @property
    def online(self) -> int:
        return len(self._online)

    def admit(self, member: Member) -> str | None:
        """Register *member* as online; a refusal reason if its handle name is taken."""
        key = strip_marker(member.name)
        holder = self._names.get(key)
        if holder is not None and holder != member.guild_card:
            return f"the handle name {key.decode('latin-1')!r} is already in use"
        stale = self._online.get(member.guild_card)
        if stale is not None and stale is not member:
            stale.kick("the same guild card logged in again")
            self.remove(stale)
        self._online[member.guild_card] = member
        self._names[key] = member.guild_card
        return None

    def remove(self, member: Member) -> None:
        """*member* went away: leave its lobby and free its name."""
        if self._online.get(member.guild_card) is not member:
            return
        self._leave(member)
        del self._online[member.guild_card]
        self._entries.pop(member.guild_card, None)
        key = strip_marker(member.name)
        if self._names.get(key) == member.guild_card:
            del self._names[key]

    def place_of(self, member: Member) -> Place | None:
        return self._places.get(member.guild_card)

    # --- lobbies ---------------------------------------------------------------------

    def enter(self, member: Member) -> Place:
        """Put a member who just arrived into the first lobby with room."""
        visible = LOBBY_COUNT[member.version]
        for block in self.blocks:
            for lobby in block[:visible]:
                if lobby.count < LOBBY_CAPACITY:
                    return self._join(member, lobby)
        raise ShipFull

    def change_lobby(self, member: Member, number: int) -> Place | str:
        """Move *member* to lobby *number* of its block, or say why not."""
        place = self._places.get(member.guild_card)
        if place is None:
            return "you are not in a lobby"
        if not 1 <= number <= LOBBY_COUNT[member.version]:
            return f"there is no lobby {number}"
        target = self.blocks[place.lobby.block - 1][number - 1]
        if target is place.lobby:
            return place
        if target.free_slot() is None:
            return f"lobby {number} is full"
        self._leave(member)
        return self._join(member, target)

    def _join(self, member: Member, lobby: Lobby) -> Place:
        client_id = lobby.free_slot()
        assert client_id is not None
        if lobby.count == 0:
            lobby.leader = client_id
        lobby.slots[client_id] = member
        lobby.count += 1
        place = Place(lobby, client_id)
        self._places[member.guild_card] = place
        everyone = tuple(self._entry(cid, m) for cid, m in lobby.members())
        member.send(JoinLobby(client_id, lobby.leader, lobby.number - 1, lobby.block, everyone))
        me = (self._entry(client_id, member),)
        for other_id, other in lobby.members():
            if other is not member:
                other.send(
                    AddLobbyPlayer(other_id, lobby.leader, lobby.number - 1, lobby.block, me)
                )
        return place

    def _leave(self, member: Member) -> None:
        place = self._places.pop(member.guild_card, None)
        if place is None:
            return
        lobby = place.lobby
        lobby.slots[place.client_id] = None
        lobby.count -= 1
        if lobby.leader == place.client_id:
            lobby.leader = next((cid for cid, _ in lobby.members()), 0)
        for _, other in lobby.members():
            other.send(LeaveLobby(place.client_id, lobby.leader))

    def _entry(self, client_id: int, member: Member) -> LobbyPlayer:
        """*member*'s entry, the same object (packed once) while the member's fields are
        the same objects (a new character or name is a new object)."""
        entry = self._entries.get(member.guild_card)
        if (
            entry is None
            or entry.client_id != client_id
            or entry.player_data is not member.player_data
            or entry.name is not member.name
            or entry.address is not member.address
        ):
            entry = LobbyPlayer(
                member.guild_card, member.address, client_id, member.name, member.player_data
            )
            self._entries[member.guild_card] = entry
        return entry

    # --- what players say and do -----------------------------------------------------

    def chat(self, member: Member, text: bytes) -> None:
        """Relay a chat line to everyone in the speaker's lobby, the speaker included."""
        place = self._places.get(member.guild_card)
        if place is None:
            return
        line = Chat(member.name + b"\t" + text, member.guild_card)
        for _, other in place.lobby.members():
            other.send(line)

    def broadcast(self, member: Member, command: Command) -> None:
        """Relay a 60/6C to everyone else in the lobby."""
        place = self._places.get(member.guild_card)
        if place is None:
            return
        for _, other in place.lobby.members():
            if other is not member:
                other.send(command)

    def send_to(self, member: Member, client_id: int, command: Command) -> None:
        """Relay a 62/6D to one player of the sender's lobby."""
        place = self._places.get(member.guild_card)
        if place is None or not 0 <= client_id < LOBBY_CAPACITY:
            return
        target = place.lobby.slots[client_id]
        if target is not None:
            target.send(command)
