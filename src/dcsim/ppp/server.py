"""The PPP access server on Twisted: one :class:`PppSession` per call, made by an
:class:`AccessServer` factory.

The same factory serves every front end unchanged: a DCNet TCP listener (7654, 7656)
builds one session per accepted connection, and the fake modem builds one per call
after CONNECT (its answerer ``"ppp"``). A session puts the console on the virtual
internet through the NAS once IPCP is up, logs what the client asked for (client
profiles), can write a pcap of the link, and reports how the call ended, with Sega's
cause, to the server's observers.
"""

from __future__ import annotations

import random
from typing import Any

from twisted.logger import Logger

from dcsim.pcap import LinkType
from dcsim.ppp.frame import protocol_name
from dcsim.ppp.link import (
    AuthDone,
    LinkConfig,
    LinkOpened,
    NetworkDown,
    NetworkUp,
    PeerRequested,
    PppLink,
)
from dcsim.ppp.profile import describe_options
from dcsim.ppp.session import SubscriberServer, SubscriberSession
from dcsim.status.registry import State

log = Logger()


class AccessServer(SubscriberServer[LinkConfig]):
    """An ISP's PPP access server attached to a NAS of the virtual internet."""

    linktype = LinkType.PPP_WITH_DIR
    name = "ppp"

    def make_core(self, now: float, rng: random.Random) -> PppLink:
        return PppLink(self.config, now, rng=rng, pool=self.pool)

    def make_session(self, name: str, addr: object, rng: random.Random) -> PppSession:
        return PppSession(self, name, addr, rng)


class PppSession(SubscriberSession):
    """One call: a :class:`PppLink` between a transport and the NAS."""

    def handle_event(self, event: Any) -> None:
        if isinstance(event, PeerRequested):
            protocol = protocol_name(event.protocol)
            text = describe_options(event.protocol, event.options)
            self.note_request(protocol, text)
            log.info(
                "{session}: client asks {protocol} {options}",
                session=self.name,
                protocol=protocol,
                options=text,
            )
        elif isinstance(event, LinkOpened):
            log.debug("{session}: LCP open: {terms}", session=self.name, terms=event.terms)
            self.set_state(State.AUTH if event.terms.we_demand else State.IPCP)
        elif isinstance(event, AuthDone):
            outcome = event.outcome
            self.user = outcome.user
            if outcome.ok:
                self.set_state(State.IPCP)
            log.info(
                "{session}: {protocol} login {user!r}: {result}",
                session=self.name,
                protocol=outcome.protocol.name,
                user=outcome.user,
                result=outcome.failure.value if outcome.failure else "accepted",
            )
        elif isinstance(event, NetworkUp):
            self.attach(event.peer, event.mtu)
            log.info(
                "{session}: online as {address} (gateway {local}, DNS {dns}, MTU {mtu}{vj})",
                session=self.name,
                address=event.peer,
                local=event.local,
                dns=", ".join(str(a) for a in event.dns) or "none",
                mtu=event.mtu,
                vj=", VJ" if event.vj else "",
            )
        elif isinstance(event, NetworkDown):
            self.detach()
