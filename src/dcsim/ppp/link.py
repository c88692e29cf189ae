"""One PPP link, either role: HDLC, LCP, authentication, IPCP and IP, as one sans-IO core.

The access server (``Role.SERVER``) and the Dreamcast's client side (``Role.CLIENT``) are
the same machine with different configuration, so tests pair them back to back. The core
follows the project's shape: ``receive_data(data, now)`` (``b""`` when the connection is
gone), ``handle_timer(now)``, ``events()``, ``data_to_send()`` and ``deadline()``; IP
datagrams go out with ``send_datagram`` and come in as :class:`DatagramReceived` events.

Phases follow RFC 1661 §3.2: establish (LCP), authenticate (PAP/CHAP, whichever side
demanded it), network (IPCP), terminate.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from ipaddress import IPv4Address

from dcsim.causes import Cause
from dcsim.pcap import Direction
from dcsim.ppp import frame as ppp_frame
from dcsim.ppp.auth import (
    Accounts,
    Authenticator,
    AuthPeer,
    Failure,
    Login,
    Outcome,
    authenticator_for,
    peer_for,
)
from dcsim.ppp.automaton import Layer, Signal, State, Timing
from dcsim.ppp.frame import FrameError, Protocol
from dcsim.ppp.hdlc import ALL_CONTROL, Deframer, encode_frame
from dcsim.ppp.ipcp import (
    ANY,
    DnsPolicy,
    IpcpClientPolicy,
    IpcpServerPolicy,
    VjParams,
)
from dcsim.ppp.lcp import AuthProtocol, LcpConfig, LcpLayer, LcpTerms, LcpTrouble
from dcsim.ppp.packet import Code, ControlPacket, Option, PacketError, parse_options
from dcsim.ppp.pool import AddressPool
from dcsim.ppp.vj import Compressor, Decompressor, VjError

FRAME_OVERHEAD = 4  # address, control and a two-octet protocol


class Role(Enum):
    SERVER = "access server"
    CLIENT = "client"


class Phase(Enum):
    DEAD = "dead"
    ESTABLISH = "establish"
    AUTHENTICATE = "authenticate"
    NETWORK = "network"
    TERMINATE = "terminate"


class EndReason(Enum):
    """Why a link ended."""

    PEER_TERMINATED = "the peer ended the link (LCP Terminate-Request)"
    HUNG_UP = "the connection under the link closed"
    CLOSED = "closed on request"
    AUTHENTICATION_FAILED = "authentication failed"
    AUTHENTICATION_TIMEOUT = "authentication got no answer"
    PEER_REFUSED_AUTH = "the peer refused to authenticate"
    NO_ANSWER = "negotiation got no answer"
    NEGOTIATION_FAILED = "negotiation failed"
    ECHO_TIMEOUT = "the peer stopped answering LCP Echo-Requests"
    LOOPED_BACK = "the link is looped back"
    IDLE = "idle timeout"
    NO_ADDRESS = "no address left in the pool"


# The cause a Dreamcast title shows (dcsim.causes) for each way a link ends, as seen by
# the console; None where the user ended it. The access server reports the same causes,
# so a front end's log reads like the console's screen.
_CAUSES: dict[tuple[EndReason, Role], Cause | None] = {
    (EndReason.PEER_TERMINATED, Role.SERVER): None,
    (EndReason.PEER_TERMINATED, Role.CLIENT): Cause.SERVER_DOWN,
    (EndReason.HUNG_UP, Role.SERVER): None,
    (EndReason.HUNG_UP, Role.CLIENT): Cause.NO_PHYSICAL_CONNECTION,
    (EndReason.CLOSED, Role.SERVER): Cause.SERVER_DOWN,
    (EndReason.CLOSED, Role.CLIENT): None,
    (EndReason.AUTHENTICATION_FAILED, Role.SERVER): Cause.AUTHENTICATION_FAILURE,
    (EndReason.AUTHENTICATION_FAILED, Role.CLIENT): Cause.AUTHENTICATION_FAILURE,
    (EndReason.AUTHENTICATION_TIMEOUT, Role.SERVER): Cause.AUTHENTICATION_FAILURE,
    (EndReason.AUTHENTICATION_TIMEOUT, Role.CLIENT): Cause.SERVER_DOWN,
    (EndReason.PEER_REFUSED_AUTH, Role.SERVER): Cause.AUTHENTICATION_FAILURE,
    (EndReason.PEER_REFUSED_AUTH, Role.CLIENT): Cause.AUTHENTICATION_FAILURE,
    (EndReason.NO_ANSWER, Role.SERVER): Cause.NO_PHYSICAL_CONNECTION,
    (EndReason.NO_ANSWER, Role.CLIENT): Cause.SERVER_DOWN,
    (EndReason.NEGOTIATION_FAILED, Role.SERVER): Cause.SERVER_DOWN,
    (EndReason.NEGOTIATION_FAILED, Role.CLIENT): Cause.SERVER_DOWN,
    (EndReason.ECHO_TIMEOUT, Role.SERVER): Cause.NO_PHYSICAL_CONNECTION,
    (EndReason.ECHO_TIMEOUT, Role.CLIENT): Cause.SERVER_DOWN,
    (EndReason.LOOPED_BACK, Role.SERVER): Cause.NO_PHYSICAL_CONNECTION,
    (EndReason.LOOPED_BACK, Role.CLIENT): Cause.NO_PHYSICAL_CONNECTION,
    (EndReason.IDLE, Role.SERVER): Cause.AUTOMATIC_DISCONNECT,
    (EndReason.IDLE, Role.CLIENT): Cause.AUTOMATIC_DISCONNECT,
    (EndReason.NO_ADDRESS, Role.SERVER): Cause.SERVER_DOWN,
    (EndReason.NO_ADDRESS, Role.CLIENT): Cause.SERVER_DOWN,
}

_TROUBLE_REASONS = {
    LcpTrouble.ECHO_TIMEOUT: EndReason.ECHO_TIMEOUT,
    LcpTrouble.LOOPED_BACK: EndReason.LOOPED_BACK,
    LcpTrouble.PEER_REFUSED_AUTH: EndReason.PEER_REFUSED_AUTH,
}


# -- events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerRequested:
    """The peer sent a Configure-Request: what a client asks for, to build profiles."""

    protocol: int
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class LinkOpened:
    """LCP is open with these terms."""

    terms: LcpTerms


@dataclass(frozen=True, slots=True)
class AuthDone:
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class NetworkUp:
    """IPCP is open: the client has an address and may send IP."""

    local: IPv4Address
    peer: IPv4Address
    dns: tuple[IPv4Address, ...]
    mtu: int  # the largest datagram we may send the peer (its MRU)
    vj: bool  # Van Jacobson compression in use in either direction


@dataclass(frozen=True, slots=True)
class NetworkDown:
    pass


@dataclass(frozen=True, slots=True)
class DatagramReceived:
    """An IPv4 datagram from the console, for the network."""

    datagram: bytes


@dataclass(frozen=True, slots=True)
class Discarded:
    """Something from the peer was dropped, and why (logged by the edge)."""

    reason: str


@dataclass(frozen=True, slots=True)
class FrameSeen:
    """A frame (without FCS) crossing the link, when tracing is on (for captures)."""

    direction: Direction
    frame: bytes


@dataclass(frozen=True, slots=True)
class LinkEnded:
    """The link is finished: write what is left to send, then close the connection.

    Shared with DCNet's Ethernet core, whose reasons are ``dcsim.dcnet.bba.BbaEnd``."""

    reason: Enum
    cause: Cause | None
    detail: str = ""


LinkEvent = (
    PeerRequested
    | LinkOpened
    | AuthDone
    | NetworkUp
    | NetworkDown
    | DatagramReceived
    | Discarded
    | FrameSeen
    | LinkEnded
)


# -- configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkConfig:
    """Everything one link needs; the two roles read the fields that concern them."""

    role: Role = Role.SERVER
    lcp: LcpConfig = field(default_factory=LcpConfig)
    ipcp_timing: Timing = field(default_factory=Timing)
    # access server
    accounts: Accounts = field(default_factory=Accounts)
    local_address: IPv4Address = ANY  # the server's IPCP address (the client's gateway)
    dns: tuple[IPv4Address, ...] = ()  # server: handed out; client: stored (0.0.0.0 = ask)
    dns_policy: DnsPolicy = DnsPolicy.NAK
    vj: VjParams | None = None  # Van Jacobson compression offered and accepted
    idle_timeout: float = 0.0  # seconds without IP traffic before hanging up; 0 = never
    # client
    login: Login | None = None
    address: IPv4Address = ANY  # the address the client asks for
    ignore_ipcp_reject: bool = False  # KallistiOS's quirk (modem_ppp.md §5.1)
    trace: bool = False  # emit FrameSeen for every frame (captures)


def server_config(**kwargs: object) -> LinkConfig:
    return LinkConfig(role=Role.SERVER, **kwargs)  # type: ignore[arg-type]


def client_config(login: Login | None, **kwargs: object) -> LinkConfig:
    """A Dreamcast-like client: answers PAP or CHAP when it has a login, asks for DNS."""
    lcp = kwargs.pop("lcp", None) or LcpConfig(
        authenticate_as=frozenset(AuthProtocol) if login else frozenset(),
        pfc=False,
    )
    kwargs.setdefault("dns", (ANY,))
    return LinkConfig(role=Role.CLIENT, lcp=lcp, login=login, **kwargs)  # type: ignore[arg-type]


# -- the link ----------------------------------------------------------------------------


class PppLink:
    def __init__(
        self,
        config: LinkConfig,
        now: float,
        *,
        rng: random.Random,
        pool: AddressPool | None = None,
    ) -> None:
        self.config = config
        self.role = config.role
        self.rng = rng
        self.pool = pool
        self.phase = Phase.ESTABLISH
        self.deframer = Deframer(max_frame=max(config.lcp.mru, 1500) + FRAME_OVERHEAD)
        self.lcp = LcpLayer(config.lcp, rng)
        self.ipcp: Layer | None = None
        self.ipcp_policy: IpcpServerPolicy | IpcpClientPolicy | None = None
        self.authenticator: Authenticator | None = None
        self.auth_peer: AuthPeer | None = None
        self.peer_address: IPv4Address | None = None  # allocated from the pool (server)
        self.end_reason: EndReason | None = None
        self.end_detail = ""
        self.network_up = False
        self._compressor: Compressor | None = None
        self._decompressor: Decompressor | None = None
        self._send_accm = ALL_CONTROL
        self._send_acfc = self._send_pfc = self._send_fcs32 = False
        self._peer_mru = 1500
        self._out: list[bytes] = []
        self._events: list[LinkEvent] = []
        self._idle_at: float | None = None
        self._ended = False
        self._auth_reported: list[Authenticator | AuthPeer] = []
        self.lcp.open(now)
        self._run(self.lcp, lambda: self.lcp.up(now, silent=config.lcp.passive), now)

    # -- the core interface ---------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        if self._ended:
            return
        if not data:
            self._lower_down(now)
            return
        bad_before = self.deframer.counters.bad_fcs
        frames = self.deframer.feed(data)
        if self.deframer.counters.bad_fcs != bad_before and self._decompressor is not None:
            self._decompressor.toss()
        for raw in frames:
            self._receive_frame(raw, now)
            if self._ended:
                break

    def handle_timer(self, now: float) -> None:
        if self._ended:
            return
        self._run(self.lcp, lambda: self.lcp.handle_timer(now), now)
        for machine in (self.authenticator, self.auth_peer):
            if machine is not None:
                machine.handle_timer(now)
                self._after_auth(machine, now)
        if self.ipcp is not None:
            ipcp = self.ipcp
            self._run(ipcp, lambda: ipcp.handle_timer(now), now)
        if self._idle_at is not None and now >= self._idle_at:
            self._idle_at = None
            self.close(now, EndReason.IDLE)

    def events(self) -> Iterator[LinkEvent]:
        events, self._events = self._events, []
        return iter(events)

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def deadline(self) -> float | None:
        if self._ended:
            return None
        times = [self.lcp.deadline(), self._idle_at]
        for machine in (self.authenticator, self.auth_peer):
            if machine is not None:
                times.append(machine.deadline())
        if self.ipcp is not None:
            times.append(self.ipcp.deadline())
        present = [t for t in times if t is not None]
        return min(present) if present else None

    def send_datagram(self, datagram: bytes, now: float) -> bool:
        """Send an IPv4 datagram to the peer; False (dropped) unless IPCP is open."""
        if not self.network_up:
            return False
        if len(datagram) > self._peer_mru:
            self._events.append(Discarded(f"datagram of {len(datagram)} exceeds MRU"))
            return False
        protocol: int = Protocol.IP
        if self._compressor is not None:
            protocol, datagram = self._compressor.compress(datagram)
        self._send_frame(protocol, datagram)
        if self._idle_at is not None:
            self._idle_at = now + self.config.idle_timeout
        return True

    def close(self, now: float, reason: EndReason = EndReason.CLOSED, detail: str = "") -> None:
        """End the link politely: LCP Terminate-Request, then LinkEnded."""
        if self._ended:
            return
        self._set_reason(reason, detail)
        self.phase = Phase.TERMINATE
        self._network_down()
        self._run(self.lcp, lambda: self.lcp.close(now), now)
        if self.lcp.state in (State.INITIAL, State.CLOSED):
            self._end()  # nothing was negotiated, so there is nothing to terminate

    # -- receiving ------------------------------------------------------------------------

    def _receive_frame(self, raw: bytes, now: float) -> None:
        if self.config.trace:
            self._events.append(FrameSeen(Direction.RECEIVED, raw))
        try:
            protocol, information = ppp_frame.decode(raw)
        except FrameError as e:
            self._events.append(Discarded(str(e)))
            return
        if protocol == Protocol.IP:
            self._receive_ip(information, now)
        elif protocol == Protocol.LCP:
            self._receive_control(self.lcp, information, now)
        elif protocol in (Protocol.PAP, Protocol.CHAP):
            self._receive_auth(protocol, information, now)
        elif protocol == Protocol.IPCP:
            if self.ipcp is None:
                self._events.append(Discarded("IPCP before the network phase"))
            else:
                self._receive_control(self.ipcp, information, now)
        elif protocol in (Protocol.VJ_COMPRESSED, Protocol.VJ_UNCOMPRESSED):
            self._receive_vj(protocol, information, now)
        else:
            self._protocol_reject(protocol, information, now)

    def _protocol_reject(self, protocol: int, information: bytes, now: float) -> None:
        name = ppp_frame.protocol_name(protocol)
        if self.lcp.send_protocol_reject(protocol, information):
            self._flush(self.lcp.protocol, self.lcp.outbox)
            self._events.append(Discarded(f"protocol {name} rejected"))
        else:
            self._events.append(Discarded(f"protocol {name} before LCP is open"))

    def _receive_control(self, layer: Layer, information: bytes, now: float) -> None:
        try:
            packet = ControlPacket.parse(information)
        except PacketError as e:
            self._events.append(Discarded(f"{layer.name}: {e}"))
            return
        if layer is self.lcp and packet.code == Code.TERMINATE_REQUEST and self.lcp.is_open:
            self._set_reason(EndReason.PEER_TERMINATED)
        if packet.code == Code.CONFIGURE_REQUEST:
            try:
                options = parse_options(packet.data)
            except PacketError:
                options = ()
            self._events.append(PeerRequested(layer.protocol, options))
        note: list[str | None] = []
        self._run(layer, lambda: note.append(layer.receive(packet, now)), now)
        if note and note[0] is not None:
            self._events.append(Discarded(note[0]))

    def _receive_auth(self, protocol: int, information: bytes, now: float) -> None:
        machines = [
            m
            for m in (self.authenticator, self.auth_peer)
            if m is not None and m.protocol.protocol == protocol
        ]
        if not machines:
            self._events.append(Discarded(f"{ppp_frame.protocol_name(protocol)} not negotiated"))
            return
        try:
            packet = ControlPacket.parse(information)
        except PacketError as e:
            self._events.append(Discarded(f"{ppp_frame.protocol_name(protocol)}: {e}"))
            return
        for machine in machines:
            note = machine.receive(packet, now)
            if note is None:
                self._after_auth(machine, now)
                return
        self._events.append(Discarded(note or "authentication packet ignored"))

    def _receive_ip(self, datagram: bytes, now: float) -> None:
        if not self.network_up:
            self._events.append(Discarded("IP before IPCP is open"))
            return
        if self._idle_at is not None:
            self._idle_at = now + self.config.idle_timeout
        self._events.append(DatagramReceived(datagram))

    def _receive_vj(self, protocol: int, payload: bytes, now: float) -> None:
        if self._decompressor is None:
            self._protocol_reject(protocol, payload, now)
            return
        try:
            if protocol == Protocol.VJ_COMPRESSED:
                datagram = self._decompressor.compressed(payload)
            else:
                datagram = self._decompressor.uncompressed(payload)
        except VjError as e:
            self._events.append(Discarded(f"VJ: {e}"))
            return
        self._receive_ip(datagram, now)

    # -- sending --------------------------------------------------------------------------

    def _send_frame(self, protocol: int, information: bytes) -> None:
        # encode gives LCP full headers whatever was negotiated; it also goes with every
        # control octet escaped (RFC 1661 §6.5; WinCE titles need it, modem_ppp.md §5.2)
        raw = ppp_frame.encode(protocol, information, acfc=self._send_acfc, pfc=self._send_pfc)
        accm = ALL_CONTROL if protocol == Protocol.LCP else self._send_accm
        if self.config.trace:
            self._events.append(FrameSeen(Direction.SENT, raw))
        self._out.append(encode_frame(raw, accm=accm, use_fcs32=self._send_fcs32))

    def _flush(self, protocol: int, outbox: list[ControlPacket]) -> None:
        """Send what a layer or an authentication machine put in its *outbox*."""
        for packet in outbox:
            self._send_frame(protocol, packet.pack())
        outbox.clear()

    # -- the layers' signals --------------------------------------------------------------

    def _run(self, layer: Layer, step: Callable[[], object], now: float) -> None:
        """Run one step of *layer*, send what it produced, then act on its signals."""
        step()
        self._flush(layer.protocol, layer.outbox)
        signals, layer.signals = layer.signals, []
        for signal in signals:
            if layer is self.lcp:
                self._lcp_signal(signal, now)
            else:
                self._ipcp_signal(signal, now)
        if layer is not self.lcp or self._ended or self.phase is Phase.TERMINATE:
            return
        if self.lcp.trouble is not None:
            self.close(now, _TROUBLE_REASONS[self.lcp.trouble], self.lcp.trouble.value)
        elif Protocol.IPCP in self.lcp.rejected_protocols:
            self.close(now, EndReason.NEGOTIATION_FAILED, "the peer protocol-rejected IPCP")

    def _lcp_signal(self, signal: Signal, now: float) -> None:
        if signal is Signal.UP:
            self._lcp_up(now)
        elif signal is Signal.DOWN:
            self._network_down()
            if self.ipcp is not None:
                ipcp = self.ipcp
                self._run(ipcp, lambda: ipcp.down(now), now)
            self.authenticator = self.auth_peer = None
            if self.phase is not Phase.TERMINATE:
                self.phase = Phase.ESTABLISH
        elif signal is Signal.FINISHED:
            self._set_reason(EndReason.NO_ANSWER)
            self._end()

    def _lcp_up(self, now: float) -> None:
        terms = self.lcp.lcp.terms
        self._send_accm = terms.send_accm
        self._send_acfc, self._send_pfc = terms.send_acfc, terms.send_pfc
        self._send_fcs32 = terms.send_fcs32
        self._peer_mru = terms.peer_mru
        self.deframer.expect_fcs32 = terms.recv_fcs32
        self._events.append(LinkOpened(replace(terms)))
        self.phase = Phase.AUTHENTICATE
        if terms.we_demand is not None:
            self.authenticator = authenticator_for(terms.we_demand, self.config.accounts, self.rng)
            self.authenticator.start(now)
            self._flush(self.authenticator.protocol.protocol, self.authenticator.outbox)
        if terms.peer_demands is not None:
            if self.config.login is None:
                self.close(now, EndReason.PEER_REFUSED_AUTH, "no login to answer with")
                return
            self.auth_peer = peer_for(terms.peer_demands, self.config.login)
            self.auth_peer.start(now)
            self._flush(self.auth_peer.protocol.protocol, self.auth_peer.outbox)
        self._maybe_network(now)

    def _after_auth(self, machine: Authenticator | AuthPeer, now: float) -> None:
        self._flush(machine.protocol.protocol, machine.outbox)
        outcome = machine.outcome
        if outcome is None or machine in self._auth_reported:
            return
        self._auth_reported.append(machine)
        self._events.append(AuthDone(outcome))
        if outcome.failure is None:
            self._maybe_network(now)
        elif outcome.failure is Failure.REJECTED:
            self.close(now, EndReason.AUTHENTICATION_FAILED, outcome.message)
        else:
            self.close(now, EndReason.AUTHENTICATION_TIMEOUT, outcome.failure.value)

    def _maybe_network(self, now: float) -> None:
        if self.phase is not Phase.AUTHENTICATE:
            return
        for machine in (self.authenticator, self.auth_peer):
            if machine is not None and (machine.outcome is None or not machine.outcome.ok):
                return
        self.phase = Phase.NETWORK
        self._start_ipcp(now)

    def _start_ipcp(self, now: float) -> None:
        c = self.config
        if self.role is Role.SERVER:
            if self.peer_address is None:
                self.peer_address = self.pool.allocate() if self.pool is not None else None
            if self.peer_address is None:
                self.close(now, EndReason.NO_ADDRESS)
                return
            self.ipcp_policy = IpcpServerPolicy(
                c.local_address, self.peer_address, c.dns, dns_policy=c.dns_policy, vj=c.vj
            )
        else:
            self.ipcp_policy = IpcpClientPolicy(
                c.address, c.dns, vj=c.vj, ignore_reject=c.ignore_ipcp_reject
            )
        ipcp = Layer(Protocol.IPCP, self.ipcp_policy, c.ipcp_timing, name="IPCP")
        self.ipcp = ipcp
        self._run(ipcp, lambda: ipcp.open(now), now)
        self._run(ipcp, lambda: ipcp.up(now), now)

    def _ipcp_signal(self, signal: Signal, now: float) -> None:
        if signal is Signal.UP:
            self._network_up(now)
        elif signal is Signal.DOWN:
            self._network_down()
        elif signal is Signal.FINISHED and self.phase is Phase.NETWORK:
            self.close(now, EndReason.NEGOTIATION_FAILED, "IPCP did not come up")

    def _network_up(self, now: float) -> None:
        assert self.ipcp_policy is not None
        terms = self.ipcp_policy.terms
        self._compressor = None
        self._decompressor = None
        if terms.send_vj is not None:
            self._compressor = Compressor(
                terms.send_vj.max_slot_id + 1, compress_slot_id=terms.send_vj.comp_slot_id
            )
        if terms.recv_vj is not None:
            self._decompressor = Decompressor(terms.recv_vj.max_slot_id + 1)
        self.network_up = True
        if self.config.idle_timeout > 0:
            self._idle_at = now + self.config.idle_timeout
        local, peer = terms.local, terms.peer
        vj = terms.send_vj is not None or terms.recv_vj is not None
        self._events.append(NetworkUp(local, peer, terms.dns, self._peer_mru, vj))

    def _network_down(self) -> None:
        if self.network_up:
            self.network_up = False
            self._idle_at = None
            self._events.append(NetworkDown())

    # -- the end --------------------------------------------------------------------------

    def _set_reason(self, reason: EndReason, detail: str = "") -> None:
        if self.end_reason is None:
            self.end_reason = reason
            self.end_detail = detail

    def _lower_down(self, now: float) -> None:
        self._set_reason(EndReason.HUNG_UP)
        self._network_down()
        self._run(self.lcp, lambda: self.lcp.down(now), now)
        self._end()

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._network_down()
        self.phase = Phase.DEAD
        if self.pool is not None and self.peer_address is not None:
            self.pool.release(self.peer_address)
        reason = self.end_reason or EndReason.NO_ANSWER
        self._events.append(LinkEnded(reason, _CAUSES[(reason, self.role)], self.end_detail))

    @property
    def ended(self) -> bool:
        return self._ended
