"""The Twisted edge under task.Clock: answerers, the call transport, logs, profiles."""

from __future__ import annotations

import io
import json

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport

from dcsim.modem.answerers import TcpRelayFactory, builtin_answerers, parse_tcp, resolve
from dcsim.modem.calllog import CallLog, read_jsonl
from dcsim.modem.line import Entry, LineProfile, PhoneBook
from dcsim.modem.protocol import CallAddress, ModemFactory, ModemSetup
from dcsim.modem.store import ProfileStore
from tests.modemkit import FAST


class Recorder(Protocol):
    """An answerer that keeps what it saw."""

    def __init__(self) -> None:
        self.data = b""
        self.lost = None

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason=None) -> None:
        self.lost = reason


def make(clock=None, **setup_kw):
    clock = clock or Clock()
    recorders: list[Recorder] = []

    def build() -> Recorder:
        recorders.append(Recorder())
        return recorders[-1]

    answerers = {**builtin_answerers(), "rec": Factory.forProtocol(build)}
    setup = ModemSetup(
        setup_kw.pop("line", LineProfile(**FAST)),
        setup_kw.pop("book", PhoneBook(numbers={"7": Entry(answerer="rec")})),
        answerers,
        clock,
        **setup_kw,
    )
    modem = setup.protocol("test-modem")
    transport = StringTransport()
    modem.makeConnection(transport)
    return clock, modem, transport, recorders


def dial(clock, modem, transport, number: str) -> bytes:
    modem.dataReceived(f"ATE0\rATDT{number}\r".encode())
    clock.advance(30)
    said = transport.value()
    transport.clear()
    return said


def test_a_whole_dial_runs_under_task_clock_with_echo():
    clock, modem, transport, _ = make()
    assert dial(clock, modem, transport, "0355703001").endswith(b"\r\nCONNECT 33600\r\n")
    modem.dataReceived(b"ping")
    clock.advance(0.05)
    assert transport.value() == b"ping"


def test_the_answerer_sees_the_call_and_its_end():
    clock, modem, transport, recorders = make()
    dial(clock, modem, transport, "7")
    (far,) = recorders
    call = far.transport
    assert call.getHost() == CallAddress("7", 33600)
    assert call.getPeer() == CallAddress("test-modem", 33600)
    modem.dataReceived(b"\x7e\xff\x03")
    clock.advance(0.1)
    assert far.data == b"\x7e\xff\x03"
    call.write(b"hello")
    clock.advance(0.1)
    assert transport.value() == b"hello"
    clock.advance(2)
    modem.dataReceived(b"+++")
    clock.advance(1.5)
    modem.dataReceived(b"ATH\r")
    assert far.lost is not None and far.lost.check(ConnectionLost)


def test_far_end_lose_connection_is_no_carrier_and_connection_done():
    log_sink = io.StringIO()
    clock, modem, transport, recorders = make(call_log=CallLog(log_sink))
    dial(clock, modem, transport, "7")
    far = recorders[0]
    far.transport.write(b"bye")
    far.transport.loseConnection()
    clock.advance(5)
    assert transport.value() == b"bye\r\nNO CARRIER\r\n"
    assert far.lost.check(ConnectionDone)
    (record,) = read_jsonl(log_sink.getvalue().splitlines())
    assert record.hung_up_by.value == "far_end" and record.bytes_received == 3
    assert json.loads(log_sink.getvalue())["v"] == 1


def test_the_console_hanging_up_ends_the_call_and_cancels_timers():
    clock, modem, transport, recorders = make()
    dial(clock, modem, transport, "7")
    modem.connectionLost()
    assert recorders[0].lost.check(ConnectionLost)
    assert clock.getDelayedCalls() == []


def test_slow_far_end_is_paused_when_the_line_is_full():
    clock, modem, transport, recorders = make()
    dial(clock, modem, transport, "7")
    call = recorders[0].transport

    class Producer:
        paused = 0

        def pauseProducing(self):
            self.paused += 1

        def resumeProducing(self):
            self.paused -= 1

        def stopProducing(self):
            pass

    producer = Producer()
    call.registerProducer(producer, True)
    call.write(b"x" * 20000)
    assert producer.paused == 1
    clock.pump([0.1] * 60)  # about 4200 bytes a second drain the queue
    assert producer.paused == 0


def test_stored_profiles_survive_a_restart(tmp_path):
    store = ProfileStore(tmp_path / "profiles.json")
    _, modem, _, _ = make(store=store)
    modem.dataReceived(b"ATX3&W0&Z0=0120333906\r")
    assert store.load().profiles[0]["xlevel"] == 3
    _, again, transport2, _ = make(store=store)
    assert again.engine.cfg.xlevel == 3
    again.dataReceived(b"ATE0&V\r")
    assert b"&Z0=0120333906" in transport2.value()


def test_tcp_listener_factory_names_each_modem():
    setup = ModemSetup(LineProfile(), PhoneBook(), builtin_answerers(), Clock())

    class Addr:
        host, port = "127.0.0.1", 40000

    modem = ModemFactory(setup).buildProtocol(Addr())
    assert modem.engine.name == "tcp:127.0.0.1:40000"


def test_tcp_relay_connects_the_call_to_a_tcp_service():
    assert parse_tcp("tcp:127.0.0.1:7654") == ("127.0.0.1", 7654)
    assert parse_tcp("tcp:[::1]:7654") == ("::1", 7654)
    assert parse_tcp("tcp:example.com:7654") is None and parse_tcp("echo") is None
    reactor = MemoryReactorClock()
    book = PhoneBook(unknown=Entry(answerer="tcp:127.0.0.1:7654"))
    clock, modem, transport, _ = make(clock=reactor, book=book)
    assert isinstance(resolve("tcp:127.0.0.1:7654", {}, reactor), TcpRelayFactory)
    dial(clock, modem, transport, "1")
    modem.dataReceived(b"early")
    clock.advance(0.1)
    host, port, factory, *_ = reactor.tcpClients[0]
    assert (host, port) == ("127.0.0.1", 7654)
    server_side = StringTransport()
    outbound = factory.buildProtocol(None)
    outbound.makeConnection(server_side)
    assert server_side.value() == b"early"
    outbound.dataReceived(b"from the server")
    clock.advance(0.1)
    assert transport.value() == b"from the server"
    outbound.connectionLost(ConnectionDone())
    clock.advance(2)
    assert transport.value().endswith(b"\r\nNO CARRIER\r\n")


def test_a_relay_that_cannot_connect_hangs_up():
    from twisted.internet.error import ConnectionRefusedError

    reactor = MemoryReactorClock()
    book = PhoneBook(unknown=Entry(answerer="tcp:127.0.0.1:9"))
    clock, modem, transport, _ = make(clock=reactor, book=book)
    dial(clock, modem, transport, "1")
    connector = reactor.connectors[0]
    reactor.tcpClients[0][2].clientConnectionFailed(connector, ConnectionRefusedError())
    clock.advance(2)
    assert transport.value().endswith(b"\r\nNO CARRIER\r\n")
