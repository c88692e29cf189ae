"""TCP between virtual hosts through Twisted's own protocols and factories."""

from __future__ import annotations

import hashlib
import random

import pytest
from twisted.internet import error, protocol, task
from twisted.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from zope.interface import implementer

from dcsim.net.clock import run
from dcsim.net.network import Network
from dcsim.net.policy import Direction, Filter
from dcsim.net.tcp import TcpState


def pair(**link):
    clock = task.Clock()
    net = Network(clock, seed=7)
    a = net.add_host("a")
    r = net.add_router("r")
    b = net.add_host("b")
    net.link(a, r, "10.0.0.2/24", "10.0.0.1/24")
    net.link(r, b, "10.0.1.1/24", "10.0.1.2/24", **link)
    net.build_routes()
    return clock, net, a, r, b


class Sink(protocol.Protocol):
    def __init__(self):
        self.data = bytearray()
        self.reason = None
        self.made = False

    def connectionMade(self):
        self.made = True

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.reason = reason


class Sender(Sink):
    def __init__(self, payload):
        super().__init__()
        self.payload = payload

    def connectionMade(self):
        super().connectionMade()
        self.transport.write(self.payload)
        self.transport.loseConnection()


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Failing(protocol.ClientFactory):
    def __init__(self, proto=None):
        self.failed = None
        self.lost = None
        self.proto = proto

    def buildProtocol(self, addr):
        return self.proto

    def clientConnectionFailed(self, connector, reason):
        self.failed = reason

    def clientConnectionLost(self, connector, reason):
        self.lost = reason


def serve(host, port, proto_factory):
    built = []

    class F(protocol.Factory):
        def buildProtocol(self, addr):
            p = proto_factory()
            p.peer = addr
            built.append(p)
            return p

    host.listenTCP(port, F())
    return built


def test_echo_with_peer_and_host_addresses():
    clock, _, a, _, b = pair(latency=0.05)
    serve(b, 7, Echo)
    client = Sink()
    factory = Failing(client)
    connector = a.connectTCP("10.0.1.2", 7, factory)
    run(clock, 1, until=lambda: client.made)
    assert client.transport.getPeer().host == "10.0.1.2" and client.transport.getPeer().port == 7
    assert client.transport.getHost().host == "10.0.0.2"
    assert connector.getDestination().port == 7
    client.transport.write(b"hello ")
    client.transport.writeSequence([b"dreamcast"])
    run(clock, 1)
    assert bytes(client.data) == b"hello dreamcast"
    client.transport.loseConnection()
    run(clock, 1)
    assert client.reason.check(error.ConnectionDone)
    assert factory.lost.check(error.ConnectionDone)


def test_a_closed_port_refuses_and_an_absent_host_times_out():
    clock, _, a, _, _b = pair()
    refused = Failing(Sink())
    a.connectTCP("10.0.1.2", 81, refused)
    run(clock, 1)
    assert refused.failed.check(error.ConnectionRefusedError)
    silent = Failing(Sink())
    a.connectTCP("10.0.1.99", 80, silent, timeout=30)
    run(clock, 29)
    assert silent.failed is None
    run(clock, 2)
    assert silent.failed.check(error.TimeoutError)


def test_unknown_names_and_unroutable_addresses_fail_cleanly():
    clock, net, a, _, _ = pair()
    by_name = Failing(Sink())
    a.connectTCP("nowhere.example", 80, by_name)
    lone = net.add_host("lone")
    no_route = Failing(Sink())
    lone.connectTCP("10.0.1.2", 80, no_route)
    run(clock, 1)
    assert by_name.failed.check(error.DNSLookupError)
    assert no_route.failed.check(error.NoRouteError)


def test_syn_retries_give_up_with_tcp_timed_out():
    clock, _, a, _, _ = pair()
    factory = Failing(Sink())
    a.connectTCP("10.0.1.99", 80, factory, timeout=None)
    run(clock, 1000)
    assert factory.failed.check(error.TCPTimedOutError)


@pytest.mark.parametrize("loss", [0.0, 0.05])
def test_one_mebibyte_over_a_lossy_200ms_link_arrives_intact(loss):
    clock, net, a, _, b = pair(latency=0.2, loss=loss)
    payload = random.Random(1).randbytes(1 << 20)
    servers = serve(b, 80, Sink)
    a.connectTCP("10.0.1.2", 80, Failing(Sender(payload)))
    done = run(clock, 3600, until=lambda: servers and servers[0].reason is not None)
    assert done, f"transfer stalled at {len(servers[0].data)} bytes"
    assert hashlib.sha256(servers[0].data).digest() == hashlib.sha256(payload).digest()
    assert servers[0].reason.check(error.ConnectionDone)
    if loss:
        assert net.links["r-b"].a_to_b.stats.lost + net.links["r-b"].b_to_a.stats.lost > 20


def test_abort_sends_rst_and_the_peer_sees_connection_lost():
    clock, _, a, _, b = pair()
    servers = serve(b, 80, Sink)
    client = Sink()
    a.connectTCP("10.0.1.2", 80, Failing(client))
    run(clock, 1, until=lambda: client.made)
    client.transport.abortConnection()
    run(clock, 1)
    assert client.reason.check(error.ConnectionAborted)
    assert servers[0].reason.check(error.ConnectionLost)
    assert a.tcp_connections() == [] and b.tcp_connections() == []


def test_the_active_closer_lingers_in_time_wait_for_two_msl():
    clock, _, a, _, b = pair()
    serve(b, 80, Echo)
    client = Sink()
    a.connectTCP("10.0.1.2", 80, Failing(client))
    run(clock, 1, until=lambda: client.made)
    client.transport.loseConnection()
    run(clock, 1)
    [conn] = a.tcp_connections()
    assert conn.core.state == TcpState.TIME_WAIT and b.tcp_connections() == []
    run(clock, 60)
    assert a.tcp_connections() == []


@implementer(IHalfCloseableProtocol)
class HalfClose(Sink):
    def readConnectionLost(self):
        self.transport.write(b"bye")
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass


def test_half_close():
    clock, _, a, _, b = pair()
    serve(b, 80, HalfClose)
    client = Sink()

    @implementer(IHalfCloseableProtocol)
    class Client(Sink):
        def connectionMade(self):
            self.transport.write(b"request")
            self.transport.loseWriteConnection()

        def readConnectionLost(self):
            self.transport.loseConnection()

        def writeConnectionLost(self):
            pass

    client = Client()
    a.connectTCP("10.0.1.2", 80, Failing(client))
    run(clock, 5)
    assert bytes(client.data) == b"bye"
    assert client.reason.check(error.ConnectionDone)


def test_a_paused_reader_closes_the_window_and_resumes_without_loss():
    clock, _, a, _, b = pair(latency=0.01)
    payload = random.Random(2).randbytes(300_000)
    servers = serve(b, 80, Sink)
    a.connectTCP("10.0.1.2", 80, Failing(Sender(payload)))
    run(clock, 0.05, until=lambda: bool(servers and servers[0].made))
    servers[0].transport.pauseProducing()
    run(clock, 30)
    held = len(servers[0].data)
    [conn] = b.tcp_connections()
    assert conn.core.recv_available == 65535  # the whole window, and no more
    run(clock, 60)
    assert len(servers[0].data) == held  # zero-window probes, nothing delivered
    servers[0].transport.resumeProducing()
    run(clock, 120, until=lambda: servers[0].reason is not None)
    assert bytes(servers[0].data) == payload


def test_a_streaming_producer_is_paused_and_resumed():
    clock, _, a, _, b = pair(latency=0.05, bandwidth=1_000_000)
    servers = serve(b, 80, Sink)

    @implementer(IPushProducer)
    class Producer:
        def __init__(self):
            self.paused = 0
            self.resumed = 0
            self.sent = 0

        def pauseProducing(self):
            self.paused += 1

        def resumeProducing(self):
            self.resumed += 1

        def stopProducing(self):
            pass

    client = Sink()
    a.connectTCP("10.0.1.2", 80, Failing(client))
    run(clock, 1, until=lambda: client.made)
    producer = Producer()
    client.transport.registerProducer(producer, True)
    client.transport.write(bytes(200_000))
    assert producer.paused == 1
    run(clock, 10)
    assert producer.resumed == 1
    client.transport.unregisterProducer()
    client.transport.loseConnection()
    run(clock, 10)
    assert len(servers[0].data) == 200_000


def test_the_backlog_limits_half_open_connections_and_frees_on_failure():
    clock, _net, a, r, b = pair()
    listener = b.listenTCP(80, protocol.Factory.forProtocol(Sink), backlog=2)
    # The client's SYN-ACKs are black-holed: three handshakes that never finish.
    r.interfaces["to-a"].policies.append(Filter(proto="tcp", direction=Direction.OUTBOUND))
    for _ in range(3):
        a.connectTCP("10.0.1.2", 80, Failing(Sink()), timeout=None)
    run(clock, 0.5)
    assert len(listener.pending) == 2 and b.drops["listen queue full"] == 1
    run(clock, 600)  # SYN-ACK retransmissions give up: the slots are free again
    assert listener.pending == set()


@pytest.mark.parametrize("seed", range(12))
def test_concurrent_echo_sessions_survive_random_paths(seed):
    """Seeded variety: latency, loss both ways, MTU, bandwidth and queue limits. Seed 1
    once deadlocked two ends that both retransmitted while ignoring each other's ACKs."""
    rng = random.Random(seed)
    clock = task.Clock()
    net = Network(clock, seed=seed)
    a, r, b = net.add_host("a"), net.add_router("r"), net.add_host("b")
    net.link(
        a,
        r,
        "10.0.0.2/24",
        "10.0.0.1/24",
        latency=rng.choice([0, 0.01, 0.2]),
        loss=rng.choice([0, 0.02, 0.1]),
    )
    net.link(
        r,
        b,
        "10.0.1.1/24",
        "10.0.1.2/24",
        latency=rng.choice([0, 0.05]),
        mtu=rng.choice([576, 1006, 1500]),
        bandwidth=rng.choice([None, 33600, 1e6]),
        queue_limit=rng.choice([5, 100]),
        loss=rng.choice([0, 0.05]),
    )
    net.build_routes()
    b.listenTCP(7, protocol.Factory.forProtocol(Echo))
    results = {}

    class Client(protocol.Protocol):
        def __init__(self, i, payload):
            self.i, self.payload, self.got = i, payload, bytearray()

        def connectionMade(self):
            self.transport.write(self.payload)

        def dataReceived(self, data):
            self.got += data
            if len(self.got) >= len(self.payload):
                results[self.i] = bytes(self.got) == self.payload
                self.transport.loseConnection()

    sessions = rng.randint(1, 6)
    for i in range(sessions):
        payload = rng.randbytes(rng.randint(1, 200_000))
        factory = protocol.ClientFactory.forProtocol(lambda i=i, p=payload: Client(i, p))
        a.connectTCP("10.0.1.2", 7, factory, timeout=None)
    assert run(clock, 7200, until=lambda: len(results) == sessions)
    assert all(results.values())
    run(clock, 300)  # TIME-WAIT over: nothing left behind
    assert a.tcp_connections() == [] and b.tcp_connections() == []
