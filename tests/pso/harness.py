"""In-memory helpers for PSO core tests: a server session with its credential checks
answered on the spot, and a client core paired with it (h11's ConnectionPair idea)."""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv4Address

from dcsim.pso.cipher import V2Cipher
from dcsim.pso.client import Client, Profile
from dcsim.pso.commands import Command, Direction, decode
from dcsim.pso.credentials import AcceptAny, Policy, Verdict
from dcsim.pso.events import CheckCredentials
from dcsim.pso.framing import Decoder, encode
from dcsim.pso.session import Role, Session, SessionConfig
from dcsim.pso.ship import Ship
from dcsim.pso.store import GuildCards, open_database

PEER = IPv4Address("198.51.100.130")
LOCAL = IPv4Address("192.0.2.20")


class Server:
    """Makes sessions of one role and answers their credential checks at once."""

    def __init__(
        self,
        role: Role = Role.LOGIN,
        *,
        policy: Policy | None = None,
        ship: Ship | None = None,
        guild_cards: GuildCards | None = None,
        seed: int = 7,
        **config: object,
    ) -> None:
        self.config = SessionConfig(role, **config)  # type: ignore[arg-type]
        self.policy = policy or AcceptAny()
        self.ship = ship if ship is not None else (Ship(1) if role is Role.SHIP else None)
        self.guild_cards = guild_cards or GuildCards(open_database(":memory:"))
        self.rng = random.Random(seed)
        self.events: list[object] = []

    def session(self, now: float = 0.0, peer: IPv4Address = PEER) -> Session:
        session = Session(self.config, self.rng, peer, LOCAL, self.ship)
        session.connection_made(now)
        self.pump(session, now)
        return session

    def pump(self, session: Session, now: float) -> None:
        for event in session.events():
            self.events.append(event)
            if isinstance(event, CheckCredentials):
                verdict = self.verdict(event, now)
                session.credentials_checked(verdict, now)
                self.pump(session, now)

    def verdict(self, event: CheckCredentials, now: float) -> Verdict:
        verdict = self.policy.check(event.credentials)
        if not verdict.accepted:
            return verdict
        number, new = self.guild_cards.assign(
            event.credentials.serial, event.credentials.access_key, now
        )
        return replace(verdict, guild_card=number, new_player=new)


class Peer:
    """The client end of one connection, sending raw command bytes (for replays and
    bad-input tests): it reads the hello and keeps both ciphers."""

    def __init__(self, session: Session) -> None:
        self.session = session
        hello = session.data_to_send()
        self.hello = decode(Direction.TO_CLIENT, hello[0], hello[1], hello[4:])
        self.send_cipher = V2Cipher(self.hello.client_key)  # type: ignore[attr-defined]
        self.decoder = Decoder()
        self.decoder.cipher = V2Cipher(self.hello.server_key)  # type: ignore[attr-defined]

    def send_raw(self, data: bytes, server: Server, now: float = 0.0) -> list[Command]:
        """Encrypt *data* (whole commands, header included) and deliver it."""
        self.session.receive_data(self.send_cipher.apply(data), now)
        server.pump(self.session, now)
        return self.replies()

    def send(self, command: Command, server: Server, now: float = 0.0) -> list[Command]:
        flag, body = command.pack()
        return self.send_raw(encode(command.code, flag, body), server, now)

    def replies(self) -> list[Command]:
        self.decoder.feed(self.session.data_to_send())
        out = []
        while (frame := self.decoder.next_frame()) is not None:
            out.append(decode(Direction.TO_CLIENT, frame.command, frame.flag, frame.body))
        return out


def pair(client: Client, session: Session, server: Server, now: float = 0.0) -> None:
    """Move bytes between a client core and a session until both are quiet."""
    client.connection_made(now)
    while True:
        server.pump(session, now)
        data = session.data_to_send()
        if data:
            client.receive_data(data, now)
        back = client.data_to_send()
        if back:
            session.receive_data(back, now)
        if not data and not back:
            return


def login(
    profile: Profile, login_server: Server, ship_server: Server, now: float = 0.0
) -> tuple[Client, Session]:
    """Run *profile* through the login server and into the ship's lobby."""
    client = Client(profile)
    pair(client, login_server.session(now), login_server, now)
    ship_session = ship_server.session(now)
    pair(client, ship_session, ship_server, now)
    return client, ship_session
