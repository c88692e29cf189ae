"""The reactor dcsim's commands run on: Twisted's epoll reactor, without the legacy
logging context around each event.

Twisted's pollers hand every ready descriptor to it through ``log.callWithLogger``,
which asks the descriptor for its ``logPrefix()`` and runs the handler inside a new
context (a dict copied and pushed, popped afterwards) so that legacy ``log.msg`` calls
made meanwhile carry it as their "system". dcsim logs through ``twisted.logger`` with
its own namespaces and never shows that field, and for a server of many short
exchanges the context costs about a tenth of the CPU time (``make bench``, pso: 1,810
logins per CPU-second with it, 2,010 without, the same code otherwise).

:class:`EPollReactor` dispatches each event straight to ``_doReadOrWrite``, which
already logs an exception from ``doRead``/``doWrite`` and disconnects that descriptor;
anything escaping it (a ``connectionLost`` that raises) is logged and the loop goes
on, as ``callWithLogger`` does. Everything else is Twisted's.
"""

from __future__ import annotations

import sys
from typing import Any

from dcsim.log import Logger

log = Logger(namespace="dcsim.reactor")

try:
    from twisted.internet import epollreactor
except ImportError:  # no epoll (not Linux): Twisted's default reactor is used
    epollreactor = None  # type: ignore[assignment]


if epollreactor is not None:

    class EPollReactor(epollreactor.EPollReactor):
        def doPoll(self, timeout: float | None) -> None:
            selectables = self._selectables
            try:
                ready = self._poller.poll(-1 if timeout is None else timeout, len(selectables))
            except InterruptedError:  # as Twisted's; any other error is a bug, raised
                return
            handle = self._doReadOrWrite
            for fd, event in ready:
                # An earlier event of this batch may have removed it.
                selectable = selectables.get(fd)
                if selectable is None:
                    continue
                try:
                    handle(selectable, fd, event)
                except KeyboardInterrupt:
                    raise
                except BaseException:
                    log.failure("while handling {selectable}", selectable=selectable)

        doIteration = doPoll


def install() -> None:
    """Install :class:`EPollReactor` as the global reactor (``twistd --reactor
    dcsim-epoll`` calls this before anything imports a reactor)."""
    if epollreactor is None:
        raise ImportError("dcsim's reactor needs epoll, which this system does not have")
    from twisted.internet.main import installReactor

    installReactor(EPollReactor())


def global_reactor() -> Any:
    """The global reactor for a command to run on: :class:`EPollReactor`, installed
    now, unless a reactor is installed already (twistd's, a test's) or epoll is missing;
    then that one."""
    if epollreactor is not None and "twisted.internet.reactor" not in sys.modules:
        install()
    from twisted.internet import reactor

    return reactor
