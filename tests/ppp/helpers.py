"""Two PPP links back to back (h11's ConnectionPair habit), in virtual time."""

from __future__ import annotations

import random
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from twisted.internet.testing import StringTransport

from dcsim.ppp import frame
from dcsim.ppp.auth import Login
from dcsim.ppp.hdlc import Deframer, encode_frame
from dcsim.ppp.lcp import AuthProtocol, LcpConfig
from dcsim.ppp.link import LinkConfig, LinkEvent, PppLink, client_config, server_config
from dcsim.ppp.packet import ControlPacket, Option, pack_options
from dcsim.ppp.pool import AddressPool

NAS = IPv4Address("198.51.100.1")
DNS = IPv4Address("192.0.2.53")
DNS2 = IPv4Address("198.51.100.53")
POOL = IPv4Network("198.51.100.128/25")
FLYCAST = Login("flycast1", "password")


def pool() -> AddressPool:
    return AddressPool(POOL)


def nas_config(**kwargs: object) -> LinkConfig:
    """The access server as dcsim runs it for Flycast: passive, PAP, our DNS."""
    kwargs.setdefault("lcp", LcpConfig(authenticate_with=(AuthProtocol.PAP,), passive=True))
    kwargs.setdefault("local_address", NAS)
    kwargs.setdefault("dns", (DNS,))
    return server_config(**kwargs)


class LinkPair:
    def __init__(
        self,
        server: LinkConfig | None = None,
        client: LinkConfig | None = None,
        *,
        seed: int = 0,
        addresses: AddressPool | None = None,
    ) -> None:
        self.now = 0.0
        self.pool = addresses or pool()
        self.server = PppLink(server or nas_config(), 0.0, rng=random.Random(seed), pool=self.pool)
        self.client = PppLink(client or client_config(FLYCAST), 0.0, rng=random.Random(seed + 1))
        self.server_events: list[LinkEvent] = []
        self.client_events: list[LinkEvent] = []
        self.wire_to_client: list[bytes] = []  # everything the server sent, in order
        self.wire_to_server: list[bytes] = []

    def pump(self) -> None:
        for _ in range(1000):
            to_server = self.client.data_to_send()
            to_client = self.server.data_to_send()
            self.server_events += self.server.events()
            self.client_events += self.client.events()
            if not to_server and not to_client:
                return
            if to_server:
                self.wire_to_server.append(to_server)
                self.server.receive_data(to_server, self.now)
            if to_client:
                self.wire_to_client.append(to_client)
                self.client.receive_data(to_client, self.now)
        raise AssertionError("the links never went quiet")

    def run_until(self, t: float) -> None:
        self.pump()
        while True:
            deadlines = [d for d in (self.server.deadline(), self.client.deadline()) if d]
            if not deadlines or min(deadlines) > t:
                break
            self.now = max(self.now, min(deadlines))
            self.server.handle_timer(self.now)
            self.client.handle_timer(self.now)
            self.pump()
        self.now = t

    def up(self) -> LinkPair:
        self.pump()
        assert self.server.network_up and self.client.network_up, (
            self.server_events,
            self.client_events,
        )
        return self

    def of(self, kind: type, side: str = "server") -> list:
        events = self.server_events if side == "server" else self.client_events
        return [e for e in events if isinstance(e, kind)]


def control(protocol: int, code: int, identifier: int, data: bytes = b"") -> bytes:
    """One framed control packet as a peer would send it (full headers, all escaped)."""
    information = ControlPacket(code, identifier, data).pack()
    return encode_frame(frame.encode(protocol, information))


def configure(protocol: int, code: int, identifier: int, options: Sequence[Option]) -> bytes:
    return control(protocol, code, identifier, pack_options(options))


def frames_of(wire: bytes) -> list[tuple[int, ControlPacket | bytes]]:
    """Decode what a link sent: (protocol, control packet or raw information)."""
    out: list[tuple[int, ControlPacket | bytes]] = []
    for raw in Deframer().feed(wire):
        protocol, information = frame.decode(raw)
        if protocol & 0x8000 or protocol in (0xC021, 0xC023, 0xC223):
            out.append((protocol, ControlPacket.parse(information)))
        else:
            out.append((protocol, information))
    return out


def online_client(server: Any, login: Login = FLYCAST, seed: int = 1) -> tuple[PppLink, Any]:
    """A console's PPP link brought online against *server*, a Twisted protocol of the
    access server (a DCNet front end's), over a ``StringTransport``: (link, transport)."""
    transport = StringTransport()
    server.makeConnection(transport)
    client = PppLink(client_config(login), 0.0, rng=random.Random(seed))
    for _ in range(20):
        out = client.data_to_send()
        if out:
            server.dataReceived(out)
        back = transport.value()
        transport.clear()
        if back:
            client.receive_data(back, 0.0)
        if not out and not back:
            break
    assert server.port is not None, "the session did not come online"
    return client, transport
