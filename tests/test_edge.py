"""The edge's one timer: a single IDelayedCall kept at a core's deadline."""

from __future__ import annotations

from twisted.internet.task import Clock

from dcsim.edge import DeadlineTimer


def timer(clock: Clock, *, lazy: bool = False) -> tuple[DeadlineTimer, list[tuple[float, float]]]:
    fired: list[tuple[float, float]] = []  # (deadline, clock time)
    return DeadlineTimer(clock, lambda at: fired.append((at, clock.seconds())), lazy=lazy), fired


def test_fires_once_at_the_deadline_with_it() -> None:
    clock = Clock()
    t, fired = timer(clock)
    t.at(5.0)
    assert t.deadline == 5.0 and len(clock.getDelayedCalls()) == 1
    clock.advance(4.9)
    assert fired == []
    clock.advance(0.1)
    assert fired == [(5.0, 5.0)]
    assert t.deadline is None and clock.getDelayedCalls() == []


def test_a_new_deadline_moves_the_one_call_never_a_second() -> None:
    clock = Clock()
    t, fired = timer(clock)
    t.at(5.0)
    (call,) = clock.getDelayedCalls()
    t.at(5.0)  # unchanged: left alone
    assert clock.getDelayedCalls() == [call]
    t.at(2.0)  # earlier: replaced (a reactor's reset() to an earlier time searches
    # its whole heap), the old call cancelled
    (call,) = clock.getDelayedCalls()
    assert call.getTime() == 2.0
    t.at(9.0)  # later: moved
    assert clock.getDelayedCalls() == [call] and call.getTime() == 9.0
    clock.advance(8)
    assert fired == []
    clock.advance(1)
    assert fired == [(9.0, 9.0)]


def test_none_cancels() -> None:
    clock = Clock()
    t, fired = timer(clock)
    t.at(1.0)
    t.at(None)
    assert clock.getDelayedCalls() == [] and t.deadline is None
    clock.advance(10)
    assert fired == []
    t.cancel()  # nothing set: nothing to do


def test_a_late_clock_still_hands_over_the_deadline_asked_for() -> None:
    clock = Clock()
    t, fired = timer(clock)
    clock.advance(3)
    t.at(1.0)  # already past: due at once
    assert clock.getDelayedCalls()[0].getTime() == 3.0
    t.at(7.0)
    clock.advance(60)  # one big step runs the call late
    assert fired == [(7.0, 63.0)]


def test_the_owner_rearms_from_inside_fire() -> None:
    clock = Clock()
    seen: list[float] = []

    def fire(at: float) -> None:
        seen.append(at)
        if at < 3:
            t.at(at + 1)

    t = DeadlineTimer(clock, fire)
    t.at(1.0)
    clock.pump([1, 1, 1, 1])
    assert seen == [1.0, 2.0, 3.0] and clock.getDelayedCalls() == []


def test_lazy_keeps_an_earlier_call_and_moves_only_to_an_earlier_deadline() -> None:
    clock = Clock()
    t, fired = timer(clock, lazy=True)
    t.at(5.0)
    (call,) = clock.getDelayedCalls()
    t.at(8.0)  # later: the call stays at 5 and fires early
    assert call.getTime() == 5.0 and t.deadline == 5.0
    t.at(2.0)  # earlier: moved
    (moved,) = clock.getDelayedCalls()
    assert moved.getTime() == 2.0 and call.cancelled
    clock.advance(2)
    assert fired == [(2.0, 2.0)]
    t.at(None)
    assert clock.getDelayedCalls() == []
