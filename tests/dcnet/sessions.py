"""DCNet sessions in virtual time: dcsim's front ends (with a session log, and the revival
zones served at the DNS address consoles are given) and consoles made of the client
cores, joined by in-memory connections from a given TCP peer."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from twisted.internet import task
from twisted.internet.address import IPv4Address as TcpAddress

from dcsim.client import wire
from dcsim.dcnet.bba_client import BbaClientConfig
from dcsim.dcnet.ethernet_client import EthernetClientSession
from dcsim.dcnet.frontends import DcnetFrontEnds
from dcsim.dcnet.internet import build_internet
from dcsim.dcnet.sessionlog import SessionLog, SessionRecord
from dcsim.dcnet.settings import DcnetSettings
from dcsim.dns.authority import Authority, Policy
from dcsim.dns.zone import Zones
from dcsim.net.clock import run
from dcsim.net.network import Network
from dcsim.ppp.auth import Login
from dcsim.ppp.client import PppClientSession
from dcsim.ppp.link import client_config
from dcsim.ppp.settings import PppSettings
from dcsim.settings import Settings

FLYCAST = Login("flycast1", "password")


@dataclass
class Dcnet:
    """dcsim's DCNet front ends on a clock, logging every session."""

    ppp: PppSettings = field(default_factory=PppSettings)
    clock: task.Clock = field(default_factory=task.Clock)

    def __post_init__(self) -> None:
        zones = Zones.load(Path(__file__).resolve().parents[2] / "configs" / "zones")
        internet = build_internet(self.clock, Settings(), Authority(zones, Policy()))
        self.nas = internet.nas
        self.log = SessionLog()
        self.front = DcnetFrontEnds(
            self.clock, internet.nas, self.ppp, DcnetSettings(), session_log=self.log
        )
        self.consoles = Network(self.clock, seed=1)
        self._ports = iter(range(40000, 50000))

    def ppp_console(self, login: Login = FLYCAST, *, peer: str = "127.0.0.1") -> PppClientSession:
        """A console connecting to TCP 7654 from *peer* (a new source port each time)."""
        host = self.consoles.add_host(f"console-{next(self._ports)}")
        session = PppClientSession(host, client_config(login), random.Random(1))
        self.connect(session, self.front.ppp, peer)
        return session

    def bba_console(
        self, config: BbaClientConfig | None = None, *, peer: str = "127.0.0.1"
    ) -> EthernetClientSession:
        """A broadband adapter connecting to TCP 7655 from *peer*."""
        host = self.consoles.add_host(f"console-{next(self._ports)}")
        session = EthernetClientSession(host, config or BbaClientConfig(), random.Random(1))
        self.connect(session, self.front.ethernet, peer)
        return session

    def connect(self, console: object, server: object, peer: str) -> None:
        address = TcpAddress("TCP", peer, next(self._ports))
        wire.connect(self.clock, console, server.buildProtocol(address), ("console", "dcnet"))  # type: ignore[arg-type, attr-defined]

    def run(self, seconds: float) -> None:
        run(self.clock, seconds)

    def record(self) -> SessionRecord:
        (record,) = self.log.records
        return record
