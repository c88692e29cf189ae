"""Running a simulation on ``twisted.internet.task.Clock`` without stepping blindly.

``Clock.advance(dt)`` runs what is due within *dt*; :func:`run` jumps from one scheduled
call to the next, so an hour of quiet simulated time costs nothing and a busy second
costs only its events.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.task import Clock


def run(clock: Clock, seconds: float, *, until: Callable[[], bool] | None = None) -> bool:
    """Advance *clock* by *seconds*, event by event; stop early once *until()* is true.

    Returns True if *until* became true (always False without one).
    """
    end = clock.seconds() + seconds
    while True:
        if until is not None and until():
            return True
        calls = clock.calls
        if not calls or calls[0].getTime() > end:
            break
        clock.advance(max(0.0, calls[0].getTime() - clock.seconds()))
    clock.advance(max(0.0, end - clock.seconds()))
    return until is not None and until()
