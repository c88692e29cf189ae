"""The serial transport: control lines, and a real pyserial port (a pty standing in)."""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

import pytest
from twisted.internet.task import Clock

from dcsim.modem.transports import DSR_POLL, SerialLines
from tests.running import run_dcsim, started_dcsim

ROOT = Path(__file__).resolve().parent.parent


class Port:
    """The outside world: a serial port's modem control lines."""

    def __init__(self, has_lines: bool = True) -> None:
        self.has_lines = has_lines
        self.dsr = True
        self.dtr = None
        self.rts = None

    def _check(self) -> None:
        if not self.has_lines:
            raise OSError(25, "Inappropriate ioctl for device")

    def getDSR(self) -> bool:
        self._check()
        return self.dsr

    def setDTR(self, on: int) -> None:
        self._check()
        self.dtr = on

    def setRTS(self, on: int) -> None:
        self._check()
        self.rts = on


class Modem:
    def __init__(self) -> None:
        self.dtr: list[bool] = []

    def dtr_changed(self, on: bool) -> None:
        self.dtr.append(on)


def test_dsr_is_the_consoles_dtr_and_our_dtr_is_its_dcd():
    clock, port, modem = Clock(), Port(), Modem()
    lines = SerialLines(port, clock, modem)
    assert lines.start() and port.rts == 1
    port.dsr = False
    clock.advance(DSR_POLL)
    port.dsr = True
    clock.advance(DSR_POLL)
    clock.advance(DSR_POLL)
    assert modem.dtr == [False, True]
    lines.set_dcd(True)
    assert port.dtr == 1
    lines.stop()
    assert clock.getDelayedCalls() == []


def test_a_device_without_control_lines_is_used_without_them():
    clock, modem = Clock(), Modem()
    lines = SerialLines(Port(has_lines=False), clock, modem)
    assert not lines.start()
    lines.set_dcd(True)  # logged, not raised
    assert clock.getDelayedCalls() == [] and modem.dtr == []


@pytest.mark.slow
def test_dcsim_modem_drives_a_serial_device_through_pyserial():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    try:
        with started_dcsim("modem", "--serial", f"{path}:57600", until="modem on") as modem:
            assert modem.output[0] == f"modem on serial port {path} at 57600 bit/s\n"
            os.write(master, b"ATE0\rATW0\rATDT1\r")
            data = b""
            deadline = time.monotonic() + 30
            while b"CONNECT" not in data and time.monotonic() < deadline:
                if select.select([master], [], [], 0.5)[0]:
                    data += os.read(master, 100)
            assert data.endswith(b"\r\nCONNECT 57600\r\n")  # W0 reports the DTE rate
    finally:
        os.close(master)
        os.close(slave)


def test_a_missing_serial_device_is_one_line():
    result = run_dcsim("modem", "--serial", "/dev/no-such-tty")
    assert result.returncode == 1
    assert result.stderr.startswith("dcsim: modem: cannot open /dev/no-such-tty: ")
    assert result.stderr.count("\n") == 1
