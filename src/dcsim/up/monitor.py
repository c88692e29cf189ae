"""Follow every session for the status page: subsystem events in, registry calls out.

The subsystems know nothing of the status page; each offers a small ``watch`` hook that
sees its own events (the modem's engine events, the access servers' link events, the
DNS controller's queries, the licence verdicts, the PSO sessions' events). This module is
the one place that turns them into :class:`~dcsim.status.SessionRegistry` calls.

One console is one registry session from the first dial to the lobby: a modem call's
session continues into the PPP session the call's answerer builds, and the services find
a console's session by its address on the virtual internet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dnslib import QTYPE, RCODE, DNSRecord
from twisted.logger import Logger

from dcsim.auth.policy import Verdict
from dcsim.causes import Cause
from dcsim.modem.engine import CallConnected, CallLogged, DialStarted, Event
from dcsim.modem.protocol import CallAddress, ModemProtocol, ModemSetup
from dcsim.ppp.session import SubscriberServer, SubscriberSession
from dcsim.pso.events import Closed, JoinedLobby, LoggedIn
from dcsim.pso.server import PsoServerProtocol, PsoService
from dcsim.status import SessionHandle, SessionKind, SessionRegistry, State

log = Logger()


class Monitor:
    def __init__(self, registry: SessionRegistry, reactor: Any) -> None:
        self.registry = registry
        self.reactor = reactor
        self._modem_calls: dict[str, SessionHandle] = {}  # modem name -> its current call
        self._connected: set[str] = set()  # modems whose call is in data mode

    @property
    def calls_connected(self) -> int:
        """Modem calls connected and not yet ended (NO CARRIER not yet sent)."""
        return len(self._connected)

    # --- the fake modem ----------------------------------------------------------------

    def watch_modems(self, setup: ModemSetup) -> None:
        setup.watch = self._modem_event

    def _modem_event(self, modem: ModemProtocol, event: Event) -> None:
        name = modem.engine.name
        handle = self._modem_calls.get(name)
        if isinstance(event, DialStarted):
            if handle is None or handle.ended:
                handle = self.registry.open_session(SessionKind.MODEM_CALL, name)
                self._modem_calls[name] = handle
            handle.dialling(event.dial_string)
            if event.training_in is not None:
                self.reactor.callLater(event.training_in, self._training, handle)
        elif handle is None:
            return
        elif isinstance(event, CallConnected):
            self._connected.add(name)
            handle.set_state(State.LCP, f"CONNECT {event.rate} to {event.number}")
        elif isinstance(event, CallLogged):
            self._connected.discard(name)
            record = event.record
            handle.end(Cause(record.cause) if record.cause else None, _call_summary(record))
            del self._modem_calls[name]

    def _training(self, handle: SessionHandle) -> None:
        if not handle.ended and handle.state is State.DIALLING:
            handle.set_state(State.TRAINING)

    # --- PPP sessions of modem calls ------------------------------------------------

    def continue_modem_calls(self, servers: Iterable[SubscriberServer]) -> None:
        """A PPP session answering a modem call continues that call's registry session."""
        for server in servers:
            server.status_for = self._modem_call_of

    def _modem_call_of(self, session: SubscriberSession) -> SessionHandle | None:
        peer = session.transport.getPeer() if session.transport is not None else None
        if isinstance(peer, CallAddress):
            handle = self._modem_calls.get(peer.number)
            if handle is not None and not handle.ended:
                return handle
        return None

    # --- services -------------------------------------------------------------------

    def dns_answered(self, client: str, query: bytes, reply: bytes | None) -> None:
        try:
            q = DNSRecord.parse(query)
        except Exception:  # the server has already refused it; nothing to show
            return
        if not q.questions:
            return
        question = q.questions[0]
        name, qtype = str(question.qname).rstrip(".") or ".", QTYPE.get(question.qtype)
        if reply is None:
            answers, rcode = (), "no answer"
        else:
            try:
                r = DNSRecord.parse(reply)
            except Exception:
                return
            answers = tuple(str(rr.rdata) for rr in r.rr)
            rcode = RCODE.get(r.header.rcode)
        handle = self.registry.find(client)
        if handle is not None and handle.state in (State.ONLINE, State.DNS):
            handle.set_state(State.DNS, name)
        self.registry.dns_query(client, name, str(qtype), answers, str(rcode))

    def licence_checked(self, client: str, verdict: Verdict) -> None:
        handle = self.registry.find(client)
        if handle is None:
            return
        detail = verdict.result + (f" ({verdict.cause.text})" if verdict.cause else "")
        handle.set_state(State.LICENCE)
        handle.licence(verdict.accepted, detail)

    def watch_pso(self, pso: PsoService) -> None:
        pso.login.watch = self._pso_event
        pso.ship_factory.watch = self._pso_event

    def _pso_event(self, protocol: PsoServerProtocol, event: object) -> None:
        if protocol.transport is None:
            return
        handle = self.registry.find(protocol.transport.getPeer().host)
        if handle is None:
            return
        if isinstance(event, LoggedIn):
            handle.set_state(State.LOGIN, event.version.name)
            handle.logged_in(event.guild_card, event.name.decode("latin-1"))
        elif isinstance(event, JoinedLobby):
            handle.in_lobby(f"block {event.block} lobby {event.lobby}")
        elif isinstance(event, Closed) and event.cause is not None:
            handle.end(event.cause, f"PSO: {event.reason}")


def _call_summary(record: Any) -> str:
    results = " then ".join(e.result for e in record.results)
    return f"{results}; {record.hangup.value} by {record.hung_up_by.value}"
