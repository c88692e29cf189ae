"""A user-space TCP (RFC 9293), sans-IO, shaped like smoltcp's ``socket/tcp.rs``.

:class:`TcpSocket` never reads a clock or touches a link. The edge feeds it segments with
``process(now, seg)``, asks for the segments due with ``dispatch(now)``, and calls again
at ``poll_at()``. The application side is ``send``/``recv``/``close``/``abort``, and
:meth:`TcpSocket.events` says what happened (established, peer closed, closed and why).

What it does: the three-way handshake (and simultaneous open), MSS negotiation
(RFC 9293 3.7.1, default 536 when absent), a sliding window with flow control and
receiver-side silly-window avoidance (RFC 1122 4.2.3.3), Nagle (RFC 896), delayed ACKs
(RFC 1122 4.2.3.2), retransmission with RFC 6298 timers and Karn's rule, Reno/NewReno
congestion control (RFC 5681, RFC 6582), FIN/RST with RFC 5961 challenge ACKs,
TIME-WAIT, zero-window probing (RFC 9293 3.8.6.1) and path MTU discovery (RFC 1191: DF
set, the MSS follows fragmentation-needed). Window scaling, SACK and timestamps are not
offered (a Dreamcast-era stack did without; the peer's offers are ignored, as RFC 7323
allows).

Sequence numbers are kept unwrapped (plain ints that grow past 2**32) and wrapped only on
the wire, so comparisons are ordinary comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from twisted.logger import Logger

from dcsim.net.wire.tcp import ACK, FIN, PSH, RST, SYN, TcpRepr

log = Logger()

MOD = 1 << 32
HALF = 1 << 31
DEFAULT_MSS = 536  # RFC 9293 3.7.1: assume 536 when the peer sends no MSS option
MAX_WINDOW = 0xFFFF  # no window scaling
IP_TCP_HEADERS = 40


class TcpState(IntEnum):
    CLOSED = 0
    LISTEN = 1
    SYN_SENT = 2
    SYN_RECEIVED = 3
    ESTABLISHED = 4
    FIN_WAIT_1 = 5
    FIN_WAIT_2 = 6
    CLOSE_WAIT = 7
    CLOSING = 8
    LAST_ACK = 9
    TIME_WAIT = 10


SYNCHRONIZED = frozenset(TcpState) - {TcpState.CLOSED, TcpState.LISTEN, TcpState.SYN_SENT}
_RECEIVING = frozenset({TcpState.ESTABLISHED, TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2})


@dataclass(frozen=True)
class TcpConfig:
    """Per-host TCP parameters. Times in seconds."""

    rcv_buf: int = 65535  # receive buffer = the largest window advertised
    snd_buf: int = 65536  # send buffer inside the core; the transport queues the rest
    rto_initial: float = 1.0  # RFC 6298 2.1
    rto_min: float = 1.0  # RFC 6298 2.4 (Linux uses 0.2)
    rto_max: float = 60.0  # RFC 6298 2.5
    granularity: float = 0.001  # G of RFC 6298
    syn_retries: int = 6  # SYN retransmissions before giving up (Linux tcp_syn_retries)
    data_retries: int = 15  # retransmissions before giving up (Linux tcp_retries2, R2)
    delayed_ack: float = 0.2  # RFC 1122 4.2.3.2: at most 0.5 s
    msl: float = 30.0  # TIME-WAIT lasts 2 * msl
    nagle: bool = True  # RFC 896; Twisted's setTcpNoDelay turns it off per connection
    pmtud: bool = True  # set DF and follow fragmentation-needed (RFC 1191)
    honour_frag_needed: bool = True  # False: ignore ICMP fragmentation-needed
    initial_window: int | None = None  # segments; None: RFC 5681 3.1's rule by MSS
    persist_max: float = 60.0  # longest interval between zero-window probes
    keepalive_idle: float = 7200.0  # RFC 1122 4.2.3.6: at least two hours by default
    keepalive_interval: float = 75.0  # Linux tcp_keepalive_intvl
    keepalive_probes: int = 9  # Linux tcp_keepalive_probes
    fin_timeout: float = 60.0  # an orphaned FIN-WAIT-2 is dropped after this (Linux)
    mss: int | None = None  # a stack's own MSS ceiling, advertised and sent (None: MTU - 40)


class CloseReason(Enum):
    DONE = "closed cleanly"
    REFUSED = "connection refused (RST in reply to SYN)"
    RESET = "connection reset by peer"
    TIMED_OUT = "timed out (retransmissions exhausted)"
    UNREACHABLE = "destination unreachable (ICMP)"
    ABORTED = "aborted locally"


@dataclass(frozen=True, slots=True)
class Established:
    pass


@dataclass(frozen=True, slots=True)
class PeerClosed:
    """The peer sent FIN: no more data will arrive."""


@dataclass(frozen=True, slots=True)
class Closed:
    reason: CloseReason
    detail: str = ""


Event = Established | PeerClosed | Closed


def wrap(seq: int) -> int:
    return seq & (MOD - 1)


def unwrap(value: int, near: int) -> int:
    """The unwrapped sequence number closest to *near* whose low 32 bits are *value*."""
    return near + ((value - near + HALF) & (MOD - 1)) - HALF


class TcpSocket:
    """One connection's state machine. Build with :meth:`connect` or :meth:`accept`."""

    def __init__(self, config: TcpConfig, iss: int, mss: int, path_mtu: int) -> None:
        self.config = config
        self.state = TcpState.CLOSED
        self.local_mss = mss  # what we advertise
        self.peer_mss = DEFAULT_MSS
        self.path_mtu = path_mtu
        self.iss = iss
        # Send side (unwrapped).
        self.snd_una = iss
        self.snd_nxt = iss
        self.snd_max = iss
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self._sndbuf = bytearray()
        self._buf_seq = iss + 1  # sequence number of _sndbuf[0]
        self._fin_queued = False
        # Receive side.
        self.irs = 0
        self.rcv_nxt = 0
        self._rcvbuf = bytearray()
        self._ooo: dict[int, bytes] = {}
        self._rcv_adv = 0  # right edge of the window we advertised
        self._fin_received_at: int | None = None
        # Congestion control (RFC 5681), in bytes.
        self.cwnd = 0
        self.ssthresh = MAX_WINDOW
        self._dupacks = 0
        self._recover = iss
        self._in_recovery = False
        # RFC 6298.
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = config.rto_initial
        self._timed: tuple[int, float] | None = None  # (seq, sent at) of the timed segment
        self._retries = 0
        # Timers as values.
        self.rto_at: float | None = None
        self.delack_at: float | None = None
        self.persist_at: float | None = None
        self._persist_backoff = 0
        self.time_wait_at: float | None = None
        self.keepalive_at: float | None = None
        self._keepalive = False
        self._keepalive_probes = 0
        self._read_closed = False
        # Things to send.
        self._ack_now = False
        self._unacked_segments = 0
        self._send_syn = False
        self._send_rst = False
        self._events: list[Event] = []
        self.nagle = config.nagle
        self.last_error = ""
        self.retransmits = 0

    # --- construction ------------------------------------------------------------------

    @classmethod
    def connect(cls, config: TcpConfig, iss: int, mss: int, path_mtu: int) -> TcpSocket:
        """An active open: SYN-SENT, the SYN goes out on the next dispatch."""
        sock = cls(config, iss, mss, path_mtu)
        sock._set_state(TcpState.SYN_SENT)
        sock._send_syn = True
        sock.snd_wnd = 1
        return sock

    @classmethod
    def accept(
        cls, config: TcpConfig, iss: int, mss: int, path_mtu: int, syn: TcpRepr
    ) -> TcpSocket:
        """A passive open from a SYN that reached a listener: SYN-RECEIVED."""
        sock = cls(config, iss, mss, path_mtu)
        sock._take_syn(syn)
        sock._set_state(TcpState.SYN_RECEIVED)
        sock._send_syn = True
        return sock

    def _take_syn(self, syn: TcpRepr) -> None:
        self.irs = syn.seq
        self.rcv_nxt = syn.seq + 1
        self._rcv_adv = self.rcv_nxt + self._free_space()
        if syn.mss is not None and syn.mss > 0:
            self.peer_mss = syn.mss
        self.snd_wnd = syn.window
        self.snd_wl1 = syn.seq
        self.snd_wl2 = syn.ack

    # --- application side --------------------------------------------------------------

    @property
    def mss(self) -> int:
        """The effective send MSS: the peer's limit, the path MTU's (RFC 9293 3.7.1) and the
        stack's own ceiling, if it has one."""
        mss = min(self.peer_mss, self.path_mtu - IP_TCP_HEADERS)
        if self.config.mss is not None:
            mss = min(mss, self.config.mss)
        return max(1, mss)

    @property
    def send_space(self) -> int:
        if self._fin_queued or self.state not in _SENDABLE:
            return 0
        return self.config.snd_buf - len(self._sndbuf)

    @property
    def send_queued(self) -> int:
        """Bytes handed to :meth:`send` and not yet acknowledged."""
        return len(self._sndbuf)

    def send(self, data: bytes) -> int:
        """Queue as much of *data* as fits; return how much was taken."""
        n = min(len(data), self.send_space)
        if n:
            self._sndbuf += data[:n] if n < len(data) else data
        return n

    @property
    def recv_available(self) -> int:
        return len(self._rcvbuf)

    def recv(self, limit: int | None = None) -> bytes:
        """Take received in-order data; opening the window may call for an update."""
        if limit is None or limit >= len(self._rcvbuf):
            data = bytes(self._rcvbuf)
            self._rcvbuf.clear()
        else:
            data = bytes(self._rcvbuf[:limit])
            del self._rcvbuf[:limit]
        if data and self.state in _RECEIVING:
            # RFC 1122 4.2.3.3: announce a larger window only when it grew enough.
            new_edge = self.rcv_nxt + self._free_space()
            if new_edge - self._rcv_adv >= min(self.config.rcv_buf // 2, self.local_mss):
                self._ack_now = True
        return data

    def close(self, *, reading: bool = True) -> None:
        """Send FIN after the queued data (RFC 9293 3.10.4).

        With *reading* (a full close, not a half-close) the application will read no more:
        new data from the peer is answered with RST, and a FIN-WAIT-2 that the peer never
        ends is dropped after ``fin_timeout``, as Linux treats an orphaned socket."""
        self._read_closed = self._read_closed or reading
        if self.state in (TcpState.SYN_SENT, TcpState.LISTEN):
            self._set_state(TcpState.CLOSED)
            self._events.append(Closed(CloseReason.DONE))
        elif self.state in (TcpState.SYN_RECEIVED, TcpState.ESTABLISHED, TcpState.CLOSE_WAIT):
            self._fin_queued = True

    def abort(self) -> None:
        """Send RST (if synchronized) and close at once."""
        if self.state in SYNCHRONIZED and self.state != TcpState.TIME_WAIT:
            self._send_rst = True
        self._closed(CloseReason.ABORTED)

    def set_keepalive(self, enabled: bool, now: float) -> None:
        """Probe an idle connection (RFC 1122 4.2.3.6); Twisted's setTcpKeepAlive."""
        self._keepalive = enabled
        self._keepalive_probes = 0
        self.keepalive_at = now + self.config.keepalive_idle if enabled else None

    def events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    # --- ICMP from the IP layer ----------------------------------------------------------

    def frag_needed(self, mtu: int, now: float) -> None:
        """The path MTU shrank (RFC 1191): shrink segments and resend what was lost."""
        if not self.config.honour_frag_needed or mtu >= self.path_mtu:
            return
        self.path_mtu = max(mtu, 68)
        log.debug("tcp: path MTU now {mtu}, MSS {mss}", mtu=self.path_mtu, mss=self.mss)
        if self.snd_nxt > self.snd_una:
            self.snd_nxt = self.snd_una  # retransmit, not a congestion signal
            self._timed = None

    def unreachable(self, detail: str) -> None:
        """A hard ICMP error: fatal while connecting (as Linux does), soft afterwards."""
        self.last_error = detail
        if self.state == TcpState.SYN_SENT:
            self._closed(CloseReason.UNREACHABLE, detail)

    # --- segments in ---------------------------------------------------------------------

    def process(self, now: float, seg: TcpRepr) -> None:
        state = self.state
        if state == TcpState.CLOSED:
            return
        if self._keepalive:
            self._keepalive_probes = 0
            self.keepalive_at = now + self.config.keepalive_idle
        if state == TcpState.SYN_SENT:
            self._process_syn_sent(now, seg)
            return
        flags = seg.flags
        seq = unwrap(seg.seq, self.rcv_nxt)
        seg_len = len(seg.payload) + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        if state == TcpState.SYN_RECEIVED and flags & SYN and seq == self.irs:
            self._send_syn = True  # our SYN-ACK was lost: send it again
            return
        window = self._rcv_adv - self.rcv_nxt
        if window < 0:
            window = 0
        # RFC 9293 3.10.7.4 first: is the segment acceptable?
        if not _acceptable(seq, seg_len, self.rcv_nxt, window):
            if flags & RST:
                return
            self._ack_now = True
            # A closed window still takes ACKs (RFC 9293 3.10.7.4), and so does an old
            # duplicate (as BSD does): its ACK field may be news even if its data is not,
            # and ignoring it can deadlock two ends that both retransmit.
            old = seq + seg_len <= self.rcv_nxt
            if flags & ACK and not flags & SYN and (old or (window == 0 and seq == self.rcv_nxt)):
                self._process_ack(now, seg, seq)
            return
        if flags & RST:
            # RFC 5961 3.2: exact match resets, anything else in window is challenged.
            if seq == self.rcv_nxt:
                if state == TcpState.SYN_RECEIVED:
                    self._closed(CloseReason.REFUSED)
                else:
                    self._closed(CloseReason.RESET)
            else:
                self._ack_now = True
            return
        if flags & SYN:
            self._ack_now = True  # RFC 5961 4.2 challenge ACK
            return
        if not flags & ACK:
            return
        if not self._process_ack(now, seg, seq):
            return
        if self.state == TcpState.CLOSED:
            return
        payload = seg.payload
        if payload and self.state in _RECEIVING:
            self._receive_data(seq, payload)
        if flags & FIN:
            self._fin_received_at = seq + len(payload)
        if self._fin_received_at is not None and self._fin_received_at == self.rcv_nxt:
            self._receive_fin(now)

    def _process_syn_sent(self, now: float, seg: TcpRepr) -> None:
        flags = seg.flags
        if flags & ACK:
            ack = unwrap(seg.ack, self.snd_nxt)
            if ack <= self.iss or ack > self.snd_max:
                if not flags & RST:
                    self._rst_for(seg)
                return
        if flags & RST:
            if flags & ACK:
                self._closed(CloseReason.REFUSED)
            return
        if not flags & SYN:
            return
        self._take_syn(seg)
        self.snd_wl1 = seg.seq
        if flags & ACK:
            self._ack_received(now, self.iss + 1)
            self.snd_wnd = seg.window
            self.snd_wl2 = self.iss + 1
            self._established()
            self._ack_now = True
        else:  # simultaneous open
            self._set_state(TcpState.SYN_RECEIVED)
            self._send_syn = True
            self.snd_nxt = self.iss

    def _rst_for(self, seg: TcpRepr) -> None:
        self._pending_rst = seg
        self._send_rst = True

    def _process_ack(self, now: float, seg: TcpRepr, seq: int) -> bool:
        ack = unwrap(seg.ack, self.snd_una)
        state = self.state
        if state == TcpState.SYN_RECEIVED:
            if not self.snd_una < ack <= self.snd_max:
                self._rst_for(seg)
                return False
            self._established()
            self.snd_wnd = seg.window
            self.snd_wl1, self.snd_wl2 = seq, ack
        if ack > self.snd_max:
            self._ack_now = True  # acknowledges something not yet sent
            return False
        if ack > self.snd_una:
            self._ack_received(now, ack)
        elif (
            ack == self.snd_una
            and self.snd_max > self.snd_una
            and not seg.payload
            and not seg.flags & (SYN | FIN)
            and seg.window == self.snd_wnd
        ):
            self._duplicate_ack()
        # Window update (RFC 9293 3.10.7.4, fifth check).
        if self.snd_wl1 < seq or (self.snd_wl1 == seq and self.snd_wl2 <= ack):
            if seg.window and not self.snd_wnd:
                self.persist_at = None
                self._persist_backoff = 0
            self.snd_wnd = seg.window
            self.snd_wl1, self.snd_wl2 = seq, ack
        fin_acked = self._fin_sent and self.snd_una >= self._fin_seq + 1
        state = self.state
        if state == TcpState.FIN_WAIT_1 and fin_acked:
            self._set_state(TcpState.FIN_WAIT_2)
            if self._read_closed:
                self.time_wait_at = now + self.config.fin_timeout
        elif state == TcpState.CLOSING and fin_acked:
            self._enter_time_wait(now)
        elif state == TcpState.LAST_ACK and fin_acked:
            self._closed(CloseReason.DONE)
            return False
        elif state == TcpState.TIME_WAIT and seg.flags & FIN:
            self._ack_now = True
            self.time_wait_at = now + 2 * self.config.msl
        return True

    @property
    def _fin_sent(self) -> bool:
        return self._fin_queued and self.snd_max > self._fin_seq

    @property
    def _fin_seq(self) -> int:
        return self._buf_seq + len(self._sndbuf)

    def _ack_received(self, now: float, ack: int) -> None:
        acked = ack - self.snd_una
        # Drop acknowledged bytes from the send buffer (the SYN and FIN take no bytes).
        drop = min(ack, self._buf_seq + len(self._sndbuf)) - self._buf_seq
        if drop > 0:
            del self._sndbuf[:drop]
            self._buf_seq += drop
        self.snd_una = ack
        if self.snd_nxt < ack:
            self.snd_nxt = ack
        self._retries = 0
        if self._timed is not None and ack > self._timed[0]:
            self._sample_rtt(now - self._timed[1])
            self._timed = None
        # RFC 6298 5.2/5.3: stop the timer when all is acknowledged, else restart it.
        self.rto_at = None if ack >= self.snd_max else now + self.rto
        # Congestion control.
        mss = self.mss
        if self._in_recovery:
            if ack >= self._recover:  # RFC 6582 3.2 step 3: full acknowledgement
                self._in_recovery = False
                self.cwnd = self.ssthresh
            else:  # partial acknowledgement: retransmit the next hole, deflate
                self._retransmit_one = True
                self.retransmits += 1
                self.cwnd = max(self.cwnd - acked + mss, mss)
        elif self.cwnd < self.ssthresh:
            self.cwnd += min(acked, mss)  # slow start
        else:
            self.cwnd += max(1, mss * mss // self.cwnd)  # congestion avoidance
        self._dupacks = 0

    def _duplicate_ack(self) -> None:
        self._dupacks += 1
        mss = self.mss
        if self._in_recovery:
            self.cwnd += mss  # inflate for every segment that left the network
        elif self._dupacks == 3 and self.snd_una >= self._recover:
            # RFC 5681 3.2 fast retransmit, RFC 6582 fast recovery.
            flight = self.snd_max - self.snd_una
            self.ssthresh = max(flight // 2, 2 * mss)
            self._recover = self.snd_max
            self._in_recovery = True
            self.cwnd = self.ssthresh + 3 * mss
            self._retransmit_one = True
            self._timed = None
            self.retransmits += 1

    _retransmit_one = False
    _pending_rst: TcpRepr | None = None

    def _sample_rtt(self, r: float) -> None:
        """RFC 6298 2.2 and 2.3."""
        cfg = self.config
        if self.srtt is None:
            self.srtt = r
            self.rttvar = r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        self.rto = min(
            max(self.srtt + max(cfg.granularity, 4 * self.rttvar), cfg.rto_min), cfg.rto_max
        )

    def _receive_data(self, seq: int, payload: bytes) -> None:
        if self._read_closed and seq + len(payload) > self.rcv_nxt:
            # Linux: data for a socket the application closed is answered with RST.
            self._send_rst = True
            self._closed(CloseReason.RESET, "data arrived after close")
            return
        if seq < self.rcv_nxt:
            payload = payload[self.rcv_nxt - seq :]
            seq = self.rcv_nxt
        room = self._rcv_adv - seq
        if room <= 0:
            self._ack_now = True
            return
        if len(payload) > room:
            payload = payload[:room]
        if seq == self.rcv_nxt:
            self._rcvbuf += payload
            self.rcv_nxt += len(payload)
            if self._ooo:
                self._drain_ooo()
                self._ack_now = True  # RFC 5681 4.2: ACK at once when a gap fills
            self._unacked_segments += 1
            if self._unacked_segments >= 2 or len(payload) >= self.local_mss * 2:
                self._ack_now = True
        else:
            old = self._ooo.get(seq)
            if old is None or len(old) < len(payload):
                self._ooo[seq] = payload
            self._ack_now = True  # a duplicate ACK tells the sender about the gap

    def _drain_ooo(self) -> None:
        ooo = self._ooo
        progressed = True
        while progressed and ooo:
            progressed = False
            for start in sorted(ooo):
                if start > self.rcv_nxt:
                    break
                data = ooo.pop(start)
                end = start + len(data)
                if end > self.rcv_nxt:
                    self._rcvbuf += data[self.rcv_nxt - start :]
                    self.rcv_nxt = end
                progressed = True

    def _receive_fin(self, now: float) -> None:
        self._fin_received_at = None
        self.rcv_nxt += 1
        self._ack_now = True
        self._events.append(PeerClosed())
        state = self.state
        if state in (TcpState.SYN_RECEIVED, TcpState.ESTABLISHED):
            self._set_state(TcpState.CLOSE_WAIT)
        elif state == TcpState.FIN_WAIT_1:
            if self.snd_una > self._fin_seq:
                self._enter_time_wait(now)
            else:
                self._set_state(TcpState.CLOSING)
        elif state == TcpState.FIN_WAIT_2:
            self._enter_time_wait(now)

    # --- state changes -------------------------------------------------------------------

    def _set_state(self, state: TcpState) -> None:
        if state != self.state:
            log.debug("tcp: {old} -> {new}", old=self.state.name, new=state.name)
            self.state = state

    def _established(self) -> None:
        self._set_state(TcpState.ESTABLISHED)
        mss = self.mss
        if self.config.initial_window is not None:
            self.cwnd = self.config.initial_window * mss
        else:  # RFC 5681 3.1
            self.cwnd = 2 * mss if mss > 2190 else 3 * mss if mss > 1095 else 4 * mss
        self._events.append(Established())

    def _enter_time_wait(self, now: float) -> None:
        self._set_state(TcpState.TIME_WAIT)
        self.rto_at = self.delack_at = self.persist_at = self.keepalive_at = None
        self.time_wait_at = now + 2 * self.config.msl
        self._events.append(Closed(CloseReason.DONE))

    def _closed(self, reason: CloseReason, detail: str = "") -> None:
        was_time_wait = self.state == TcpState.TIME_WAIT
        self._set_state(TcpState.CLOSED)
        self.rto_at = self.delack_at = self.persist_at = self.time_wait_at = None
        self.keepalive_at = None
        self._ack_now = self._send_syn = self._retransmit_one = False
        self._zero_window_probe = False
        if not was_time_wait:
            self._events.append(Closed(reason, detail or self.last_error))

    @property
    def finished(self) -> bool:
        """Closed and nothing left to send: the host may forget this socket."""
        return self.state == TcpState.CLOSED and not self._send_rst

    # --- timers and segments out -------------------------------------------------------

    def poll_at(self) -> float | None:
        """When to call :meth:`dispatch` next: 0.0 for "now", None for "no need"."""
        if self.state == TcpState.CLOSED:
            return 0.0 if self._send_rst else None
        if self._send_rst or self._send_syn or self._ack_now or self._retransmit_one:
            return 0.0
        if self.state in _SENDABLE_OR_FIN and self._can_send():
            return 0.0
        deadline = None
        for t in (
            self.rto_at,
            self.delack_at,
            self.persist_at,
            self.time_wait_at,
            self.keepalive_at,
        ):
            if t is not None and (deadline is None or t < deadline):
                deadline = t
        return deadline

    def dispatch(self, now: float) -> list[TcpRepr]:
        """The segments to send at *now* (after running any expired timer)."""
        out: list[TcpRepr] = []
        if self._send_rst:
            self._send_rst = False
            out.append(self._make_rst())
            return out
        self._run_timers(now)
        state = self.state
        if state == TcpState.CLOSED:
            return out
        if self._send_syn:
            self._send_syn = False
            self._retransmit_one = False
            out.append(self._make_syn(now))
            return out
        if state in _SENDABLE_OR_FIN:
            self._send_data(now, out)
        self._retransmit_one = False
        if self._ack_now:
            # A bare ACK carries the next new sequence number, not that of a segment being
            # retransmitted (BSD's rule): the peer may hold data beyond snd_nxt already.
            out.append(self._segment(self.snd_max, ACK, b""))
        elif self._unacked_segments and self.delack_at is None:
            self.delack_at = now + self.config.delayed_ack
        return out

    def _advertise(self) -> int:
        """The window for an outgoing segment; every segment acknowledges all received.

        The right edge never moves left (RFC 9293 3.8.6.2.2) and moves right only by a
        useful amount (receiver SWS avoidance, RFC 1122 4.2.3.3)."""
        self._ack_now = False
        self._unacked_segments = 0
        self.delack_at = None
        edge = self.rcv_nxt + self._free_space()
        step = min(self.config.rcv_buf // 2, self.local_mss)
        if edge - self._rcv_adv >= step:
            self._rcv_adv = edge
        return max(0, min(self._rcv_adv - self.rcv_nxt, MAX_WINDOW))

    def _run_timers(self, now: float) -> None:
        if self.time_wait_at is not None and now >= self.time_wait_at:
            self._closed(CloseReason.DONE)
            return
        if self.delack_at is not None and now >= self.delack_at:
            self._ack_now = True
        if self.rto_at is not None and now >= self.rto_at:
            self._retransmit_timeout(now)
        if self.keepalive_at is not None and now >= self.keepalive_at:
            if self._keepalive_probes >= self.config.keepalive_probes:
                self._closed(CloseReason.TIMED_OUT, "keepalive probes unanswered")
                return
            self._keepalive_probes += 1
            self._zero_window_probe = True  # the same segment: an old sequence number
            self.keepalive_at = now + self.config.keepalive_interval
        if self.persist_at is not None and now >= self.persist_at:
            self._zero_window_probe = True
            self._persist_backoff += 1
            self.persist_at = now + min(
                self.rto * 2**self._persist_backoff, self.config.persist_max
            )

    _zero_window_probe = False

    def _retransmit_timeout(self, now: float) -> None:
        cfg = self.config
        self._retries += 1
        limit = (
            cfg.syn_retries
            if self.state in (TcpState.SYN_SENT, TcpState.SYN_RECEIVED)
            else cfg.data_retries
        )
        if self._retries > limit:
            self._closed(CloseReason.TIMED_OUT)
            return
        self.retransmits += 1
        self.rto = min(self.rto * 2, cfg.rto_max)  # RFC 6298 5.5
        self._timed = None  # Karn
        if self.state in (TcpState.SYN_SENT, TcpState.SYN_RECEIVED):
            self._send_syn = True
            self.rto_at = None
            return
        mss = self.mss
        flight = self.snd_max - self.snd_una
        self.ssthresh = max(flight // 2, 2 * mss)  # RFC 5681 (4)
        self.cwnd = mss  # loss window
        self._in_recovery = False
        self._recover = self.snd_max
        self.snd_nxt = self.snd_una  # go back N, starting with the head even in a zero window
        self._retransmit_one = True
        self.rto_at = None

    def _can_send(self) -> bool:
        return self._next_len() > 0 or self._fin_due()

    def _next_len(self) -> int:
        """How many bytes the next new segment at snd_nxt may carry now (0: none)."""
        nxt = self.snd_nxt
        unsent = self._buf_seq + len(self._sndbuf) - nxt
        if unsent <= 0:
            return 0
        usable = self.snd_una + min(self.snd_wnd, self.cwnd) - nxt
        if usable <= 0:
            return 0
        mss = self.mss
        n = min(unsent, usable, mss)
        if n < mss and self.snd_una < nxt:
            if self.nagle and nxt >= self.snd_max:
                return 0  # Nagle: wait for the ACK before sending a runt
            if n < unsent:
                return 0  # sender SWS avoidance: wait for a larger window
        return n

    def _fin_due(self) -> bool:
        return (
            self._fin_queued
            and self.snd_nxt == self._fin_seq
            and (not self._fin_sent or self.snd_nxt < self.snd_max)
        )

    def _send_data(self, now: float, out: list[TcpRepr]) -> None:
        mss = self.mss
        buf_end = self._buf_seq + len(self._sndbuf)
        if self._retransmit_one:
            self._retransmit_one = False
            n = min(mss, buf_end - self.snd_una)
            if n > 0:
                out.append(self._data_segment(self.snd_una, n, now, retransmit=True))
        while (n := self._next_len()) > 0:
            nxt = self.snd_nxt
            out.append(self._data_segment(nxt, n, now, retransmit=nxt < self.snd_max))
        if self._fin_due():
            fin_seq = buf_end
            out.append(self._segment(fin_seq, FIN | ACK, b""))
            self.snd_nxt = fin_seq + 1
            self.snd_max = max(self.snd_max, self.snd_nxt)
            if self.rto_at is None:
                self.rto_at = now + self.rto
            if self.state == TcpState.ESTABLISHED or self.state == TcpState.SYN_RECEIVED:
                self._set_state(TcpState.FIN_WAIT_1)
            elif self.state == TcpState.CLOSE_WAIT:
                self._set_state(TcpState.LAST_ACK)
        # Zero window: probe (RFC 9293 3.8.6.1) with an old sequence number, as Linux does.
        if self.snd_wnd:
            self.persist_at = None
        elif buf_end > self.snd_una and self.snd_max == self.snd_una and self.persist_at is None:
            self.persist_at = now + self.rto
        if self._zero_window_probe:
            self._zero_window_probe = False
            out.append(self._segment(self.snd_una - 1, ACK, b""))

    def _data_segment(self, seq: int, n: int, now: float, *, retransmit: bool) -> TcpRepr:
        start = seq - self._buf_seq
        payload = bytes(self._sndbuf[start : start + n])
        flags = ACK
        end = seq + n
        if end == self._buf_seq + len(self._sndbuf):
            flags |= PSH
        seg = self._segment(seq, flags, payload)
        if end > self.snd_nxt:
            self.snd_nxt = end
        if end > self.snd_max:
            self.snd_max = end
            if self._timed is None and not retransmit:
                self._timed = (seq, now)
        if self.rto_at is None:
            self.rto_at = now + self.rto
        return seg

    def _make_syn(self, now: float) -> TcpRepr:
        self.snd_nxt = self.iss + 1
        self.snd_max = max(self.snd_max, self.snd_nxt)
        if self._retries == 0 and self._timed is None:
            self._timed = (self.iss, now)
        self.rto_at = now + self.rto
        if self.state == TcpState.SYN_SENT:
            window = min(self._free_space(), MAX_WINDOW)
            return TcpRepr(0, 0, wrap(self.iss), 0, SYN, window, mss=self.local_mss)
        window = self._advertise()
        return TcpRepr(
            0, 0, wrap(self.iss), wrap(self.rcv_nxt), SYN | ACK, window, mss=self.local_mss
        )

    def _make_rst(self) -> TcpRepr:
        bad = self._pending_rst
        self._pending_rst = None
        if bad is not None:  # RFC 9293 3.10.7.3: answer an unacceptable ACK
            return TcpRepr(0, 0, bad.ack, 0, RST, 0)
        return TcpRepr(0, 0, wrap(self.snd_nxt), wrap(self.rcv_nxt), RST | ACK, 0)

    def _segment(self, seq: int, flags: int, payload: bytes) -> TcpRepr:
        window = self._advertise()
        return TcpRepr(0, 0, wrap(seq), wrap(self.rcv_nxt), flags, window, payload)

    def _free_space(self) -> int:
        return max(0, min(self.config.rcv_buf, MAX_WINDOW) - len(self._rcvbuf))


_SENDABLE = frozenset(
    {TcpState.SYN_SENT, TcpState.SYN_RECEIVED, TcpState.ESTABLISHED, TcpState.CLOSE_WAIT}
)
_SENDABLE_OR_FIN = frozenset(
    {
        TcpState.ESTABLISHED,
        TcpState.CLOSE_WAIT,
        TcpState.FIN_WAIT_1,
        TcpState.CLOSING,
        TcpState.LAST_ACK,
    }
)


def _acceptable(seq: int, seg_len: int, rcv_nxt: int, window: int) -> bool:
    """RFC 9293 3.10.7.4's four-case acceptability test."""
    if seg_len == 0:
        if window == 0:
            return seq == rcv_nxt
        return rcv_nxt <= seq < rcv_nxt + window
    if window == 0:
        return False
    end = seq + seg_len - 1
    return rcv_nxt <= seq < rcv_nxt + window or rcv_nxt <= end < rcv_nxt + window
