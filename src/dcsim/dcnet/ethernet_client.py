"""The broadband adapter on Twisted: a :class:`~dcsim.dcnet.bba_client.BbaClient` on a
connection to DCNet's TCP 7655, and the console as a host of the virtual internet once it
has an address (an ``eth0`` interface and a default route through its router), exactly as
:mod:`dcsim.ppp.client` does for dial-up."""

from __future__ import annotations

import random
from typing import Any

from dcsim.dcnet.bba_client import BbaClient, BbaClientConfig, EthernetUp
from dcsim.net.host import VirtualHost
from dcsim.ppp.client import HostLinkFactory, HostLinkSession

INTERFACE = "eth0"


class EthernetClientSession(HostLinkSession):
    """The console's adapter. ``up`` fires with :class:`EthernetUp`, ``ended`` with
    :class:`~dcsim.ppp.link.LinkEnded`; :meth:`hang_up` releases the lease first."""

    interface_name = INTERFACE
    ended_on_close = True

    def __init__(self, host: VirtualHost, config: BbaClientConfig, rng: random.Random) -> None:
        super().__init__(host, rng)
        self.config = config

    def make_core(self, now: float) -> BbaClient:
        return BbaClient(self.config, now, rng=self.rng)

    def handle_event(self, event: Any) -> None:
        if isinstance(event, EthernetUp):
            self.go_online(event.interface, event.mtu, event.router, event)


class EthernetClientFactory(HostLinkFactory):
    """Connect one broadband adapter (``connectTCP`` to a DCNet Ethernet port); ``up``
    fires with :class:`EthernetUp`."""

    def make_session(self, rng: random.Random) -> EthernetClientSession:
        return EthernetClientSession(self.host, self.config, rng)
