"""DCNet's Ethernet front end on Twisted: one :class:`BbaSession` per TCP 7655 connection."""

from __future__ import annotations

import random
from typing import Any

from twisted.logger import Logger

from dcsim.dcnet.bba import BbaConfig, BbaSession, Online
from dcsim.dcnet.ethernet import mac_text
from dcsim.pcap import LinkType
from dcsim.ppp.session import SubscriberServer, SubscriberSession
from dcsim.status.registry import SessionKind

log = Logger()


class EthernetServer(SubscriberServer[BbaConfig]):
    """The broadband adapter's access network: ARP, DHCP and IP to the NAS."""

    linktype = LinkType.ETHERNET
    kind = SessionKind.DCNET_ETHERNET
    name = "bba"

    def make_core(self, now: float, rng: random.Random) -> BbaSession:
        return BbaSession(self.config, now, pool=self.pool)

    def make_session(self, name: str, addr: object, rng: random.Random) -> EthernetSession:
        return EthernetSession(self, name, addr, rng)


class EthernetSession(SubscriberSession):
    def handle_event(self, event: Any) -> None:
        if isinstance(event, Online):
            self.attach(event.address, event.mtu)
            core = self.core
            if isinstance(core, BbaSession):
                if core.console_mac is not None:
                    self.mac = mac_text(core.console_mac)
                if core.dhcp.asked:
                    self.note_request("DHCP", "parameters " + core.dhcp.asked[0])
            log.info(
                "{session}: online as {address} ({how})",
                session=self.name,
                address=event.address,
                how="DHCP" if event.dhcp else "static address",
            )
