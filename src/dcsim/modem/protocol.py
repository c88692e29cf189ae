"""The Twisted edge of the modem: the console's side and the far end's side of a call.

:class:`ModemProtocol` feeds an :class:`~dcsim.modem.engine.AtEngine` from any transport
to the console (TCP, a pty, a serial port) and the injected clock. After CONNECT it
builds the answerer named in the phone book (``factory.buildProtocol(addr)``) and
connects it to a :class:`CallTransport`: ``write()`` reaches the console at the line rate,
``loseConnection()`` is the far end hanging up (NO CARRIER), ``getPeer()``/``getHost()``
describe the call, and ``connectionLost`` is called once when the call ends, whoever
ended it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import (
    IAddress,
    IConsumer,
    IProtocolFactory,
    IPushProducer,
    IReactorTime,
    ITransport,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from dcsim.address import Listen
from dcsim.edge import DeadlineTimer
from dcsim.modem.answerers import resolve
from dcsim.modem.calllog import CallLog, Party
from dcsim.modem.engine import (
    AtEngine,
    CallConnected,
    CallEnded,
    CallLogged,
    CommandReceived,
    DcdChanged,
    Event,
    LineData,
    StoreChanged,
    Stored,
)
from dcsim.modem.line import LineProfile, PhoneBook
from dcsim.modem.store import ProfileStore

HIGH_WATER = 16 * 1024  # bytes queued on the line before the sender is paused
LOW_WATER = 4 * 1024

log = Logger()


@implementer(IAddress)
@dataclass(frozen=True, slots=True)
class CallAddress:
    """One end of a telephone call: the called number, or the calling modem."""

    number: str  # the dialled number (host) or the calling modem's name (peer)
    rate: int  # bit/s towards this end


@implementer(ITransport, IConsumer)
class CallTransport:
    """The far end's view of a call (see the module docstring)."""

    def __init__(self, modem: ModemProtocol, peer: CallAddress, host: CallAddress) -> None:
        self._modem = modem
        self._peer = peer
        self._host = host
        self.connected = True
        self.disconnecting = False
        self.producer: IPushProducer | None = None
        self.paused = False

    def write(self, data: bytes) -> None:
        if self.connected and not self.disconnecting:
            self._modem.engine.send_to_dte(data, self._modem.now())
            self._modem.pump()

    def writeSequence(self, data: list[bytes]) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if self.connected and not self.disconnecting:
            self.disconnecting = True
            self._modem.engine.far_end_hangup(self._modem.now())
            self._modem.pump()

    abortConnection = loseConnection

    def getPeer(self) -> CallAddress:
        return self._peer

    def getHost(self) -> CallAddress:
        return self._host

    def registerProducer(self, producer: IPushProducer, streaming: bool) -> None:
        self.producer = producer
        self.paused = False

    def unregisterProducer(self) -> None:
        self.producer = None


class ModemProtocol(Protocol):
    """One modem: the console's transport on one side, the call's answerer on the other."""

    def __init__(
        self,
        engine: AtEngine,
        clock: IReactorTime,
        answerers: Mapping[str, IProtocolFactory],
        *,
        call_log: CallLog | None = None,
        store: ProfileStore | None = None,
        set_dcd: Callable[[bool], None] | None = None,
        watch: Callable[[ModemProtocol, Event], None] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.answerers = answerers
        self.call_log = call_log
        self.store = store
        self.set_dcd = set_dcd
        self.watch = watch  # sees every engine event (dcsim up feeds its status page)
        self._timer = DeadlineTimer(clock, self._fire)
        self._now = 0.0
        self._pumping = False
        self._again = False
        self._far: Protocol | None = None
        self._call: CallTransport | None = None
        self._dte_paused = False

    # --- from the console ---------------------------------------------------------------

    def now(self) -> float:
        """The engine's time: while events are handled, the time they happened at."""
        return self._now if self._pumping else self.clock.seconds()

    def dataReceived(self, data: bytes) -> None:
        self._now = self.clock.seconds()
        self.engine.receive_data(data, self._now)
        self.pump()

    def connectionLost(self, reason: Failure = ConnectionDone) -> None:  # type: ignore[assignment]
        self._now = self.clock.seconds()
        self.engine.receive_data(b"", self._now)
        self.pump()
        self._timer.cancel()

    def dtr_changed(self, on: bool) -> None:
        """The console's DTR line changed (pty opened or closed, serial DSR)."""
        self._now = self.clock.seconds()
        self.engine.set_dtr(on, self._now)
        self.pump()

    # --- the adapter --------------------------------------------------------------------

    def pump(self) -> None:
        """Write what the engine has for the console, act on its events, rearm the timer."""
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        try:
            self._again = True
            while self._again:
                self._again = False
                out = self.engine.data_to_send()
                if out and self.transport is not None:
                    self.transport.write(out)
                for event in self.engine.events():
                    self._again = True
                    self._handle(event)
            self._flow_control()
            self._timer.at(self.engine.deadline())
        finally:
            self._pumping = False

    def _fire(self, deadline: float) -> None:
        # The engine's own deadline, not the clock: a Clock advanced in one big step
        # runs the call late, and the engine must see the time it asked for.
        self._now = deadline
        self.engine.handle_timer(self._now)
        self.pump()

    def _flow_control(self) -> None:
        up, down = self.engine.queued()
        call = self._call
        if call is not None and call.producer is not None:
            if down > HIGH_WATER and not call.paused:
                call.paused = True
                call.producer.pauseProducing()
            elif down < LOW_WATER and call.paused:
                call.paused = False
                call.producer.resumeProducing()
        transport = self.transport
        if transport is None or not hasattr(transport, "pauseProducing"):
            return
        if up > HIGH_WATER and not self._dte_paused:
            self._dte_paused = True
            transport.pauseProducing()
        elif up < LOW_WATER and self._dte_paused:
            self._dte_paused = False
            transport.resumeProducing()

    # --- events -------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        if self.watch is not None:
            self.watch(self, event)
        if isinstance(event, LineData):
            if self._far is not None:
                self._far.dataReceived(event.data)
        elif isinstance(event, CommandReceived):
            log.debug("{modem}: AT{line}", modem=self.engine.name, line=event.line)
        elif isinstance(event, CallConnected):
            self._answer(event)
        elif isinstance(event, CallEnded):
            self._end_call(event)
        elif isinstance(event, CallLogged):
            r = event.record
            log.info(
                "{modem}: call {call} to {digits}: {results}, {hangup} by {by}",
                modem=r.modem,
                call=r.call,
                digits=r.digits or r.dial_string,
                results=" then ".join(e.result for e in r.results),
                hangup=r.hangup.value,
                by=r.hung_up_by.value,
            )
            if self.call_log is not None:
                self.call_log.append(r)
        elif isinstance(event, StoreChanged):
            if self.store is not None:
                self.store.save(event.store)
        elif isinstance(event, DcdChanged) and self.set_dcd is not None:
            self.set_dcd(event.on)

    def _answer(self, event: CallConnected) -> None:
        peer = CallAddress(self.engine.name, event.rate)
        host = CallAddress(event.number, event.transmit_rate)
        factory = resolve(event.answerer, self.answerers, self.clock)
        protocol = factory.buildProtocol(peer) if factory is not None else None
        if protocol is None:
            log.warn(
                "{modem}: no answerer {name!r} for {number}: the far end hangs up",
                modem=self.engine.name,
                name=event.answerer,
                number=event.number,
            )
            self.engine.far_end_hangup(self._now)
            return
        self._far = protocol
        self._call = CallTransport(self, peer, host)
        protocol.makeConnection(self._call)

    def _end_call(self, event: CallEnded) -> None:
        far, call = self._far, self._call
        self._far = self._call = None
        if far is None or call is None:
            return
        call.connected = False
        call.producer = None
        if event.by is Party.FAR_END:
            reason = Failure(ConnectionDone(event.hangup.value))
        else:
            reason = Failure(ConnectionLost(event.hangup.value))
        far.connectionLost(reason)


@dataclass
class ModemSetup:
    """What every modem of one ``dcsim modem`` (or ``dcsim up``) shares."""

    line: LineProfile
    book: PhoneBook
    answerers: Mapping[str, IProtocolFactory]
    clock: IReactorTime
    call_log: CallLog | None = None
    store: ProfileStore | None = None
    default_answerer: str = "echo"
    dte_rate: int = 115200
    unknown_commands: str = "error"
    watch: Callable[[ModemProtocol, Event], None] | None = None

    def protocol(
        self,
        name: str,
        *,
        dte_rate: int | None = None,
        set_dcd: Callable[[bool], None] | None = None,
    ) -> ModemProtocol:
        engine = AtEngine(
            self.line,
            self.book,
            name=name,
            default_answerer=self.default_answerer,
            stored=self.store.load() if self.store is not None else Stored(),
            dte_rate=dte_rate or self.dte_rate,
            unknown_commands=self.unknown_commands,
        )
        return ModemProtocol(
            engine,
            self.clock,
            self.answerers,
            call_log=self.call_log,
            store=self.store,
            set_dcd=set_dcd,
            watch=self.watch,
        )


class ModemFactory(Factory):
    """A TCP listener's factory: every connection is a modem of its own."""

    def __init__(self, setup: ModemSetup) -> None:
        self.setup = setup

    def buildProtocol(self, addr: IAddress) -> ModemProtocol:
        host = getattr(addr, "host", "?")
        name = str(Listen("tcp", host, addr.port))  # type: ignore[attr-defined]
        protocol = self.setup.protocol(name)
        protocol.factory = self
        return protocol
