"""The virtual internet: TCP payload throughput, packets through a router, codec speed.

Figures are per CPU-second of this process, simulation included (links, routing, both TCP
ends, Twisted transports, ``task.Clock``). The issue's target is 10 MB/s of TCP payload
on one core; one 33.6 kbit/s modem line carries 4,200 bytes a second.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Address

from twisted.internet import protocol, task

from bench.report import Report, rate
from dcsim.net.clock import run as run_clock
from dcsim.net.network import Network
from dcsim.net.wire import Ipv4Repr, TcpRepr, ipv4

MODEM_BYTES_PER_SECOND = 33_600 / 8
TRANSFER = 20 * 1024 * 1024


def _three(latency: float = 0.001):
    clock = task.Clock()
    net = Network(clock)
    a, r, b = net.add_host("a"), net.add_router("r"), net.add_host("b")
    net.link(a, r, "10.0.0.2/24", "10.0.0.1/24", latency=latency)
    net.link(r, b, "10.0.1.1/24", "10.0.1.2/24", latency=latency)
    net.build_routes()
    return clock, a, r, b


class _Count(protocol.Protocol):
    def __init__(self, received: list[int]) -> None:
        self.received = received

    def dataReceived(self, data: bytes) -> None:
        self.received[0] += len(data)


class _Source(protocol.Protocol):
    """Writes TRANSFER bytes as a pull producer, then closes."""

    chunk = bytes(65536)

    def connectionMade(self) -> None:
        self.left = TRANSFER
        self.transport.registerProducer(self, False)

    def resumeProducing(self) -> None:
        if self.left <= 0:
            self.transport.unregisterProducer()
            self.transport.loseConnection()
            return
        self.left -= len(self.chunk)
        self.transport.write(self.chunk)

    def stopProducing(self) -> None:
        pass


def tcp_throughput() -> float:
    """Payload bytes per CPU-second for one bulk transfer a -> r -> b."""
    clock, a, _, b = _three()
    received = [0]
    b.listenTCP(80, protocol.Factory.forProtocol(lambda: _Count(received)))
    a.connectTCP("10.0.1.2", 80, protocol.ClientFactory.forProtocol(_Source))
    start = time.process_time()
    run_clock(clock, 3600, until=lambda: received[0] >= TRANSFER)
    elapsed = time.process_time() - start
    return received[0] / elapsed


def loopback_throughput() -> float:
    """The same transfer through Twisted and the kernel's loopback TCP (this process's CPU,
    user and system, as the kernel's TCP work is done on its behalf)."""
    from twisted.internet.selectreactor import SelectReactor

    reactor = SelectReactor()
    received = [0]
    port = reactor.listenTCP(
        0, protocol.Factory.forProtocol(lambda: _Count(received)), interface="127.0.0.1"
    )
    reactor.connectTCP(
        "127.0.0.1", port.getHost().port, protocol.ClientFactory.forProtocol(_Source)
    )
    start = time.process_time()
    deadline = time.monotonic() + 60
    while received[0] < TRANSFER and time.monotonic() < deadline:
        reactor.iterate(0.01)
    elapsed = time.process_time() - start
    port.stopListening()
    reactor.disconnectAll()
    return received[0] / elapsed


def router_pps() -> float:
    clock, a, _r, b = _three(latency=0.0)
    b.handlers[253] = lambda dg, iface: None
    dst = IPv4Address("10.0.1.2")
    payload = bytes(512)
    batch = 2000

    def work() -> int:
        for _ in range(batch):
            a.send(253, dst, payload)
        clock.advance(0)
        return batch

    return rate(work)


SRC, DST = IPv4Address("192.0.2.1"), IPv4Address("198.51.100.130")
SEGMENT = Ipv4Repr(SRC, DST, 6, df=True).emit(
    TcpRepr(1234, 80, 1000, 2000, 0x10, 65535, bytes(1460)).emit(SRC, DST)
)


def dcsim_codec() -> int:
    for _ in range(1000):
        header, payload = ipv4.parse(SEGMENT)
        seg = TcpRepr.parse(payload, header.src, header.dst)
        header.emit(seg.emit(header.src, header.dst))
    return 1000


def run(report: Report) -> None:
    mbps = tcp_throughput() / 1e6
    report.add("net", "dcsim TCP payload, 2 hosts + router", mbps, "MB/s")
    report.add("net", "Twisted over kernel loopback TCP", loopback_throughput() / 1e6, "MB/s")
    report.ratio(
        "net", "dcsim TCP payload, 2 hosts + router", "Twisted over kernel loopback TCP", "x"
    )
    report.add(
        "net",
        "modem lines carried (33.6 kbit/s each)",
        mbps * 1e6 / MODEM_BYTES_PER_SECOND,
        "lines",
    )
    report.add("net", "datagrams through one router", router_pps(), "packets/s")
    report.add("net", "dcsim parse+emit IPv4/TCP 1500 B", rate(dcsim_codec), "segments/s")
    try:
        import dpkt  # not a dependency: measured when installed
    except ImportError:
        report.add("net", "dpkt parse+emit IPv4/TCP 1500 B", 0, "segments/s", "not installed")
    else:

        def dpkt_codec() -> int:
            for _ in range(1000):
                packet = dpkt.ip.IP(SEGMENT)
                packet.sum = packet.data.sum = 0  # recompute both checksums, as dcsim does
                bytes(packet)
            return 1000

        report.add("net", "dpkt parse+emit IPv4/TCP 1500 B", rate(dpkt_codec), "segments/s")
    try:
        from scapy.layers.inet import IP
    except ImportError:
        report.add("net", "scapy parse+emit IPv4/TCP 1500 B", 0, "segments/s", "not installed")
        return

    def scapy_codec() -> int:
        for _ in range(100):
            bytes(IP(SEGMENT))  # scapy re-emits what it parsed
        return 100

    report.add("net", "scapy parse+emit IPv4/TCP 1500 B", rate(scapy_codec), "segments/s")
    report.ratio("net", "dcsim parse+emit IPv4/TCP 1500 B", "scapy parse+emit IPv4/TCP 1500 B", "x")
