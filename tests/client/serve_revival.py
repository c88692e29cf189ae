"""A revival world on the real reactor, reachable on real sockets: a fake modem whose
calls go to the PPP access server, and DCNet's PPP port. Run as
``python -m tests.client.serve_revival DATA_DIR``; prints ``modem PORT`` and
``dcnet PORT`` once listening, and serves until killed."""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.internet import reactor

from dcsim.client.revival import revival_world
from dcsim.client.settings import ConsoleSettings
from dcsim.modem.protocol import ModemFactory


def main() -> None:
    world = revival_world("dialup", ConsoleSettings(), Path(sys.argv[1]), clock=reactor)
    assert world.modem_setup is not None and world.access_server is not None
    modem = reactor.listenTCP(0, ModemFactory(world.modem_setup), interface="127.0.0.1")
    dcnet = reactor.listenTCP(0, world.access_server, interface="127.0.0.1")
    print(f"modem {modem.getHost().port}", flush=True)
    print(f"dcnet {dcnet.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
