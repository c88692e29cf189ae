"""The RFC 1661 §4 option negotiation automaton, as a table, and one control-protocol layer.

LCP and every NCP (IPCP here) run the same automaton; each brings only a
:class:`Negotiator` (its options and its policy). The table below is the RFC's state
transition table cell by cell; a cell the RFC marks "-" (cannot happen) is missing, and
reaching it raises :class:`AutomatonError`. One addition, from pppd's ``silent`` option:
``UP_SILENT`` takes Starting to Stopped, so a passive side sends nothing until the peer's
first Configure-Request (Dreamcast titles need this, modem_ppp.md §5.2).
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum

from dcsim.ppp.packet import Code, ControlPacket, Option, PacketError, pack_options, parse_options


class State(IntEnum):
    INITIAL = 0
    STARTING = 1
    CLOSED = 2
    STOPPED = 3
    CLOSING = 4
    STOPPING = 5
    REQ_SENT = 6
    ACK_RCVD = 7
    ACK_SENT = 8
    OPENED = 9


class Input(Enum):
    UP = "Up"
    UP_SILENT = "Up (passive)"
    DOWN = "Down"
    OPEN = "Open"
    CLOSE = "Close"
    TO_PLUS = "TO+"
    TO_MINUS = "TO-"
    RCR_PLUS = "RCR+"
    RCR_MINUS = "RCR-"
    RCA = "RCA"
    RCN = "RCN"
    RTR = "RTR"
    RTA = "RTA"
    RUC = "RUC"
    RXJ_PLUS = "RXJ+"
    RXJ_MINUS = "RXJ-"
    RXR = "RXR"


class Action(Enum):
    TLU = "this-layer-up"
    TLD = "this-layer-down"
    TLS = "this-layer-started"
    TLF = "this-layer-finished"
    IRC = "initialize-restart-count"
    ZRC = "zero-restart-count"
    SCR = "send-configure-request"
    SCA = "send-configure-ack"
    SCN = "send-configure-nak/rej"
    STR = "send-terminate-request"
    STA = "send-terminate-ack"
    SCJ = "send-code-reject"
    SER = "send-echo-reply"


S, I, A = State, Input, Action  # noqa: E741 (the RFC table reads better short)
_ = ()

# RFC 1661 §4.1, every cell. The "r" (restart) and "p" (passive) options of the RFC are
# not implemented: their cells keep the plain transition.
AUTOMATON: dict[tuple[State, Input], tuple[State, tuple[Action, ...]]] = {
    # Initial
    (S.INITIAL, I.UP): (S.CLOSED, _),
    (S.INITIAL, I.OPEN): (S.STARTING, (A.TLS,)),
    (S.INITIAL, I.CLOSE): (S.INITIAL, _),
    # Starting
    (S.STARTING, I.UP): (S.REQ_SENT, (A.IRC, A.SCR)),
    (S.STARTING, I.UP_SILENT): (S.STOPPED, _),
    (S.STARTING, I.OPEN): (S.STARTING, _),
    (S.STARTING, I.CLOSE): (S.INITIAL, (A.TLF,)),
    # Closed
    (S.CLOSED, I.DOWN): (S.INITIAL, _),
    (S.CLOSED, I.OPEN): (S.REQ_SENT, (A.IRC, A.SCR)),
    (S.CLOSED, I.CLOSE): (S.CLOSED, _),
    (S.CLOSED, I.RCR_PLUS): (S.CLOSED, (A.STA,)),
    (S.CLOSED, I.RCR_MINUS): (S.CLOSED, (A.STA,)),
    (S.CLOSED, I.RCA): (S.CLOSED, (A.STA,)),
    (S.CLOSED, I.RCN): (S.CLOSED, (A.STA,)),
    (S.CLOSED, I.RTR): (S.CLOSED, (A.STA,)),
    (S.CLOSED, I.RTA): (S.CLOSED, _),
    (S.CLOSED, I.RUC): (S.CLOSED, (A.SCJ,)),
    (S.CLOSED, I.RXJ_PLUS): (S.CLOSED, _),
    (S.CLOSED, I.RXJ_MINUS): (S.CLOSED, (A.TLF,)),
    (S.CLOSED, I.RXR): (S.CLOSED, _),
    # Stopped
    (S.STOPPED, I.DOWN): (S.STARTING, (A.TLS,)),
    (S.STOPPED, I.OPEN): (S.STOPPED, _),
    (S.STOPPED, I.CLOSE): (S.CLOSED, _),
    (S.STOPPED, I.RCR_PLUS): (S.ACK_SENT, (A.IRC, A.SCR, A.SCA)),
    (S.STOPPED, I.RCR_MINUS): (S.REQ_SENT, (A.IRC, A.SCR, A.SCN)),
    (S.STOPPED, I.RCA): (S.STOPPED, (A.STA,)),
    (S.STOPPED, I.RCN): (S.STOPPED, (A.STA,)),
    (S.STOPPED, I.RTR): (S.STOPPED, (A.STA,)),
    (S.STOPPED, I.RTA): (S.STOPPED, _),
    (S.STOPPED, I.RUC): (S.STOPPED, (A.SCJ,)),
    (S.STOPPED, I.RXJ_PLUS): (S.STOPPED, _),
    (S.STOPPED, I.RXJ_MINUS): (S.STOPPED, (A.TLF,)),
    (S.STOPPED, I.RXR): (S.STOPPED, _),
    # Closing
    (S.CLOSING, I.DOWN): (S.INITIAL, _),
    (S.CLOSING, I.OPEN): (S.STOPPING, _),
    (S.CLOSING, I.CLOSE): (S.CLOSING, _),
    (S.CLOSING, I.TO_PLUS): (S.CLOSING, (A.STR,)),
    (S.CLOSING, I.TO_MINUS): (S.CLOSED, (A.TLF,)),
    (S.CLOSING, I.RCR_PLUS): (S.CLOSING, _),
    (S.CLOSING, I.RCR_MINUS): (S.CLOSING, _),
    (S.CLOSING, I.RCA): (S.CLOSING, _),
    (S.CLOSING, I.RCN): (S.CLOSING, _),
    (S.CLOSING, I.RTR): (S.CLOSING, (A.STA,)),
    (S.CLOSING, I.RTA): (S.CLOSED, (A.TLF,)),
    (S.CLOSING, I.RUC): (S.CLOSING, (A.SCJ,)),
    (S.CLOSING, I.RXJ_PLUS): (S.CLOSING, _),
    (S.CLOSING, I.RXJ_MINUS): (S.CLOSED, (A.TLF,)),
    (S.CLOSING, I.RXR): (S.CLOSING, _),
    # Stopping
    (S.STOPPING, I.DOWN): (S.STARTING, _),
    (S.STOPPING, I.OPEN): (S.STOPPING, _),
    (S.STOPPING, I.CLOSE): (S.CLOSING, _),
    (S.STOPPING, I.TO_PLUS): (S.STOPPING, (A.STR,)),
    (S.STOPPING, I.TO_MINUS): (S.STOPPED, (A.TLF,)),
    (S.STOPPING, I.RCR_PLUS): (S.STOPPING, _),
    (S.STOPPING, I.RCR_MINUS): (S.STOPPING, _),
    (S.STOPPING, I.RCA): (S.STOPPING, _),
    (S.STOPPING, I.RCN): (S.STOPPING, _),
    (S.STOPPING, I.RTR): (S.STOPPING, (A.STA,)),
    (S.STOPPING, I.RTA): (S.STOPPED, (A.TLF,)),
    (S.STOPPING, I.RUC): (S.STOPPING, (A.SCJ,)),
    (S.STOPPING, I.RXJ_PLUS): (S.STOPPING, _),
    (S.STOPPING, I.RXJ_MINUS): (S.STOPPED, (A.TLF,)),
    (S.STOPPING, I.RXR): (S.STOPPING, _),
    # Req-Sent
    (S.REQ_SENT, I.DOWN): (S.STARTING, _),
    (S.REQ_SENT, I.OPEN): (S.REQ_SENT, _),
    (S.REQ_SENT, I.CLOSE): (S.CLOSING, (A.IRC, A.STR)),
    (S.REQ_SENT, I.TO_PLUS): (S.REQ_SENT, (A.SCR,)),
    (S.REQ_SENT, I.TO_MINUS): (S.STOPPED, (A.TLF,)),
    (S.REQ_SENT, I.RCR_PLUS): (S.ACK_SENT, (A.SCA,)),
    (S.REQ_SENT, I.RCR_MINUS): (S.REQ_SENT, (A.SCN,)),
    (S.REQ_SENT, I.RCA): (S.ACK_RCVD, (A.IRC,)),
    (S.REQ_SENT, I.RCN): (S.REQ_SENT, (A.IRC, A.SCR)),
    (S.REQ_SENT, I.RTR): (S.REQ_SENT, (A.STA,)),
    (S.REQ_SENT, I.RTA): (S.REQ_SENT, _),
    (S.REQ_SENT, I.RUC): (S.REQ_SENT, (A.SCJ,)),
    (S.REQ_SENT, I.RXJ_PLUS): (S.REQ_SENT, _),
    (S.REQ_SENT, I.RXJ_MINUS): (S.STOPPED, (A.TLF,)),
    (S.REQ_SENT, I.RXR): (S.REQ_SENT, _),
    # Ack-Rcvd
    (S.ACK_RCVD, I.DOWN): (S.STARTING, _),
    (S.ACK_RCVD, I.OPEN): (S.ACK_RCVD, _),
    (S.ACK_RCVD, I.CLOSE): (S.CLOSING, (A.IRC, A.STR)),
    (S.ACK_RCVD, I.TO_PLUS): (S.REQ_SENT, (A.SCR,)),
    (S.ACK_RCVD, I.TO_MINUS): (S.STOPPED, (A.TLF,)),
    (S.ACK_RCVD, I.RCR_PLUS): (S.OPENED, (A.SCA, A.TLU)),
    (S.ACK_RCVD, I.RCR_MINUS): (S.ACK_RCVD, (A.SCN,)),
    (S.ACK_RCVD, I.RCA): (S.REQ_SENT, (A.SCR,)),
    (S.ACK_RCVD, I.RCN): (S.REQ_SENT, (A.SCR,)),
    (S.ACK_RCVD, I.RTR): (S.REQ_SENT, (A.STA,)),
    (S.ACK_RCVD, I.RTA): (S.REQ_SENT, _),
    (S.ACK_RCVD, I.RUC): (S.ACK_RCVD, (A.SCJ,)),
    (S.ACK_RCVD, I.RXJ_PLUS): (S.REQ_SENT, _),
    (S.ACK_RCVD, I.RXJ_MINUS): (S.STOPPED, (A.TLF,)),
    (S.ACK_RCVD, I.RXR): (S.ACK_RCVD, _),
    # Ack-Sent
    (S.ACK_SENT, I.DOWN): (S.STARTING, _),
    (S.ACK_SENT, I.OPEN): (S.ACK_SENT, _),
    (S.ACK_SENT, I.CLOSE): (S.CLOSING, (A.IRC, A.STR)),
    (S.ACK_SENT, I.TO_PLUS): (S.ACK_SENT, (A.SCR,)),
    (S.ACK_SENT, I.TO_MINUS): (S.STOPPED, (A.TLF,)),
    (S.ACK_SENT, I.RCR_PLUS): (S.ACK_SENT, (A.SCA,)),
    (S.ACK_SENT, I.RCR_MINUS): (S.REQ_SENT, (A.SCN,)),
    (S.ACK_SENT, I.RCA): (S.OPENED, (A.IRC, A.TLU)),
    (S.ACK_SENT, I.RCN): (S.ACK_SENT, (A.IRC, A.SCR)),
    (S.ACK_SENT, I.RTR): (S.REQ_SENT, (A.STA,)),
    (S.ACK_SENT, I.RTA): (S.ACK_SENT, _),
    (S.ACK_SENT, I.RUC): (S.ACK_SENT, (A.SCJ,)),
    (S.ACK_SENT, I.RXJ_PLUS): (S.ACK_SENT, _),
    (S.ACK_SENT, I.RXJ_MINUS): (S.STOPPED, (A.TLF,)),
    (S.ACK_SENT, I.RXR): (S.ACK_SENT, _),
    # Opened
    (S.OPENED, I.DOWN): (S.STARTING, (A.TLD,)),
    (S.OPENED, I.OPEN): (S.OPENED, _),
    (S.OPENED, I.CLOSE): (S.CLOSING, (A.TLD, A.IRC, A.STR)),
    (S.OPENED, I.RCR_PLUS): (S.ACK_SENT, (A.TLD, A.SCR, A.SCA)),
    (S.OPENED, I.RCR_MINUS): (S.REQ_SENT, (A.TLD, A.SCR, A.SCN)),
    (S.OPENED, I.RCA): (S.REQ_SENT, (A.TLD, A.SCR)),
    (S.OPENED, I.RCN): (S.REQ_SENT, (A.TLD, A.SCR)),
    (S.OPENED, I.RTR): (S.STOPPING, (A.TLD, A.ZRC, A.STA)),
    (S.OPENED, I.RTA): (S.REQ_SENT, (A.TLD, A.SCR)),
    (S.OPENED, I.RUC): (S.OPENED, (A.SCJ,)),
    (S.OPENED, I.RXJ_PLUS): (S.OPENED, _),
    (S.OPENED, I.RXJ_MINUS): (S.STOPPING, (A.TLD, A.IRC, A.STR)),
    (S.OPENED, I.RXR): (S.OPENED, (A.SER,)),
}
del S, I, A, _

# The Restart timer runs only in these states (RFC 1661 §4.6).
TIMER_STATES = frozenset(
    {State.CLOSING, State.STOPPING, State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT}
)
_NEGOTIATING = frozenset({State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT})
# States in which received packets mean nothing yet: the layer below is not up.
_DEAF_STATES = frozenset({State.INITIAL, State.STARTING})


class AutomatonError(Exception):
    """An input the RFC's table says cannot happen in the current state (a dcsim bug)."""


class Signal(Enum):
    """What a layer tells the layer above it (RFC 1661 §4.4 actions tlu/tld/tls/tlf)."""

    UP = "this-layer-up"
    DOWN = "this-layer-down"
    STARTED = "this-layer-started"
    FINISHED = "this-layer-finished"


_SIGNALS = {
    Action.TLU: Signal.UP,
    Action.TLD: Signal.DOWN,
    Action.TLS: Signal.STARTED,
    Action.TLF: Signal.FINISHED,
}


class VerdictKind(IntEnum):
    ACK = Code.CONFIGURE_ACK
    NAK = Code.CONFIGURE_NAK
    REJECT = Code.CONFIGURE_REJECT


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a peer's Configure-Request: Ack, or Nak/Reject with these options."""

    kind: VerdictKind
    options: tuple[Option, ...] = ()


ACK = Verdict(VerdictKind.ACK)
REJECT = Verdict(VerdictKind.REJECT)


def nak(*options: Option) -> Verdict:
    """Nak an option, suggesting *options* instead (usually the same type, another value)."""
    return Verdict(VerdictKind.NAK, options)


class Negotiator(typing.Protocol):
    """The options of one control protocol and the policy for them."""

    def request(self) -> list[Option]:
        """The options of our next Configure-Request."""

    def judge(self, options: Sequence[Option]) -> list[Verdict]:
        """One verdict per option of the peer's Configure-Request, in order."""

    def hints(self, options: Sequence[Option]) -> tuple[Option, ...]:
        """Options the peer did not request but should (sent in a Nak, RFC 1661 §5.3)."""

    def never_reject(self) -> frozenset[int]:
        """Option types to keep Naking even once negotiation should converge by Reject."""

    def peer_acked(self, options: Sequence[Option]) -> None:
        """We sent a Configure-Ack for these options: they are the peer's terms now."""

    def acked(self, options: Sequence[Option]) -> None:
        """The peer acknowledged our request: these options are in force."""

    def naked(self, options: Sequence[Option]) -> None:
        """The peer suggested other values (or options we did not request)."""

    def rejected(self, options: Sequence[Option]) -> None:
        """The peer refused these options of our request."""

    def reset(self) -> None:
        """Negotiation starts over: forget what was agreed."""


@dataclass(frozen=True, slots=True)
class Timing:
    """RFC 1661 §4.6 counters and the restart timer."""

    restart: float = 3.0
    max_configure: int = 10
    max_terminate: int = 2
    max_failure: int = 5


class Layer:
    """One control protocol (LCP, IPCP) driven by :data:`AUTOMATON`.

    Sans-IO: inputs are method calls with ``now``; packets to send accumulate in
    ``outbox`` and signals for the layer above in ``signals``, both drained by the link.
    Subclasses handle the codes beyond Code-Reject (LCP's echo and Protocol-Reject)
    through :meth:`receive_extended` and :meth:`send_echo_reply`.
    """

    #: codes 1-7 are understood by every control protocol (RFC 1661 §5)
    _CONFIGURE_CODES = frozenset(range(Code.CONFIGURE_REQUEST, Code.CODE_REJECT + 1))

    def __init__(
        self,
        protocol: int,
        negotiator: Negotiator,
        timing: Timing = Timing(),
        *,
        name: str = "",
        trace: typing.Callable[[str, State, Input, State], None] | None = None,
    ) -> None:
        self.protocol = protocol
        self.negotiator = negotiator
        self.timing = timing
        self.name = name or f"0x{protocol:04x}"
        self.state = State.INITIAL
        self.outbox: list[ControlPacket] = []
        self.signals: list[Signal] = []
        self.restart_count = 0
        self.failures = 0  # Configure-Naks sent since we last sent a Configure-Ack
        self.timer_at: float | None = None
        self._trace = trace
        self._identifier = 0
        self._request: ControlPacket | None = None  # our last Configure-Request
        self._seen_reply = False  # a reply to _request was already processed
        self._peer_request: ControlPacket | None = None  # the last one we acknowledged
        self._answer: ControlPacket | None = None  # our reply to the packet being handled
        self._incoming: ControlPacket | None = None

    # -- inputs from the layer below and the administrator -------------------------------

    def up(self, now: float, *, silent: bool = False) -> None:
        self._event(Input.UP_SILENT if silent else Input.UP, now)

    def down(self, now: float) -> None:
        self._event(Input.DOWN, now)

    def open(self, now: float) -> None:
        self._event(Input.OPEN, now)

    def close(self, now: float) -> None:
        self._event(Input.CLOSE, now)

    def handle_timer(self, now: float) -> None:
        if self.timer_at is None or now < self.timer_at:
            return
        self.timer_at = None
        self._event(Input.TO_PLUS if self.restart_count > 0 else Input.TO_MINUS, now)

    def deadline(self) -> float | None:
        return self.timer_at

    @property
    def is_open(self) -> bool:
        return self.state is State.OPENED

    # -- packets from the peer -----------------------------------------------------------

    def receive(self, packet: ControlPacket, now: float) -> str | None:
        """Handle one packet; returns why it was discarded, or None if it was used."""
        if self.state in _DEAF_STATES:
            return f"{self.name} is not started"
        code = packet.code
        self._incoming = packet
        try:
            if code == Code.CONFIGURE_REQUEST:
                return self._receive_configure_request(packet, now)
            if code in (Code.CONFIGURE_ACK, Code.CONFIGURE_NAK, Code.CONFIGURE_REJECT):
                return self._receive_configure_reply(packet, now)
            if code == Code.TERMINATE_REQUEST:
                self._event(Input.RTR, now)
            elif code == Code.TERMINATE_ACK:
                self._event(Input.RTA, now)
            elif code == Code.CODE_REJECT:
                rejected = packet.data[0] if packet.data else 0
                catastrophic = rejected in self._CONFIGURE_CODES
                self._event(Input.RXJ_MINUS if catastrophic else Input.RXJ_PLUS, now)
                if not catastrophic:
                    self.code_rejected(rejected)
            else:
                event = self.receive_extended(packet, now)
                self._event(Input.RUC if event is None else event, now)
            return None
        finally:
            self._incoming = None

    def receive_extended(self, packet: ControlPacket, now: float) -> Input | None:
        """The automaton input for a code beyond 7, or None for an unknown code (RUC)."""
        return None

    def code_rejected(self, code: int) -> None:
        """The peer does not know *code*, which we may do without."""

    def _receive_configure_request(self, packet: ControlPacket, now: float) -> str | None:
        try:
            options = parse_options(packet.data)
        except PacketError as e:
            return f"{self.name} Configure-Request: {e}"
        if (
            self.state is State.OPENED
            and self._peer_request is not None
            and packet == self._peer_request
        ):
            # A retransmission of the request we acknowledged (the peer lost our Ack):
            # acknowledge it again instead of renegotiating (modem_ppp.md §5.1).
            self._send(Code.CONFIGURE_ACK, packet.identifier, packet.data)
            return None
        answer = self._answer_for(options)
        if answer.kind is VerdictKind.ACK:
            self._answer = ControlPacket(Code.CONFIGURE_ACK, packet.identifier, packet.data)
            self._event(Input.RCR_PLUS, now)
        else:
            data = pack_options(answer.options)
            self._answer = ControlPacket(answer.kind, packet.identifier, data)
            self._event(Input.RCR_MINUS, now)
        self._answer = None
        return None

    def _answer_for(self, options: Sequence[Option]) -> Verdict:
        """Reject beats Nak beats Ack (RFC 1661 §5.3, §5.4); after Max-Failure Naks, Naks
        turn into Rejects (§4.6) except for what the negotiator must never reject."""
        final = self.failures >= self.timing.max_failure
        keep = self.negotiator.never_reject() if final else frozenset()
        rejects: list[Option] = []
        naks: list[Option] = []
        for option, verdict in zip(options, self.negotiator.judge(options), strict=True):
            if verdict.kind is VerdictKind.REJECT:
                rejects.append(option)
            elif verdict.kind is VerdictKind.NAK:
                if final and option.type not in keep:
                    rejects.append(option)
                else:
                    naks.extend(verdict.options)
        if rejects:
            return Verdict(VerdictKind.REJECT, tuple(rejects))
        if not final:
            naks.extend(self.negotiator.hints(options))
        if naks:
            return Verdict(VerdictKind.NAK, tuple(naks))
        return ACK

    def _receive_configure_reply(self, packet: ControlPacket, now: float) -> str | None:
        request = self._request
        if self.state not in _NEGOTIATING and self.state is not State.OPENED:
            self._event(Input.RCA if packet.code == Code.CONFIGURE_ACK else Input.RCN, now)
            return None
        if request is None or packet.identifier != request.identifier or self._seen_reply:
            # also a stray Configure-Ack once Opened: ignored, not a renegotiation
            # (pppd's seen_ack; Flycast had to do the same for KOS, modem_ppp.md §5.1)
            return f"{self.name} {Code(packet.code).name} id {packet.identifier} answers nothing"
        if packet.code == Code.CONFIGURE_ACK:
            if packet.data != request.data:
                return f"{self.name} Configure-Ack does not match our request"
            self._seen_reply = True
            self._event(Input.RCA, now)
            if self.state in (State.ACK_RCVD, State.OPENED):
                self.negotiator.acked(parse_options(request.data))
            return None
        try:
            options = parse_options(packet.data)
        except PacketError as e:
            return f"{self.name} {Code(packet.code).name}: {e}"
        if packet.code == Code.CONFIGURE_REJECT:
            sent = {o.type for o in parse_options(request.data)}
            if not {o.type for o in options} <= sent:
                return f"{self.name} Configure-Reject names options we did not send"
            self.negotiator.rejected(options)
        else:
            self.negotiator.naked(options)
        self._seen_reply = True
        self._event(Input.RCN, now)
        return None

    # -- the automaton -------------------------------------------------------------------

    def _event(self, event: Input, now: float) -> None:
        old = self.state
        try:
            new, actions = AUTOMATON[(old, event)]
        except KeyError:
            message = f"{self.name}: {event.value} cannot happen in {old.name}"
            raise AutomatonError(message) from None
        if self._trace is not None:
            self._trace(self.name, old, event, new)
        self.state = new
        if old not in _NEGOTIATING and new in _NEGOTIATING:
            self.failures = 0  # a new negotiation (pppd resets its nakloops here too)
        if old is State.OPENED and new is not State.OPENED:
            self._peer_request = None
        for action in actions:
            self._act(action, actions, now)
        if new not in TIMER_STATES:
            self.timer_at = None

    def _act(self, action: Action, actions: tuple[Action, ...], now: float) -> None:
        if action in _SIGNALS:
            if action is Action.TLD:
                self.negotiator.reset()
            self.signals.append(_SIGNALS[action])
        elif action is Action.IRC:
            terminating = Action.STR in actions
            self.restart_count = (
                self.timing.max_terminate if terminating else self.timing.max_configure
            )
        elif action is Action.ZRC:
            self.restart_count = 0
            self.timer_at = now + self.timing.restart
        elif action is Action.SCR:
            identifier = self.next_identifier()
            data = pack_options(self.negotiator.request())
            self._request = ControlPacket(Code.CONFIGURE_REQUEST, identifier, data)
            self._seen_reply = False
            self.outbox.append(self._request)
            self.restart_count -= 1
            self.timer_at = now + self.timing.restart
        elif action is Action.SCA or action is Action.SCN:
            assert self._answer is not None
            if action is Action.SCA:
                self.failures = 0
                self._peer_request = self._incoming
                self.negotiator.peer_acked(parse_options(self._answer.data))
            elif self._answer.code == Code.CONFIGURE_NAK:
                self.failures += 1
            self.outbox.append(self._answer)
        elif action is Action.STR:
            self._send(Code.TERMINATE_REQUEST, self.next_identifier())
            self.restart_count -= 1
            self.timer_at = now + self.timing.restart
        elif action is Action.STA:
            identifier = self._incoming.identifier if self._incoming is not None else 0
            self._send(Code.TERMINATE_ACK, identifier)
        elif action is Action.SCJ:
            assert self._incoming is not None
            self._send(Code.CODE_REJECT, self.next_identifier(), self._incoming.pack())
        elif action is Action.SER:
            assert self._incoming is not None
            self.send_echo_reply(self._incoming)

    def send_echo_reply(self, packet: ControlPacket) -> None:
        """Answer an Echo-Request (only LCP has them; RXR never reaches an NCP)."""

    def _send(self, code: int, identifier: int, data: bytes = b"") -> None:
        self.outbox.append(ControlPacket(code, identifier, data))

    def next_identifier(self) -> int:
        self._identifier = (self._identifier + 1) & 0xFF
        return self._identifier
