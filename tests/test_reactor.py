"""dcsim's epoll reactor: every ready descriptor is handled, a failing one is logged and
the others go on, and the commands get it as the global reactor."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from twisted.internet.abstract import FileDescriptor

from dcsim.reactor import EPollReactor


class Reader(FileDescriptor):
    """Reads its end of a socket pair; *on_read* runs on each read."""

    def __init__(self, reactor, sock: socket.socket, on_read=None) -> None:
        super().__init__(reactor)
        self.sock = sock
        self.on_read = on_read
        self.received = b""

    def fileno(self) -> int:
        return self.sock.fileno()

    def doRead(self):
        self.received += self.sock.recv(100)
        if self.on_read is not None:
            self.on_read(self)
        return None


class Broken(Reader):
    """Fails while being disconnected: past ``_doReadOrWrite``'s own error handling."""

    def doRead(self):
        raise OSError("read failed")

    def connectionLost(self, reason):
        raise RuntimeError("connectionLost failed too")


@pytest.fixture
def reactor():
    r = EPollReactor()  # never run nor installed: iterated by hand
    yield r
    r._poller.close()


def pair(sockets: list) -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    sockets += [a, b]
    return a, b


@pytest.fixture
def sockets():
    made: list[socket.socket] = []
    yield made
    for s in made:
        s.close()


def test_each_ready_descriptor_is_read(reactor, sockets):
    readers = []
    for text in (b"one", b"two"):
        ours, theirs = pair(sockets)
        readers.append(Reader(reactor, ours))
        reactor.addReader(readers[-1])
        theirs.send(text)
    reactor.doIteration(1)
    assert [r.received for r in readers] == [b"one", b"two"]


def test_a_descriptor_removed_by_an_earlier_one_in_the_batch_is_skipped(reactor, sockets):
    first_end, first_peer = pair(sockets)
    second_end, second_peer = pair(sockets)
    second = Reader(reactor, second_end)
    first = Reader(reactor, first_end, on_read=lambda _: reactor.removeReader(second))
    reactor.addReader(first)
    reactor.addReader(second)
    first_peer.send(b"a")
    second_peer.send(b"b")
    reactor.doIteration(1)
    reactor.doIteration(0)
    assert first.received == b"a"
    assert second.received == b""  # epoll reported it ready, but it was gone by then


def test_a_failing_descriptor_is_logged_and_the_others_are_served(reactor, sockets, log_events):
    broken_end, broken_peer = pair(sockets)
    good_end, good_peer = pair(sockets)
    broken = Broken(reactor, broken_end)
    good = Reader(reactor, good_end)
    reactor.addReader(broken)
    reactor.addReader(good)
    broken_peer.send(b"x")
    good_peer.send(b"still here")
    reactor.doIteration(1)
    reactor.doIteration(0)
    assert good.received == b"still here"
    assert broken not in reactor.getReaders()
    failures = [
        e["log_failure"]
        for e in log_events
        if e.get("log_namespace") == "dcsim.reactor" and "log_failure" in e
    ]
    assert [str(f.value) for f in failures] == ["connectionLost failed too"]


def test_commands_run_on_it():
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dcsim.reactor import global_reactor; print(type(global_reactor()).__module__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "dcsim.reactor"


def test_a_reactor_installed_already_is_kept():
    from twisted.internet import reactor as installed

    from dcsim.reactor import global_reactor

    assert global_reactor() is installed
