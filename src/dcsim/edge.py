"""The one timer of a Twisted edge: a single ``IDelayedCall`` kept at a sans-IO core's
deadline.

Every edge that drives a core (PPP, TLS, the modem, DNS over TCP, the PSO server, the
virtual Dreamcast's dialler, TCP on a virtual host) asks the core for its ``deadline()``
after each pump and calls :meth:`DeadlineTimer.at` with it. The protocols differ in how
they pump (one pass, or until the events stop; what a write may re-enter), so what they
share is this: ``None`` cancels the call, the same deadline leaves it alone, another one
moves it (never two calls pending), and when it fires the owner is told which deadline
it was for.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IDelayedCall, IReactorTime


class DeadlineTimer:
    """One delayed call on *clock* that runs ``fire(deadline)`` at the deadline last given
    to :meth:`at`.

    The deadline passed to *fire* is the one the call was set for, which a
    ``task.Clock`` advanced in one big step reaches late: a core that must see the time it
    asked for takes it from there, the others read the clock.

    With ``lazy=True`` a deadline that moves later leaves the call where it is; it then
    fires early, the owner finds nothing due, pumps and calls :meth:`at` again. That
    suits a core whose deadline moves later on nearly every input (an idle timeout pushed
    on by each command): one early wake-up instead of a ``reset`` per packet.
    """

    __slots__ = ("_at", "_call", "clock", "fire", "lazy")

    def __init__(
        self, clock: IReactorTime, fire: Callable[[float], None], *, lazy: bool = False
    ) -> None:
        self.clock = clock
        self.fire = fire
        self.lazy = lazy
        self._call: IDelayedCall | None = None
        self._at = 0.0

    @property
    def deadline(self) -> float | None:
        """When the call is set to fire, or None when none is set."""
        return self._at if self._call is not None else None

    def at(self, deadline: float | None) -> None:
        """Keep the call at *deadline*; None cancels it."""
        if deadline is None:
            self.cancel()
            return
        call = self._call  # set only while pending: _fired and cancel clear it
        if call is not None:
            if deadline == self._at or (self.lazy and self._at <= deadline):
                return
            if deadline > self._at:
                call.reset(max(0.0, deadline - self.clock.seconds()))
                self._at = deadline
                return
            # Sooner: the reactor's reset() finds the call by a linear search of its
            # heap, a cost per session that grows with the number of sessions; a
            # cancelled call is only counted, and a new one is pushed in log time.
            call.cancel()
        self._call = self.clock.callLater(max(0.0, deadline - self.clock.seconds()), self._fired)
        self._at = deadline

    def cancel(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    def _fired(self) -> None:
        self._call = None
        self.fire(self._at)
