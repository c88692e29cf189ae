"""LCP (RFC 1661): its options, the policy both roles apply to them, and the LCP layer.

The access server and the Dreamcast's client side share this code; they differ only in
configuration: the server demands authentication (``authenticate_with``), the client
knows how to answer it (``authenticate_as``). Behaviour Dreamcast clients need is in the
defaults (modem_ppp.md §5): ACCM and Magic-Number supported, unknown options rejected,
Echo-Request always answered.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from dcsim.ppp.automaton import (
    ACK,
    REJECT,
    Input,
    Layer,
    State,
    Timing,
    Verdict,
    nak,
)
from dcsim.ppp.frame import Protocol
from dcsim.ppp.hdlc import ALL_CONTROL
from dcsim.ppp.packet import Code, ControlPacket, Option

DEFAULT_MRU = 1500  # RFC 1661 §6.1
MIN_MRU = 128  # pppd's MINMRU: smaller requests are Nak'd up to this


class LcpOption(IntEnum):
    """LCP configuration option types (IANA "PPP LCP Configuration Option Types")."""

    MRU = 1
    ACCM = 2
    AUTHENTICATION_PROTOCOL = 3
    QUALITY_PROTOCOL = 4
    MAGIC_NUMBER = 5
    PFC = 7  # Protocol-Field-Compression
    ACFC = 8  # Address-and-Control-Field-Compression
    FCS_ALTERNATIVES = 9  # RFC 1570
    CALLBACK = 13  # RFC 1570; Dreamcast servers reject it (modem_ppp.md §5.4)


class FcsAlternative(IntEnum):
    """Bits of the RFC 1570 FCS-Alternatives option."""

    NULL = 1
    FCS16 = 2
    FCS32 = 4


class AuthProtocol(Enum):
    """Authentication protocols, with their Authentication-Protocol option value."""

    PAP = b"\xc0\x23"
    CHAP_MD5 = b"\xc2\x23\x05"  # CHAP with algorithm 5, MD5 (RFC 1994 §3)

    @property
    def protocol(self) -> Protocol:
        return Protocol.PAP if self is AuthProtocol.PAP else Protocol.CHAP

    @classmethod
    def from_option(cls, value: bytes) -> AuthProtocol | None:
        for member in cls:
            if value == member.value:
                return member
        return None


class LcpTrouble(Enum):
    """Why LCP wants the link down although the automaton did not end it."""

    ECHO_TIMEOUT = "the peer stopped answering Echo-Requests"
    LOOPED_BACK = "the link appears to be looped back (our own Magic-Number came back)"
    PEER_REFUSED_AUTH = "the peer refused to authenticate"


@dataclass(frozen=True)
class LcpConfig:
    """What this side asks for and accepts in LCP."""

    mru: int = DEFAULT_MRU  # our receive MRU; requested only when not the default
    accm: int | None = 0  # the ACCM we ask the peer to use (None: do not ask)
    magic: bool = True
    pfc: bool = True  # ask the peer to compress the protocol field
    acfc: bool = True  # ask the peer to drop address and control fields
    fcs32: bool = False  # ask for the 32-bit FCS (RFC 1570)
    # access server: the protocols we demand of the peer, preferred first; () = none
    authenticate_with: tuple[AuthProtocol, ...] = ()
    # client: the protocols we can answer (we hold credentials)
    authenticate_as: frozenset[AuthProtocol] = frozenset()
    passive: bool = False  # wait for the peer's first Configure-Request (pppd "silent")
    echo_interval: float = 0.0  # seconds between our Echo-Requests once open; 0 = none
    echo_failure: int = 4  # unanswered Echo-Requests before the link is declared dead
    # Magic-Number collisions before declaring a loop: at most max-failure, since the
    # automaton Rejects the option after that many Naks and the loop would "open"
    loopback_limit: int = 5
    timing: Timing = field(default_factory=Timing)


@dataclass
class LcpTerms:
    """What was agreed, in both directions, once LCP is open."""

    peer_mru: int = DEFAULT_MRU  # the largest frame we may send
    send_accm: int = ALL_CONTROL  # octets we must escape towards the peer
    send_pfc: bool = False
    send_acfc: bool = False
    send_fcs32: bool = False
    peer_magic: int = 0
    peer_demands: AuthProtocol | None = None  # the peer authenticates us with this
    recv_accm: int = ALL_CONTROL  # octets the peer escapes towards us
    recv_fcs32: bool = False
    our_magic: int = 0
    we_demand: AuthProtocol | None = None  # we authenticate the peer with this


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


class LcpNegotiator:
    """The LCP option policy (:class:`dcsim.ppp.automaton.Negotiator`)."""

    def __init__(self, config: LcpConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.terms = LcpTerms()
        self.collisions = 0  # Configure-Requests carrying our own Magic-Number
        self.auth_refused = False
        self.reset()

    def _new_magic(self) -> int:
        return self.rng.randrange(1, 1 << 32)

    def reset(self) -> None:
        c = self.config
        self._mru = c.mru
        self._accm = c.accm
        self._magic = self._new_magic() if c.magic else 0
        self._pfc = c.pfc
        self._acfc = c.acfc
        self._fcs32 = c.fcs32
        self._auth_choices = list(c.authenticate_with)
        self.terms = LcpTerms()

    # -- our request ----------------------------------------------------------------------

    def request(self) -> list[Option]:
        options = []
        if self._mru != DEFAULT_MRU:
            options.append(Option(LcpOption.MRU, self._mru.to_bytes(2, "big")))
        if self._accm is not None:
            options.append(Option(LcpOption.ACCM, _u32(self._accm)))
        if self._auth_choices:
            options.append(Option(LcpOption.AUTHENTICATION_PROTOCOL, self._auth_choices[0].value))
        if self._magic:
            options.append(Option(LcpOption.MAGIC_NUMBER, _u32(self._magic)))
        if self._pfc:
            options.append(Option(LcpOption.PFC))
        if self._acfc:
            options.append(Option(LcpOption.ACFC))
        if self._fcs32:
            options.append(Option(LcpOption.FCS_ALTERNATIVES, bytes((FcsAlternative.FCS32,))))
        return options

    def acked(self, options: Sequence[Option]) -> None:
        t = self.terms
        t.recv_accm, t.our_magic, t.we_demand, t.recv_fcs32 = ALL_CONTROL, 0, None, False
        for o in options:
            if o.type == LcpOption.ACCM:
                t.recv_accm = o.int_value()
            elif o.type == LcpOption.MAGIC_NUMBER:
                t.our_magic = o.int_value()
            elif o.type == LcpOption.AUTHENTICATION_PROTOCOL:
                t.we_demand = AuthProtocol.from_option(o.value)
            elif o.type == LcpOption.FCS_ALTERNATIVES:
                t.recv_fcs32 = o.value == bytes((FcsAlternative.FCS32,))

    def naked(self, options: Sequence[Option]) -> None:
        for o in options:
            kind = o.type
            if kind == LcpOption.MRU and len(o.value) == 2:
                self._mru = max(MIN_MRU, min(o.int_value(), self.config.mru))
            elif kind == LcpOption.ACCM and len(o.value) == 4 and self._accm is not None:
                self._accm |= o.int_value()
            elif kind == LcpOption.MAGIC_NUMBER and self._magic:
                self._magic = self._new_magic()
            elif kind == LcpOption.AUTHENTICATION_PROTOCOL and self._auth_choices:
                self._next_auth(AuthProtocol.from_option(o.value))
            elif kind == LcpOption.FCS_ALTERNATIVES:
                self._fcs32 = False

    def _next_auth(self, suggested: AuthProtocol | None) -> None:
        current = self._auth_choices[0]
        if suggested is not None and suggested in self._auth_choices:
            self._auth_choices.remove(suggested)
            self._auth_choices.insert(0, suggested)
            if suggested is not current:
                return
        self._auth_choices.pop(0)
        if not self._auth_choices:
            self.auth_refused = True
            self._auth_choices = [current]  # keep asking until the link is closed

    def rejected(self, options: Sequence[Option]) -> None:
        for o in options:
            kind = o.type
            if kind == LcpOption.MRU:
                self._mru = DEFAULT_MRU
            elif kind == LcpOption.ACCM:
                self._accm = None
            elif kind == LcpOption.MAGIC_NUMBER:
                self._magic = 0
            elif kind == LcpOption.PFC:
                self._pfc = False
            elif kind == LcpOption.ACFC:
                self._acfc = False
            elif kind == LcpOption.FCS_ALTERNATIVES:
                self._fcs32 = False
            elif kind == LcpOption.AUTHENTICATION_PROTOCOL and self._auth_choices:
                self.auth_refused = True

    # -- the peer's request ---------------------------------------------------------------

    def judge(self, options: Sequence[Option]) -> list[Verdict]:
        return [self._judge(o) for o in options]

    def _judge(self, o: Option) -> Verdict:
        kind, size = o.type, len(o.value)
        if kind == LcpOption.MRU:
            if size != 2:
                return REJECT
            if o.int_value() < MIN_MRU:
                return nak(Option(LcpOption.MRU, MIN_MRU.to_bytes(2, "big")))
            return ACK
        if kind == LcpOption.ACCM:
            return ACK if size == 4 else REJECT
        if kind == LcpOption.AUTHENTICATION_PROTOCOL:
            return self._judge_auth(o)
        if kind == LcpOption.MAGIC_NUMBER:
            if size != 4:
                return REJECT
            value = o.int_value()
            if value == 0:  # illegal, always Nak'd (RFC 1661 §6.4)
                return nak(Option(LcpOption.MAGIC_NUMBER, _u32(self._new_magic())))
            if self._magic and value == self._magic:
                self.collisions += 1  # perhaps our own request looped back
                return nak(Option(LcpOption.MAGIC_NUMBER, _u32(self._new_magic())))
            return ACK
        if kind in (LcpOption.PFC, LcpOption.ACFC):
            return ACK if size == 0 else REJECT
        if kind == LcpOption.FCS_ALTERNATIVES:
            if size != 1:
                return REJECT
            if o.value[0] & (FcsAlternative.FCS16 | FcsAlternative.FCS32):
                return ACK
            both = FcsAlternative.FCS16 | FcsAlternative.FCS32
            return nak(Option(LcpOption.FCS_ALTERNATIVES, bytes((both,))))
        return REJECT  # Quality-Protocol, Callback, Multilink and anything unknown

    def _judge_auth(self, o: Option) -> Verdict:
        able = self.config.authenticate_as
        if not able:
            return REJECT  # nothing to authenticate with: we are the access server
        wanted = AuthProtocol.from_option(o.value)
        if wanted in able:
            return ACK
        preferred = AuthProtocol.PAP if AuthProtocol.PAP in able else AuthProtocol.CHAP_MD5
        return nak(Option(LcpOption.AUTHENTICATION_PROTOCOL, preferred.value))

    def hints(self, options: Sequence[Option]) -> tuple[Option, ...]:
        return ()

    def never_reject(self) -> frozenset[int]:
        return frozenset()

    def peer_acked(self, options: Sequence[Option]) -> None:
        t = self.terms
        t.peer_mru, t.send_accm, t.send_pfc, t.send_acfc = DEFAULT_MRU, ALL_CONTROL, False, False
        t.peer_magic, t.peer_demands, t.send_fcs32 = 0, None, False
        for o in options:
            kind = o.type
            if kind == LcpOption.MRU:
                t.peer_mru = o.int_value()
            elif kind == LcpOption.ACCM:
                t.send_accm = o.int_value()
            elif kind == LcpOption.PFC:
                t.send_pfc = True
            elif kind == LcpOption.ACFC:
                t.send_acfc = True
            elif kind == LcpOption.MAGIC_NUMBER:
                t.peer_magic = o.int_value()
            elif kind == LcpOption.AUTHENTICATION_PROTOCOL:
                t.peer_demands = AuthProtocol.from_option(o.value)
            elif kind == LcpOption.FCS_ALTERNATIVES:
                t.send_fcs32 = bool(o.value[0] & FcsAlternative.FCS32)


class LcpLayer(Layer):
    """The LCP automaton plus LCP's own codes: Protocol-Reject, Echo, Discard (RFC 1661
    §5.7-§5.9), RFC 1570's Identification and Time-Remaining, and keepalive echoes."""

    def __init__(self, config: LcpConfig, rng: random.Random, **kwargs: object) -> None:
        self.config = config
        self.lcp = LcpNegotiator(config, rng)
        super().__init__(Protocol.LCP, self.lcp, config.timing, name="LCP", **kwargs)  # type: ignore[arg-type]
        self.trouble: LcpTrouble | None = None
        self.rejected_protocols: list[int] = []  # Protocol-Rejects received, for the link
        self.echo_at: float | None = None
        self.echoes_outstanding = 0
        self.echo_disabled = False  # the peer Code-Rejected Echo-Request

    def receive_extended(self, packet: ControlPacket, now: float) -> Input | None:
        code = packet.code
        if code == Code.PROTOCOL_REJECT:
            if len(packet.data) < 2:
                return Input.RXJ_PLUS  # nothing named: harmless
            rejected = int.from_bytes(packet.data[:2], "big")
            if rejected == Protocol.LCP:
                return Input.RXJ_MINUS
            self.rejected_protocols.append(rejected)
            return Input.RXJ_PLUS
        if code == Code.ECHO_REQUEST:
            self._check_magic(packet)
            return Input.RXR
        if code == Code.ECHO_REPLY:
            self._check_magic(packet)
            self.echoes_outstanding = 0
            return Input.RXR
        if code in (Code.DISCARD_REQUEST, Code.IDENTIFICATION, Code.TIME_REMAINING):
            return Input.RXR
        return None

    def _check_magic(self, packet: ControlPacket) -> None:
        ours = self.lcp.terms.our_magic
        if self.state is State.OPENED and ours and packet.data[:4] == _u32(ours):
            self.lcp.collisions += 1

    def code_rejected(self, code: int) -> None:
        if code == Code.ECHO_REQUEST:
            self.echo_disabled = True
            self.echo_at = None

    def send_echo_reply(self, packet: ControlPacket) -> None:
        if packet.code == Code.ECHO_REQUEST:
            data = _u32(self.lcp.terms.our_magic) + packet.data[4:]
            self._send(Code.ECHO_REPLY, packet.identifier, data)

    def send_protocol_reject(self, protocol: int, information: bytes) -> bool:
        """Protocol-Reject a frame (only while Opened, RFC 1661 §5.7); False if not sent."""
        if self.state is not State.OPENED:
            return False
        room = self.lcp.terms.peer_mru - 4 - 2
        data = protocol.to_bytes(2, "big") + information[:room]
        self._send(Code.PROTOCOL_REJECT, self.next_identifier(), data)
        return True

    def _event(self, event: Input, now: float) -> None:
        was_open = self.state is State.OPENED
        super()._event(event, now)
        if self.lcp.collisions >= self.config.loopback_limit and self.trouble is None:
            self.trouble = LcpTrouble.LOOPED_BACK
        if self.lcp.auth_refused and self.trouble is None:
            self.trouble = LcpTrouble.PEER_REFUSED_AUTH
        is_open = self.state is State.OPENED
        if is_open and not was_open:
            self.echoes_outstanding = 0
            if self.config.echo_interval > 0 and not self.echo_disabled:
                self.echo_at = now + self.config.echo_interval
        elif was_open and not is_open:
            self.echo_at = None

    def handle_timer(self, now: float) -> None:
        super().handle_timer(now)
        if self.echo_at is not None and now >= self.echo_at:
            if self.echoes_outstanding >= self.config.echo_failure:
                self.echo_at = None
                self.trouble = self.trouble or LcpTrouble.ECHO_TIMEOUT
                return
            self.echoes_outstanding += 1
            self._send(Code.ECHO_REQUEST, self.next_identifier(), _u32(self.lcp.terms.our_magic))
            self.echo_at = now + self.config.echo_interval

    def deadline(self) -> float | None:
        times = [t for t in (self.timer_at, self.echo_at) if t is not None]
        return min(times) if times else None
