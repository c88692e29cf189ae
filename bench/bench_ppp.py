"""PPP: frames per CPU-second through deframer, dispatch and framer; the cost of a whole
link set-up; TCP payload end to end over PPP sessions; memory of 1,000 DCNet sessions.

Targets (issue 5): one core carries 1,000 simultaneous modem-speed sessions (33.6 kbit/s
each, 4,200 bytes a second) of TCP payload end to end, and 1,000 concurrent DCNet
connections stay under 100 MB. There is no other PPP implementation that runs here
without kernel PPP, so the peer figure is scapy's PPP dissector (decoding only).
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
from ipaddress import IPv4Address

from tests.ppp.helpers import online_client
from twisted.internet import protocol, task

from bench.report import Report, rate
from dcsim.dcnet.frontends import DcnetFrontEnds
from dcsim.dcnet.internet import build_internet
from dcsim.dcnet.settings import DcnetSettings
from dcsim.net.clock import run as run_clock
from dcsim.net.network import Network
from dcsim.ppp import frame
from dcsim.ppp.auth import Login
from dcsim.ppp.client import PppClientFactory
from dcsim.ppp.hdlc import encode_frame
from dcsim.ppp.lcp import AuthProtocol, LcpConfig
from dcsim.ppp.link import PppLink, client_config, server_config
from dcsim.ppp.pool import AddressPool
from dcsim.ppp.server import AccessServer
from dcsim.ppp.settings import PppSettings
from dcsim.settings import Settings

MODEM_BYTES_PER_SECOND = 33_600 / 8
NAS = IPv4Address("198.51.100.1")
POOL = "198.51.100.128/25"
LOGIN = Login("flycast1", "password")
RECEIVED = "576-byte frames received (deframe, FCS, dispatch)"
SCAPY = "scapy HDLC/PPP/IP dissection (no deframing)"


def _pair() -> tuple[PppLink, PppLink]:
    from ipaddress import IPv4Network

    server = PppLink(
        server_config(
            lcp=LcpConfig(authenticate_with=(AuthProtocol.PAP,), passive=True),
            local_address=NAS,
            dns=(IPv4Address("192.0.2.53"),),
        ),
        0.0,
        rng=random.Random(0),
        pool=AddressPool(IPv4Network(POOL)),
    )
    client = PppLink(client_config(LOGIN), 0.0, rng=random.Random(1))
    for _ in range(20):
        a, b = client.data_to_send(), server.data_to_send()
        if not a and not b:
            break
        if a:
            server.receive_data(a, 0.0)
        if b:
            client.receive_data(b, 0.0)
    assert server.network_up and client.network_up
    list(server.events()), list(client.events())
    return server, client


def frames(report: Report) -> None:
    server, _ = _pair()
    datagram = bytes.fromhex("4500024000010000401e0000c6336481c0000214") + bytes(556)
    burst_size = 100
    burst = encode_frame(frame.encode(0x21, datagram, acfc=True, pfc=True), accm=0) * burst_size

    def receive() -> int:
        server.receive_data(burst, 1.0)
        n = sum(1 for _ in server.events())
        assert n == burst_size
        return burst_size

    def send() -> int:
        for _ in range(burst_size):
            server.send_datagram(datagram, 1.0)
        server.data_to_send()
        return burst_size

    received = rate(receive)
    sent = rate(send)
    report.add("ppp", RECEIVED, received, "frames/s")
    report.add("ppp", "576-byte frames sent (frame, escape, FCS)", sent, "frames/s")
    per_session = MODEM_BYTES_PER_SECOND / 576
    both = 1 / (1 / received + 1 / sent)
    report.add("ppp", "modem sessions one core frames (both ways)", both / per_session, "sessions")
    try:
        from scapy.layers.ppp import HDLC
    except ImportError:
        return
    raw = b"\xff\x03\x00\x21" + datagram

    def scapy() -> int:
        for _ in range(burst_size):
            HDLC(raw)
        return burst_size

    report.add("ppp", SCAPY, rate(scapy), "frames/s")
    report.ratio(
        "ppp",
        RECEIVED,
        SCAPY,
        "x",
    )


def setup(report: Report) -> None:
    def one() -> int:
        _pair()
        return 1

    report.add("ppp", "link set-ups (LCP+PAP+IPCP, both ends)", rate(one), "set-ups/s")


def end_to_end(report: Report, sessions: int = 50, size: int = 64 * 1024) -> None:
    """*sessions* consoles dial in over PPP and each fetches *size* bytes over TCP from a
    server on the virtual internet; CPU time of the whole simulation."""
    clock = task.Clock()
    settings = Settings()
    internet = build_internet(clock, settings, None)
    server_host = internet.network.node("pso-login")
    payload = bytes(size)

    class Source(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.write(payload)
            self.transport.loseConnection()

    server_host.listenTCP(9100, protocol.Factory.forProtocol(Source))  # type: ignore[attr-defined]
    nas = internet.nas
    access = AccessServer(
        clock,
        nas,
        PppSettings(echo_interval=0).link_config(nas.address),
        AddressPool(nas.pool, exclude=[nas.address]),
    )
    from twisted.test import iosim

    received = [0]
    pumps = []

    class Sink(protocol.Protocol):
        def dataReceived(self, data: bytes) -> None:
            received[0] += len(data)

    start = time.process_time()
    for n in range(sessions):
        console = Network(clock).add_host(f"console{n}")
        factory = PppClientFactory(console, client_config(LOGIN), seed=n)
        server_proto = access.buildProtocol(None)
        client_proto = factory.buildProtocol(None)
        pumps.append(
            iosim.connect(
                server_proto,
                iosim.makeFakeServer(server_proto),
                client_proto,
                iosim.makeFakeClient(client_proto),
                greet=False,
                clock=clock,
            )
        )
        factory.up.addCallback(
            lambda _, c=console: c.connectTCP(
                "192.0.2.20", 9100, protocol.ClientFactory.forProtocol(Sink)
            )
        )
    loop = task.LoopingCall(lambda: [p.pump() for p in pumps])
    loop.clock = clock
    loop.start(0.01)
    run_clock(clock, 600, until=lambda: received[0] >= sessions * size)
    loop.stop()
    cpu = time.process_time() - start
    assert received[0] == sessions * size, received[0]
    throughput = received[0] / cpu
    report.add(
        "ppp", f"TCP payload over {sessions} PPP sessions, end to end", throughput / 1e6, "MB/s"
    )
    report.add(
        "ppp",
        "modem-speed sessions one core carries end to end",
        throughput / MODEM_BYTES_PER_SECOND,
        "sessions",
        "target 1,000",
    )


def memory(report: Report, connections: int = 1000) -> None:
    """*connections* DCNet PPP sessions, each online (LCP, PAP, IPCP done) and attached to
    the NAS: growth of the Python heap (tracemalloc; the clients are freed as they go)."""
    clock = task.Clock()
    settings = Settings()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    internet = build_internet(clock, settings, None)
    nas = internet.nas
    from ipaddress import IPv4Network

    nas.pool = IPv4Network("10.64.0.0/16")  # a pool big enough for every console
    front = DcnetFrontEnds(clock, nas, PppSettings(), DcnetSettings())
    held = []
    for n in range(connections):
        session = front.ppp.buildProtocol(None)
        _, transport = online_client(session, LOGIN, seed=n)
        held.append((session, transport))
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = (after - before) / 1e6
    report.add(
        "ppp",
        f"{connections} online DCNet PPP sessions, Python heap",
        total,
        "MB",
        "target < 100",
    )
    report.add("ppp", "per session", total * 1000 / connections, "kB")
    report.add("ppp", "heap peak while they came up", (peak - before) / 1e6, "MB")


def run(report: Report) -> None:
    frames(report)
    setup(report)
    end_to_end(report)
    memory(report)
