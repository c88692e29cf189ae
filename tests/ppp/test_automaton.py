"""The RFC 1661 automaton: the table itself, counters and timers, with a trivial policy."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dcsim.ppp.automaton import (
    ACK,
    AUTOMATON,
    AutomatonError,
    Input,
    Layer,
    Signal,
    State,
    Timing,
    Verdict,
)
from dcsim.ppp.packet import Code, ControlPacket, Option

# How many cells each state defines in RFC 1661 §4.1 (cells with "-" are absent).
RFC_CELLS = {
    State.INITIAL: 3,
    State.STARTING: 3,
    State.CLOSED: 13,
    State.STOPPED: 13,
    State.CLOSING: 15,
    State.STOPPING: 15,
    State.REQ_SENT: 15,
    State.ACK_RCVD: 15,
    State.ACK_SENT: 15,
    State.OPENED: 13,
}


def test_the_table_has_every_cell_of_the_rfc() -> None:
    for state, cells in RFC_CELLS.items():
        rfc = [k for k in AUTOMATON if k[0] is state and k[1] is not Input.UP_SILENT]
        assert len(rfc) == cells, state


class Agreeable:
    """A negotiator with one option that always agrees."""

    def __init__(self) -> None:
        self.acked_count = 0
        self.resets = 0

    def request(self) -> list[Option]:
        return [Option(1, b"\x05\xdc")]

    def judge(self, options: Sequence[Option]) -> list[Verdict]:
        return [ACK] * len(options)

    def hints(self, options: Sequence[Option]) -> tuple[Option, ...]:
        return ()

    def never_reject(self) -> frozenset[int]:
        return frozenset()

    def peer_acked(self, options: Sequence[Option]) -> None:
        pass

    def acked(self, options: Sequence[Option]) -> None:
        self.acked_count += 1

    def naked(self, options: Sequence[Option]) -> None:
        pass

    def rejected(self, options: Sequence[Option]) -> None:
        pass

    def reset(self) -> None:
        self.resets += 1


def layer() -> Layer:
    return Layer(0x8021, Agreeable(), Timing(), name="test")


def req_sent() -> Layer:
    lay = layer()
    lay.open(0.0)
    lay.up(0.0)
    assert lay.state is State.REQ_SENT
    assert lay.signals == [Signal.STARTED]
    lay.signals.clear()
    return lay


def opened() -> Layer:
    lay = req_sent()
    request = lay.outbox[-1]
    lay.receive(ControlPacket(Code.CONFIGURE_ACK, request.identifier, request.data), 0.0)
    lay.receive(ControlPacket(Code.CONFIGURE_REQUEST, 7, b""), 0.0)
    assert lay.state is State.OPENED
    lay.outbox.clear()
    lay.signals.clear()
    return lay


def test_silent_up_waits_in_stopped_and_sends_nothing() -> None:
    lay = layer()
    lay.open(0.0)
    lay.up(0.0, silent=True)
    assert lay.state is State.STOPPED
    assert lay.outbox == []
    assert lay.deadline() is None
    lay.receive(ControlPacket(Code.CONFIGURE_REQUEST, 1, b""), 1.0)
    assert lay.state is State.ACK_SENT
    assert [p.code for p in lay.outbox] == [Code.CONFIGURE_REQUEST, Code.CONFIGURE_ACK]


def test_restart_timer_max_configure_then_finished() -> None:
    lay = req_sent()
    now = 0.0
    while lay.deadline() is not None:
        now = lay.deadline()
        lay.handle_timer(now)
    requests = [p for p in lay.outbox if p.code == Code.CONFIGURE_REQUEST]
    assert len(requests) == 10  # max-configure (RFC 1661 §4.6)
    assert now == pytest.approx(30.0)  # ten restart periods of 3 s
    assert lay.state is State.STOPPED
    assert lay.signals == [Signal.FINISHED]


def test_close_sends_max_terminate_requests() -> None:
    lay = opened()
    lay.close(0.0)
    assert lay.signals == [Signal.DOWN]
    now = 0.0
    while lay.deadline() is not None:
        now = lay.deadline()
        lay.handle_timer(now)
    assert [p.code for p in lay.outbox] == [Code.TERMINATE_REQUEST] * 2
    assert lay.state is State.CLOSED
    assert lay.signals[-1] is Signal.FINISHED


def test_terminate_request_in_opened_acks_and_waits_one_restart_period() -> None:
    lay = opened()
    lay.receive(ControlPacket(Code.TERMINATE_REQUEST, 9), 0.0)
    assert lay.state is State.STOPPING
    assert lay.outbox == [ControlPacket(Code.TERMINATE_ACK, 9)]
    assert lay.deadline() == 3.0
    lay.handle_timer(3.0)
    assert lay.state is State.STOPPED
    assert lay.signals == [Signal.DOWN, Signal.FINISHED]


def test_ack_must_match_identifier_and_options() -> None:
    lay = req_sent()
    request = lay.outbox[-1]
    why = lay.receive(ControlPacket(Code.CONFIGURE_ACK, request.identifier + 1, request.data), 0)
    assert why is not None and lay.state is State.REQ_SENT
    why = lay.receive(ControlPacket(Code.CONFIGURE_ACK, request.identifier, b"\x01\x04\x00\x01"), 0)
    assert why is not None and lay.state is State.REQ_SENT
    assert (
        lay.receive(ControlPacket(Code.CONFIGURE_ACK, request.identifier, request.data), 0) is None
    )
    assert lay.state is State.ACK_RCVD


def test_unknown_code_is_code_rejected() -> None:
    lay = opened()
    lay.receive(ControlPacket(42, 3, b"xyz"), 0.0)
    (reject,) = lay.outbox
    assert reject.code == Code.CODE_REJECT
    assert reject.data == ControlPacket(42, 3, b"xyz").pack()
    assert lay.state is State.OPENED


def test_code_reject_of_a_configure_code_is_catastrophic() -> None:
    lay = opened()
    lay.receive(ControlPacket(Code.CODE_REJECT, 3, bytes([Code.CONFIGURE_REQUEST, 1, 0, 4])), 0)
    assert lay.state is State.STOPPING
    assert lay.signals == [Signal.DOWN]


def test_packets_before_the_layer_started_are_dropped() -> None:
    lay = layer()
    assert lay.receive(ControlPacket(Code.CONFIGURE_REQUEST, 1), 0.0) is not None
    assert lay.state is State.INITIAL


def test_impossible_input_raises() -> None:
    lay = layer()
    with pytest.raises(AutomatonError, match="cannot happen in INITIAL"):
        lay._event(Input.RTR, 0.0)


def test_renegotiation_resets_the_negotiator() -> None:
    lay = opened()
    negotiator = lay.negotiator
    assert isinstance(negotiator, Agreeable)
    lay.receive(ControlPacket(Code.CONFIGURE_REQUEST, 8, b""), 0.0)
    assert lay.state is State.ACK_SENT
    assert negotiator.resets == 1
    assert [p.code for p in lay.outbox] == [Code.CONFIGURE_REQUEST, Code.CONFIGURE_ACK]
