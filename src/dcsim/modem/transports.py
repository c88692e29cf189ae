"""Where the console plugs in: a pseudo-terminal or a real serial port.

(The third transport, a TCP listener where every connection is a modem, is
:class:`dcsim.modem.protocol.ModemFactory` on ``listenTCP``.)

A pty stands for a serial cable: the program that opens its path (``chat``, ``minicom``,
an emulator's serial pty) is the console. Closing the path is dropping DTR and opening it
again raises DTR, so the modem survives between programs, as a real one would.

A serial port goes through Twisted's ``SerialPort`` (pyserial). On a null-modem cable the
console's DTR arrives on our DSR, and our DTR drives the console's DCD: the modem polls
DSR and reports carrier on DTR, where the device has these lines (a pty has none). RTS
stays asserted, so hardware flow control (CTS) never stops the console. RI cannot be
driven from a PC's serial port; the fake modem never rings anyway.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tty

from twisted.internet import abstract
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IReactorFDSet, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from dcsim.modem.protocol import ModemProtocol

PTY_POLL = 0.2  # seconds between checks for a program opening the pty again
DSR_POLL = 0.05  # seconds between reads of a serial port's DSR line
READ_SIZE = 4096

log = Logger()


class PtyPort(abstract.FileDescriptor):
    """The master side of a pty; :attr:`path` is the slave the console opens."""

    def __init__(self, reactor: IReactorFDSet) -> None:
        super().__init__(reactor)  # type: ignore[arg-type]
        master, slave = os.openpty()
        self.path = os.ttyname(slave)
        tty.setraw(slave)  # no echo, no line editing: bytes pass unchanged
        os.close(slave)
        flags = fcntl.fcntl(master, fcntl.F_GETFL)
        fcntl.fcntl(master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.fd = master
        self.protocol: ModemProtocol | None = None
        self._dte = False  # a program has the slave open
        self._closing = False
        self._poll = None

    def attach(self, protocol: ModemProtocol) -> None:
        self.protocol = protocol
        self.connected = 1
        protocol.makeConnection(self)
        self.startReading()

    def fileno(self) -> int:
        return self.fd

    def doRead(self) -> None:
        try:
            data = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            self._slave_closed()
            return
        self._deliver(data)

    def _deliver(self, data: bytes) -> None:
        assert self.protocol is not None
        if not self._dte:
            self._dte = True
            self.protocol.dtr_changed(True)
        if data:
            self.protocol.dataReceived(data)

    def _slave_closed(self) -> None:
        """No program has the pty open (EIO): DTR is off until one opens it again."""
        self.stopReading()
        self.stopWriting()
        if self._poll is not None and self._poll.active():
            return
        if self._dte:
            self._dte = False
            assert self.protocol is not None
            self.protocol.dtr_changed(False)
        self._poll = self.reactor.callLater(PTY_POLL, self._check_open)

    def _check_open(self) -> None:
        self._poll = None
        try:
            data = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            data = b""
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            self._poll = self.reactor.callLater(PTY_POLL, self._check_open)
            return
        self.startReading()
        self._deliver(data)

    def write(self, data: bytes) -> None:
        if self._dte:  # with nobody on the line the bytes are lost, as on a cable
            super().write(data)

    def writeSomeData(self, data: bytes) -> int:
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            return 0
        except OSError as e:
            if e.errno == errno.EIO:
                return len(data)
            raise

    def connectionLost(self, reason: Failure) -> None:
        """The reactor saw a hang-up (the last program closed the pty): wait for the next."""
        if not self._closing:
            self._slave_closed()
            return
        if self._poll is not None and self._poll.active():
            self._poll.cancel()
        super().connectionLost(reason)
        os.close(self.fd)
        if self.protocol is not None:
            self.protocol.connectionLost(reason)

    readConnectionLost = connectionLost

    def close(self) -> None:
        """Remove the pty for good."""
        self._closing = True
        self.stopReading()
        self.stopWriting()
        self.connectionLost(Failure(ConnectionDone("pty closed")))


class SerialLines:
    """DTR in (our DSR) and DCD out (our DTR) of a null-modem serial cable."""

    def __init__(self, port: object, clock: IReactorTime, protocol: ModemProtocol) -> None:
        self.port = port
        self.protocol = protocol
        self._dsr: bool | None = None
        self._loop = LoopingCall(self._poll)
        self._loop.clock = clock

    def start(self) -> bool:
        """Start watching DSR; False if the device has no modem control lines."""
        try:
            self.port.setRTS(1)  # type: ignore[attr-defined]
            self._dsr = bool(self.port.getDSR())  # type: ignore[attr-defined]
        except OSError as e:
            log.info("no modem control lines on this device ({error}): DTR and DCD unused", error=e)
            return False
        self._loop.start(DSR_POLL, now=False)
        return True

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def _poll(self) -> None:
        try:
            dsr = bool(self.port.getDSR())  # type: ignore[attr-defined]
        except OSError:
            self.stop()
            return
        if dsr != self._dsr:
            self._dsr = dsr
            self.protocol.dtr_changed(dsr)

    def set_dcd(self, on: bool) -> None:
        try:
            self.port.setDTR(1 if on else 0)  # type: ignore[attr-defined]
        except OSError as e:
            log.debug("cannot set DTR for DCD: {error}", error=e)


def open_serial(
    make_protocol: object, device: str, baudrate: int, reactor: object
) -> tuple[object, SerialLines]:
    """Open *device*; ``make_protocol(set_dcd)`` builds the modem for it."""
    from twisted.internet.serialport import SerialPort

    holder: list[SerialLines] = []
    protocol: ModemProtocol = make_protocol(lambda on: holder[0].set_dcd(on) if holder else None)  # type: ignore[operator]
    port = SerialPort(protocol, device, reactor, baudrate=baudrate)
    lines = SerialLines(port, reactor, protocol)  # type: ignore[arg-type]
    holder.append(lines)
    lines.start()
    return port, lines
