"""The fake modem: AT command lines per CPU-second through the engine, and complete
simulated 10-digit pulse dials (off-hook to CONNECT and hang-up) per CPU-second in
virtual time, through the engine alone and through the Twisted edge under task.Clock.
There is no peer to run beside it (tcpser is not packaged); the dial figure is compared
with the target of 1,000 dials a second and with real time (one dial takes ~24 s)."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from bench.report import Report, rate
from dcsim.modem.answerers import builtin_answerers
from dcsim.modem.engine import AtEngine
from dcsim.modem.line import LineProfile, PhoneBook

LINES = [b"ATE0V1X4\r", b"ATS7=50S8?\r", b"AT&C1&D2&K3\\N3%C1\r", b"ATI3\r", b"AT+MS?\r"]
NUMBER = b"0355703001"
JP_PULSE = LineProfile(line_type="pulse")


def _commands() -> int:
    engine = AtEngine(LineProfile())
    for _ in range(200):
        for line in LINES:
            engine.receive_data(line, 0.0)
            engine.data_to_send()
            for _event in engine.events():
                pass
    return 200 * len(LINES)


def _engine_dials() -> int:
    engine = AtEngine(JP_PULSE)
    now = 0.0
    for _ in range(100):
        engine.receive_data(b"ATDP" + NUMBER + b"\r", now)
        while b"CONNECT" not in engine.data_to_send():
            now = engine.deadline()  # type: ignore[assignment]
            engine.handle_timer(now)
        engine.set_dtr(False, now)
        engine.set_dtr(True, now)
        list(engine.events())
    return 100


def _clock_dials() -> int:
    clock = Clock()
    from dcsim.modem.protocol import ModemSetup

    setup = ModemSetup(JP_PULSE, PhoneBook(), builtin_answerers(), clock)
    modem = setup.protocol("bench")
    transport = StringTransport()
    modem.makeConnection(transport)
    for _ in range(100):
        modem.dataReceived(b"ATDP" + NUMBER + b"\r")
        while b"CONNECT" not in transport.value():
            clock.advance(max(0.0, modem.engine.deadline() - clock.seconds()))  # type: ignore[operator]
        transport.clear()
        modem.dtr_changed(False)
        modem.dtr_changed(True)
        transport.clear()
    return 100


def run(report: Report) -> None:
    report.add("modem", "AT engine", rate(_commands), "command lines/s")
    report.add("modem", "engine, 10-digit pulse dials", rate(_engine_dials), "dials/s")
    report.add("modem", "task.Clock edge, 10-digit pulse dials", rate(_clock_dials), "dials/s")
    report.add("modem", "target", 1000, "dials/s", "issue 4: 1,000 dials in under a second")
    report.ratio("modem", "task.Clock edge, 10-digit pulse dials", "target", "x")
