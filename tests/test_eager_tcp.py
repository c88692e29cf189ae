"""TCP ports whose connections send during write(), on the real reactor over loopback."""

from __future__ import annotations

import hashlib

from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.testing import MemoryReactor
from twisted.trial import unittest

from dcsim.eager_tcp import EagerServer, listen_tcp

BIG = bytes(range(256)) * (32 * 1024)  # 8 MiB: more than a loopback send buffer holds


class Collect(protocol.Protocol):
    def __init__(self) -> None:
        self.received = bytearray()
        self.closed: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: object = None) -> None:
        self.closed.callback(bytes(self.received))


class Script(protocol.Protocol):
    """Runs *script(transport)* once connected and reports its own end."""

    def __init__(self, script, made: defer.Deferred, lost: defer.Deferred) -> None:
        self.script, self.made, self.lost = script, made, lost

    def connectionMade(self) -> None:
        defer.maybeDeferred(self.script, self.transport).chainDeferred(self.made)

    def connectionLost(self, reason: object = None) -> None:
        self.lost.callback(type(reason.value))  # type: ignore[union-attr]


class EagerTcpTests(unittest.TestCase):
    timeout = 30

    def serve(self, script, interface="127.0.0.1") -> tuple[int, defer.Deferred, defer.Deferred]:
        made: defer.Deferred = defer.Deferred()
        lost: defer.Deferred = defer.Deferred()
        factory = protocol.Factory.forProtocol(lambda: Script(script, made, lost))
        port = listen_tcp(reactor, 0, factory, interface=interface)
        self.addCleanup(port.stopListening)
        return port.getHost().port, made, lost

    def connect(self, number: int) -> defer.Deferred[Collect]:
        return connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", number), Collect())

    @defer.inlineCallbacks
    def test_a_small_write_leaves_at_once_and_nothing_waits_for_the_reactor(self):
        def script(transport):
            assert isinstance(transport, EagerServer)
            transport.write(b"\x17hello")
            queued = (transport.dataBuffer, transport._tempDataBuffer)
            writing = transport in reactor.getWriters()
            transport.loseConnection()
            return (*queued, writing)

        number, made, lost = self.serve(script)
        client = yield self.connect(number)
        queued = yield made
        self.assertEqual(queued, (b"", [], False))
        received = yield client.closed
        self.assertEqual(received, b"\x17hello")
        yield lost

    @defer.inlineCallbacks
    def test_what_the_kernel_does_not_take_follows_in_order(self):
        def script(transport):
            transport.write(b"first ")
            transport.write(BIG)  # partly sent now, the rest queued
            transport.writeSequence([b" then", b" these"])
            transport.write(b" and last")  # queued behind the rest, never ahead of it
            queued = transport._tempDataBuffer or transport.dataBuffer
            transport.loseConnection()
            return bool(queued)

        number, made, lost = self.serve(script)
        client = yield self.connect(number)
        self.assertTrue((yield made))
        received = yield client.closed
        expected = b"first " + BIG + b" then these and last"
        self.assertEqual(len(received), len(expected))
        self.assertEqual(hashlib.sha256(received).digest(), hashlib.sha256(expected).digest())
        yield lost

    @defer.inlineCallbacks
    def test_a_write_to_a_reset_peer_ends_the_connection_without_an_error(self):
        client_gone: defer.Deferred = defer.Deferred()

        def script(transport):
            return transport

        number, made, lost = self.serve(script)
        client = yield self.connect(number)
        server_transport = yield made
        client.closed.addCallback(client_gone.callback)
        client.transport.abortConnection()  # RST
        yield client_gone
        for _ in range(3):  # the first may still be accepted; then EPIPE/ECONNRESET
            server_transport.write(b"x" * 1024)
        yield lost  # the reactor noticed and closed it: connectionLost, no exception

    @defer.inlineCallbacks
    def test_the_local_address_is_the_sockets_own(self):
        def script(transport):
            socket_name = transport.socket.getsockname()
            transport.loseConnection()
            return transport.getHost(), socket_name

        for interface in ("127.0.0.1", "0.0.0.0"):  # from the port; from getsockname()
            number, made, lost = self.serve(script, interface)
            client = yield self.connect(number)
            host, socket_name = yield made
            self.assertEqual((host.type, host.host, host.port), ("TCP", *socket_name))
            self.assertEqual(host.port, number)
            yield client.closed
            yield lost

    def test_other_reactors_listen_their_own_way(self):
        memory = MemoryReactor()
        factory = protocol.Factory.forProtocol(protocol.Protocol)
        listen_tcp(memory, 9200, factory, backlog=7, interface="192.0.2.20")
        self.assertEqual(memory.tcpServers, [(9200, factory, 7, "192.0.2.20")])
