"""dcsim's servers as things that start and stop, for the subcommands and for twistd.

Every long-running subcommand (``dcsim dns``, ``auth``, ``pso``, ``dcnet``, ``modem``,
``up``) builds a :class:`Server` from the settings and hands it to :func:`serve`; the
twistd plugin (``twistd -n dcsim``) and the application files in ``servers/*.tac`` build
the very same object and wrap it in a :class:`ServerService`. So what listens, and how
it stops, is written once.

Building a server opens databases, loads zones and certificates: mistakes there are
reported before anything listens. :meth:`Server.start` opens every socket or none.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, Protocol

from twisted.application.service import Application, Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger

from dcsim.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Failed, UsageError
from dcsim.config import ConfigError, load
from dcsim.settings import Settings

log = Logger()

CONFIG_VARIABLE = "DCSIM_CONFIG"


class Server(Protocol):
    def start(self) -> list[str]:
        """Open every socket, or none and raise :class:`~dcsim.cli.Failed` (a port in use)
        naming the address and the setting that moves it. Returns what to tell the user:
        one line per address listened on (and how to use it)."""
        ...

    def stop(self) -> Deferred[Any] | None:
        """End sessions politely and close sockets and databases; a Deferred that fires
        when done, or None when it is done at once."""
        ...


def serve(server: Server, reactor: Any, announce: Callable[[str], None] | None = None) -> int:
    """Run *server* on the real *reactor* until interrupted (a subcommand's ``run``).

    *announce* tells the user each line :meth:`Server.start` returns (default: print it
    on standard output). Ctrl-C stops the server and waits for its Deferred."""
    for line in server.start():
        (announce or _print)(line)
    reactor.addSystemEventTrigger("before", "shutdown", server.stop)
    reactor.run()
    return EXIT_OK


def _print(line: str) -> None:
    print(line, flush=True)


class ServerService(Service):
    """A :class:`Server` as a Twisted service: ``startService`` starts it and logs what
    is listening; ``stopService`` returns the server's Deferred, so twistd waits for the
    polite hang-ups before the reactor stops.

    A server that cannot start (a port in use) is one critical log line, then the process
    exits with status 1: twistd would otherwise print a traceback."""

    def __init__(self, name: str, server: Server) -> None:
        self.setName(name)
        self.server = server

    def startService(self) -> None:
        super().startService()
        try:
            lines = self.server.start()
        except (Failed, UsageError, ConfigError) as e:
            self.running = 0
            log.critical("dcsim: {error}", error=str(e))
            usage = isinstance(e, UsageError | ConfigError)
            raise SystemExit(EXIT_USAGE if usage else EXIT_FAILED) from None
        for line in lines:
            log.info("{line}", line=line)

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        return maybeDeferred(self.server.stop)


def settings_from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings file named by ``$DCSIM_CONFIG``, or the defaults when it is unset."""
    path = (os.environ if environ is None else environ).get(CONFIG_VARIABLE)
    return load(Path(path), Settings) if path else Settings()


def or_exit(make: Callable[[], Any]) -> Any:
    """*make()*; a user mistake becomes one line on standard error and the exit status of
    ``dcsim`` (2 for configuration and usage, 1 for a reported failure), never a
    traceback. For code that runs before twistd starts logging (plugin, .tac files)."""
    try:
        return make()
    except (ConfigError, UsageError) as e:
        _exit(str(e), EXIT_USAGE)
    except Failed as e:
        _exit(str(e), EXIT_FAILED)


def _exit(message: str, status: int) -> NoReturn:
    print(f"dcsim: {message}", file=sys.stderr, flush=True)
    raise SystemExit(status)


MakeServer = Callable[[Settings, Any], Server]


def application(name: str, make: MakeServer) -> Any:
    """The ``application`` of a ``servers/*.tac`` file: the server *make* builds from the
    ``$DCSIM_CONFIG`` settings (or the defaults), on the global reactor, as a service."""
    from twisted.internet import reactor  # twistd's reactor: a .tac file is an edge

    server = or_exit(lambda: make(settings_from_environment(), reactor))
    app = Application(f"dcsim-{name}")
    ServerService(name, server).setServiceParent(app)
    return app
