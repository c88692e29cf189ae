"""PAP (RFC 1334) and CHAP with MD5 (RFC 1994), both roles.

The authenticator (the access server) checks a login against :class:`Accounts`; the peer
(the Dreamcast) answers with its stored user name and password. Each is a small sans-IO
machine fed with decoded packets and ``now``; packets to send go to ``outbox`` and the
result, once known, is ``outcome``. Passwords never leave these objects.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from dcsim.ppp.lcp import AuthProtocol
from dcsim.ppp.packet import ControlPacket

RETRY_INTERVAL = 3.0  # pppd's pap-restart and chap-restart
MAX_TRANSMITS = 10  # pppd's pap-max-authreq and chap-max-challenge
WAIT_FOR_PEER = 30.0  # pppd's pap-timeout/chap-timeout: how long an authenticator waits
CHALLENGE_SIZE = 16


class PapCode(IntEnum):
    AUTHENTICATE_REQUEST = 1
    AUTHENTICATE_ACK = 2
    AUTHENTICATE_NAK = 3


class ChapCode(IntEnum):
    CHALLENGE = 1
    RESPONSE = 2
    SUCCESS = 3
    FAILURE = 4


class AuthError(ValueError):
    """A PAP or CHAP packet that cannot be decoded."""


@dataclass(frozen=True)
class Accounts:
    """Who may log in: the configured user names and passwords, or anybody."""

    users: Mapping[str, str] = field(default_factory=dict)
    accept_any: bool = True

    def check_password(self, user: str, password: str) -> bool:
        if self.accept_any:
            return True
        known = self.users.get(user)
        return known is not None and hmac.compare_digest(known.encode(), password.encode())

    def check_chap(self, user: str, identifier: int, challenge: bytes, response: bytes) -> bool:
        if self.accept_any:
            return True
        secret = self.users.get(user)
        if secret is None:
            return False
        return hmac.compare_digest(chap_md5(identifier, secret.encode(), challenge), response)


@dataclass(frozen=True)
class Login:
    """The credentials a client answers with (the console's stored ISP settings)."""

    user: str
    password: str


def chap_md5(identifier: int, secret: bytes, challenge: bytes) -> bytes:
    """The CHAP-MD5 response value (RFC 1994 §4.1): MD5(identifier || secret || challenge)."""
    return hashlib.md5(bytes((identifier,)) + secret + challenge, usedforsecurity=False).digest()


class Failure(Enum):
    REJECTED = "the login was refused"
    NO_REQUEST = "the peer did not authenticate in time"
    NO_ANSWER = "the authenticator did not answer"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How authentication ended: ``failure`` is None on success."""

    protocol: AuthProtocol
    user: str
    failure: Failure | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None


def _counted(data: bytes, offset: int, what: str) -> tuple[bytes, int]:
    """A one-octet length followed by that many octets."""
    if offset >= len(data):
        raise AuthError(f"{what} length missing at offset {offset}")
    end = offset + 1 + data[offset]
    if end > len(data):
        raise AuthError(f"{what} of {data[offset]} octets runs past the packet")
    return data[offset + 1 : end], end


def _text(value: bytes) -> str:
    return value.decode("latin-1")


class _Machine:
    protocol: AuthProtocol

    def __init__(self) -> None:
        self.outbox: list[ControlPacket] = []
        self.outcome: Outcome | None = None
        self.timer_at: float | None = None
        self.user = ""

    def deadline(self) -> float | None:
        return self.timer_at if self.outcome is None else None

    def _finish(self, failure: Failure | None, message: str = "") -> None:
        if self.outcome is None:
            self.outcome = Outcome(self.protocol, self.user, failure, message)
        self.timer_at = None


class PapAuthenticator(_Machine):
    protocol = AuthProtocol.PAP

    def __init__(self, accounts: Accounts, *, welcome: str = "", refusal: str = "") -> None:
        super().__init__()
        self.accounts = accounts
        self.welcome = welcome or "Welcome to dcsim"
        self.refusal = refusal or "Login incorrect"

    def start(self, now: float) -> None:
        self.timer_at = now + WAIT_FOR_PEER

    def receive(self, packet: ControlPacket, now: float) -> str | None:
        if packet.code != PapCode.AUTHENTICATE_REQUEST:
            return f"PAP code {packet.code} is not for an authenticator"
        try:
            peer_id, offset = _counted(packet.data, 0, "Peer-ID")
            password, _ = _counted(packet.data, offset, "Password")
        except AuthError as e:
            return f"PAP Authenticate-Request: {e}"
        if self.outcome is None:
            self.user = _text(peer_id)
            if self.accounts.check_password(self.user, _text(password)):
                self._finish(None, self.welcome)
            else:
                self._finish(Failure.REJECTED, self.refusal)
        ok = self.outcome is not None and self.outcome.ok
        message = (self.welcome if ok else self.refusal).encode()[:255]
        code = PapCode.AUTHENTICATE_ACK if ok else PapCode.AUTHENTICATE_NAK
        self.outbox.append(ControlPacket(code, packet.identifier, bytes((len(message),)) + message))
        return None

    def handle_timer(self, now: float) -> None:
        if self.timer_at is not None and now >= self.timer_at:
            self._finish(Failure.NO_REQUEST)


class PapPeer(_Machine):
    protocol = AuthProtocol.PAP

    def __init__(self, login: Login) -> None:
        super().__init__()
        self.login = login
        self.user = login.user
        self._identifier = 0
        self._transmits = 0

    def start(self, now: float) -> None:
        self._send(now)

    def _send(self, now: float) -> None:
        self._identifier = (self._identifier + 1) & 0xFF
        self._transmits += 1
        user = self.login.user.encode("latin-1", "replace")[:255]
        password = self.login.password.encode("latin-1", "replace")[:255]
        data = bytes((len(user),)) + user + bytes((len(password),)) + password
        self.outbox.append(ControlPacket(PapCode.AUTHENTICATE_REQUEST, self._identifier, data))
        self.timer_at = now + RETRY_INTERVAL

    def receive(self, packet: ControlPacket, now: float) -> str | None:
        if packet.code not in (PapCode.AUTHENTICATE_ACK, PapCode.AUTHENTICATE_NAK):
            return f"PAP code {packet.code} is not for a peer"
        if packet.identifier != self._identifier:
            return f"PAP reply id {packet.identifier} does not answer request {self._identifier}"
        try:
            message, _ = _counted(packet.data, 0, "Message") if packet.data else (b"", 0)
        except AuthError as e:
            message = b""
            note = f"PAP reply: {e}"
        else:
            note = None
        if packet.code == PapCode.AUTHENTICATE_ACK:
            self._finish(None, _text(message))
        else:
            self._finish(Failure.REJECTED, _text(message))
        return note

    def handle_timer(self, now: float) -> None:
        if self.timer_at is None or now < self.timer_at or self.outcome is not None:
            return
        if self._transmits >= MAX_TRANSMITS:
            self._finish(Failure.NO_ANSWER)
        else:
            self._send(now)


class ChapAuthenticator(_Machine):
    protocol = AuthProtocol.CHAP_MD5

    def __init__(
        self, accounts: Accounts, rng: random.Random, *, name: str = "dcsim", refusal: str = ""
    ) -> None:
        super().__init__()
        self.accounts = accounts
        self.rng = rng
        self.name = name.encode("latin-1", "replace")
        self.refusal = refusal or "Login incorrect"
        self.challenge = b""
        self._identifier = rng.randrange(256)
        self._transmits = 0
        self._give_up_at = 0.0

    def start(self, now: float) -> None:
        self.challenge = self.rng.randbytes(CHALLENGE_SIZE)
        self._give_up_at = now + WAIT_FOR_PEER
        self._send(now)

    def _send(self, now: float) -> None:
        self._identifier = (self._identifier + 1) & 0xFF
        self._transmits += 1
        data = bytes((len(self.challenge),)) + self.challenge + self.name
        self.outbox.append(ControlPacket(ChapCode.CHALLENGE, self._identifier, data))
        self.timer_at = min(now + RETRY_INTERVAL, self._give_up_at)

    def receive(self, packet: ControlPacket, now: float) -> str | None:
        if packet.code != ChapCode.RESPONSE:
            return f"CHAP code {packet.code} is not for an authenticator"
        if packet.identifier != self._identifier:
            return f"CHAP Response id {packet.identifier} answers no challenge"
        try:
            value, offset = _counted(packet.data, 0, "Value")
        except AuthError as e:
            return f"CHAP Response: {e}"
        if self.outcome is None:
            self.user = _text(packet.data[offset:])
            if self.accounts.check_chap(self.user, packet.identifier, self.challenge, value):
                self._finish(None, "Welcome to dcsim")
            else:
                self._finish(Failure.REJECTED, self.refusal)
        assert self.outcome is not None
        if self.outcome.ok:
            self.outbox.append(ControlPacket(ChapCode.SUCCESS, packet.identifier, b"Welcome"))
        else:
            message = self.refusal.encode()
            self.outbox.append(ControlPacket(ChapCode.FAILURE, packet.identifier, message))
        return None

    def handle_timer(self, now: float) -> None:
        if self.timer_at is None or now < self.timer_at or self.outcome is not None:
            return
        if now >= self._give_up_at or self._transmits >= MAX_TRANSMITS:
            self._finish(Failure.NO_REQUEST)
        else:
            self._send(now)


class ChapPeer(_Machine):
    protocol = AuthProtocol.CHAP_MD5

    def __init__(self, login: Login) -> None:
        super().__init__()
        self.login = login
        self.user = login.user
        self._answered: int | None = None

    def start(self, now: float) -> None:
        self.timer_at = now + WAIT_FOR_PEER

    def receive(self, packet: ControlPacket, now: float) -> str | None:
        if packet.code == ChapCode.CHALLENGE:
            try:
                challenge, _ = _counted(packet.data, 0, "Value")
            except AuthError as e:
                return f"CHAP Challenge: {e}"
            secret = self.login.password.encode("latin-1", "replace")
            value = chap_md5(packet.identifier, secret, challenge)
            name = self.login.user.encode("latin-1", "replace")
            data = bytes((len(value),)) + value + name
            self.outbox.append(ControlPacket(ChapCode.RESPONSE, packet.identifier, data))
            self._answered = packet.identifier
            return None
        if packet.code in (ChapCode.SUCCESS, ChapCode.FAILURE):
            if packet.identifier != self._answered:
                return f"CHAP {ChapCode(packet.code).name} id {packet.identifier} answers nothing"
            failure = None if packet.code == ChapCode.SUCCESS else Failure.REJECTED
            self._finish(failure, _text(packet.data))
            return None
        return f"CHAP code {packet.code} is not for a peer"

    def handle_timer(self, now: float) -> None:
        if self.timer_at is not None and now >= self.timer_at:
            self._finish(Failure.NO_ANSWER)


Authenticator = PapAuthenticator | ChapAuthenticator
AuthPeer = PapPeer | ChapPeer


def authenticator_for(
    protocol: AuthProtocol, accounts: Accounts, rng: random.Random
) -> Authenticator:
    if protocol is AuthProtocol.PAP:
        return PapAuthenticator(accounts)
    return ChapAuthenticator(accounts, rng)


def peer_for(protocol: AuthProtocol, login: Login) -> AuthPeer:
    return PapPeer(login) if protocol is AuthProtocol.PAP else ChapPeer(login)
