"""The sans-IO TCP core, driven with segments and explicit times (no Twisted, no links).

Fixtures per state as in smoltcp's tests: a socket in SYN-SENT, ESTABLISHED, ...
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.net.tcp import (
    Closed,
    CloseReason,
    Established,
    PeerClosed,
    TcpConfig,
    TcpSocket,
    TcpState,
    unwrap,
    wrap,
)
from dcsim.net.wire.tcp import ACK, FIN, PSH, RST, SYN, TcpRepr

ISS = 1000
IRS = 5000
CONFIG = TcpConfig()


def seg(flags, seq, ack=0, payload=b"", window=65535, mss=None):
    return TcpRepr(0, 0, wrap(seq), wrap(ack), flags, window, payload, mss)


def syn_sent(now=0.0, config=CONFIG):
    sock = TcpSocket.connect(config, ISS, 1460, 1500)
    [syn] = sock.dispatch(now)
    assert (syn.flags, syn.seq, syn.mss) == (SYN, ISS, 1460)
    return sock


def established(peer_mss=1460, window=65535, config=CONFIG):
    sock = syn_sent(config=config)
    sock.process(0.1, seg(SYN | ACK, IRS, ISS + 1, window=window, mss=peer_mss))
    [ack] = sock.dispatch(0.1)
    assert (ack.flags, ack.seq, ack.ack) == (ACK, ISS + 1, IRS + 1)
    assert sock.events() == [Established()]
    return sock


def test_handshake_and_the_first_rtt_sample():
    sock = established()
    assert sock.state == TcpState.ESTABLISHED
    # RFC 6298 2.2: SRTT = R, RTTVAR = R/2, RTO = max(1 s, SRTT + 4 RTTVAR).
    assert sock.srtt == pytest.approx(0.1) and sock.rttvar == pytest.approx(0.05)
    assert sock.rto == 1.0


def test_a_passive_open_answers_syn_with_syn_ack_and_the_mss():
    sock = TcpSocket.accept(CONFIG, ISS, 536, 576, seg(SYN, IRS, mss=1460))
    [synack] = sock.dispatch(0.0)
    assert (synack.flags, synack.seq, synack.ack, synack.mss) == (SYN | ACK, ISS, IRS + 1, 536)
    assert sock.mss == 536  # our path MTU limits what we send too
    sock.process(0.05, seg(ACK, IRS + 1, ISS + 1))
    assert sock.events() == [Established()]


def test_rst_in_reply_to_syn_is_refusal():
    sock = syn_sent()
    sock.process(0.1, seg(RST | ACK, 0, ISS + 1))
    assert sock.events() == [Closed(CloseReason.REFUSED)]
    assert sock.finished


def test_syn_is_retransmitted_with_doubling_timeouts_then_gives_up():
    sock = syn_sent(config=TcpConfig(syn_retries=3))
    times = []
    now = 0.0
    while not sock.finished:
        now = sock.poll_at()
        out = sock.dispatch(now)
        if out:
            times.append(now)
    assert times == [1.0, 3.0, 7.0]
    assert sock.events() == [Closed(CloseReason.TIMED_OUT)]
    assert now == 15.0


def test_data_is_segmented_by_mss_and_window_and_acknowledged():
    sock = established(peer_mss=536, window=2000)
    assert sock.send(bytes(5000)) == 5000
    out = sock.dispatch(0.2)
    # Initial window 4 x 536 = 2144 (RFC 5681), peer window 2000: three full segments;
    # the 392 bytes left of the window wait (sender SWS avoidance, RFC 1122 4.2.3.4).
    assert [len(s.payload) for s in out] == [536, 536, 536]
    sock.process(0.3, seg(ACK, IRS + 1, ISS + 1 + 1608, window=4000))
    more = sock.dispatch(0.3)
    # Slow start: cwnd 2144 + 536 = 2680 < window 4000: five more full segments.
    assert [len(s.payload) for s in more] == [536] * 5
    assert sock.snd_nxt == ISS + 1 + 1608 + 2680


def test_retransmission_timeout_goes_back_and_backs_off():
    sock = established()
    sock.send(bytes(3000))
    first = sock.dispatch(0.2)
    # Two full segments; Nagle holds the 80-byte runt until they are acknowledged.
    assert [s.seq for s in first] == [ISS + 1, ISS + 1 + 1460]
    assert sock.poll_at() == pytest.approx(1.2)
    again = sock.dispatch(1.2)
    assert [s.seq for s in again] == [ISS + 1]  # cwnd is one segment after a timeout
    assert sock.rto == 2.0 and sock.cwnd == 1460
    assert sock.poll_at() == pytest.approx(3.2)


def test_three_duplicate_acks_trigger_fast_retransmit():
    sock = established()
    sock.send(bytes(1460 * 4))
    sock.dispatch(0.2)
    for _ in range(3):
        sock.process(0.3, seg(ACK, IRS + 1, ISS + 1))
    retransmit, *new = sock.dispatch(0.3)
    assert retransmit.seq == ISS + 1 and len(retransmit.payload) == 1460
    assert sock.ssthresh == 2 * 1460  # max(flight / 2, 2 MSS), RFC 5681 (4)
    # Fast recovery: the window, inflated by three segments, lets the fourth one go.
    assert [s.seq for s in new] == [ISS + 1 + 3 * 1460]


def test_out_of_order_data_is_held_and_a_duplicate_ack_sent():
    sock = established()
    sock.process(0.2, seg(ACK, IRS + 1 + 100, ISS + 1, b"b" * 100))
    [dup] = sock.dispatch(0.2)
    assert dup.ack == IRS + 1 and sock.recv_available == 0
    sock.process(0.3, seg(ACK, IRS + 1, ISS + 1, b"a" * 100))
    [ack] = sock.dispatch(0.3)
    assert ack.ack == IRS + 1 + 200
    assert sock.recv() == b"a" * 100 + b"b" * 100


def test_delayed_ack_waits_then_fires():
    sock = established()
    sock.process(0.2, seg(ACK | PSH, IRS + 1, ISS + 1, b"x"))
    assert sock.dispatch(0.2) == []
    assert sock.poll_at() == pytest.approx(0.4)
    [ack] = sock.dispatch(0.4)
    assert ack.ack == IRS + 2


def test_zero_window_probes_then_resumes():
    sock = established(window=0)
    sock.send(b"hello")
    assert sock.dispatch(0.2) == []
    assert sock.persist_at == pytest.approx(1.2)
    [probe] = sock.dispatch(1.2)
    assert probe.seq == wrap(ISS) and probe.payload == b""  # an old sequence number
    sock.process(1.3, seg(ACK, IRS + 1, ISS + 1, window=100))
    [data] = sock.dispatch(1.3)
    assert data.payload == b"hello"


def test_close_sends_fin_and_time_wait_lasts_two_msl():
    sock = established()
    sock.close()
    [fin] = sock.dispatch(0.2)
    assert fin.flags == FIN | ACK and sock.state == TcpState.FIN_WAIT_1
    sock.process(0.3, seg(ACK, IRS + 1, ISS + 2))
    assert sock.state == TcpState.FIN_WAIT_2
    sock.process(0.4, seg(FIN | ACK, IRS + 1, ISS + 2))
    [ack] = sock.dispatch(0.4)
    assert ack.ack == IRS + 2 and sock.state == TcpState.TIME_WAIT
    assert sock.events() == [PeerClosed(), Closed(CloseReason.DONE)]
    assert sock.poll_at() == pytest.approx(60.4)
    sock.dispatch(60.4)
    assert sock.finished


def test_rst_outside_the_exact_sequence_gets_a_challenge_ack():
    sock = established()
    sock.process(0.2, seg(RST, IRS + 1 + 10, 0))
    [challenge] = sock.dispatch(0.2)
    assert challenge.flags == ACK and sock.state == TcpState.ESTABLISHED
    sock.process(0.3, seg(RST, IRS + 1, 0))
    assert sock.events() == [Closed(CloseReason.RESET)]


def test_frag_needed_shrinks_the_mss_and_resends_at_once():
    sock = established()
    sock.send(bytes(2920))
    sock.dispatch(0.2)
    sock.frag_needed(1454, 0.25)
    out = sock.dispatch(0.25)
    assert sock.mss == 1414 and [len(s.payload) for s in out][:1] == [1414]
    ignoring = established(config=TcpConfig(honour_frag_needed=False))
    ignoring.frag_needed(1454, 0.25)
    assert ignoring.mss == 1460


def test_sequence_numbers_wrap():
    assert unwrap(5, (1 << 32) - 10) == (1 << 32) + 5
    assert unwrap((1 << 32) - 10, (1 << 32) + 5) == (1 << 32) - 10
    sock = TcpSocket.connect(CONFIG, (1 << 32) - 3, 1460, 1500)
    sock.dispatch(0.0)
    sock.process(0.1, seg(SYN | ACK, IRS, (1 << 32) - 2, mss=1460))
    sock.send(bytes(10))
    [data] = [s for s in sock.dispatch(0.1) if s.payload]
    assert data.seq == (1 << 32) - 2
    sock.process(0.2, seg(ACK, IRS + 1, 8))  # the peer acknowledges across the wrap
    assert sock.snd_una == (1 << 32) + 8 and sock.send_queued == 0


@given(
    st.lists(
        st.tuples(
            st.integers(0, 0xFF),
            st.integers(0, 2**32 - 1),
            st.integers(0, 2**32 - 1),
            st.binary(max_size=64),
            st.integers(0, 0xFFFF),
        ),
        max_size=30,
    )
)
def test_arbitrary_segments_never_break_the_state_machine(segments):
    sock = established()
    sock.send(bytes(3000))
    now = 0.2
    for flags, seq, ack, payload, window in segments:
        now += 0.01
        sock.process(now, TcpRepr(0, 0, seq, ack, flags, window, payload))
        sock.dispatch(now)
        sock.recv()
        assert sock.recv_available == 0
        assert len(sock._ooo) <= 65535
        due = sock.poll_at()
        assert due is None or due > now or due == 0.0 or sock.dispatch(now) is not None


def test_an_old_duplicate_still_delivers_its_ack_and_bare_acks_use_snd_max():
    sock = established()
    sock.send(bytes(2920))
    sock.dispatch(0.2)  # two segments out
    sock.dispatch(1.2)  # timeout: back to snd_una, one segment resent
    assert sock.snd_nxt == ISS + 1 + 1460 and sock.snd_max == ISS + 1 + 2920
    sock.process(1.3, seg(ACK, IRS + 1, ISS + 1, b"x" * 10))
    assert sock.dispatch(1.3) == []
    [ack] = sock.dispatch(1.5)  # the delayed ACK
    assert ack.seq == ISS + 1 + 2920  # snd_max, not the retransmission's snd_nxt
    # The peer's retransmission of data we already have, acknowledging everything we sent:
    sock.process(1.6, seg(ACK, IRS + 1, ISS + 1 + 2920, b"x" * 10))
    assert sock.snd_una == ISS + 1 + 2920 and sock.send_queued == 0


def test_after_a_full_close_new_data_is_reset_and_fin_wait_2_times_out():
    sock = established()
    sock.close()
    sock.dispatch(0.2)  # FIN
    sock.process(0.3, seg(ACK, IRS + 1, ISS + 2))
    assert sock.state == TcpState.FIN_WAIT_2 and sock.poll_at() == pytest.approx(60.3)
    sock.dispatch(60.3)  # the peer never closed: an orphan is dropped (Linux's fin_timeout)
    assert sock.finished
    talker = established()
    talker.close()
    talker.dispatch(0.2)
    talker.process(0.3, seg(ACK, IRS + 1, ISS + 2, b"late data"))
    [rst] = talker.dispatch(0.3)
    assert rst.flags & RST and talker.events() == [
        Closed(CloseReason.RESET, "data arrived after close")
    ]
    half = established()
    half.close(reading=False)  # loseWriteConnection: still reading
    half.dispatch(0.2)
    half.process(0.3, seg(ACK, IRS + 1, ISS + 2, b"more"))
    assert half.recv() == b"more" and half.state == TcpState.FIN_WAIT_2


def test_keepalive_probes_an_idle_connection_and_gives_up_without_answers():
    config = TcpConfig(keepalive_idle=100, keepalive_interval=10, keepalive_probes=3)
    sock = established(config=config)
    sock.set_keepalive(True, 0.2)
    assert sock.poll_at() == pytest.approx(100.2)
    [probe] = sock.dispatch(100.2)
    assert probe.seq == wrap(ISS) and probe.payload == b""  # snd_una - 1: must be answered
    sock.process(100.3, seg(ACK, IRS + 1, ISS + 1))  # the answer resets the count
    assert sock.poll_at() == pytest.approx(200.3)
    for when in (200.3, 210.3, 220.3):
        assert len(sock.dispatch(when)) == 1
    sock.dispatch(230.3)
    assert sock.events() == [Closed(CloseReason.TIMED_OUT, "keepalive probes unanswered")]
