"""The DCNet session log: records written by real sessions of the front ends (the
console's PPP client core against the access server, in virtual time), read back, and
every way a session ends given its own code."""

from __future__ import annotations

import io
import json
from ipaddress import IPv4Address

import pytest
from twisted.internet.protocol import DatagramProtocol

from dcsim.dcnet.bba import BbaEnd
from dcsim.dcnet.sessionlog import ENDS, RECORD, End, EndedBy, Link, SessionLog, SessionRecord
from dcsim.ppp.auth import Login
from dcsim.ppp.link import EndReason, NetworkUp
from dcsim.ppp.session import Carrier
from dcsim.ppp.settings import PppSettings
from tests.dcnet.sessions import Dcnet


def online(dcnet: Dcnet, session) -> NetworkUp:  # type: ignore[no-untyped-def]
    box: list = []
    session.up.addBoth(box.append)
    dcnet.run(10)
    (up,) = box
    assert isinstance(up, NetworkUp), up
    return up


def test_a_console_that_terminates_the_link() -> None:
    dcnet = Dcnet()
    console = dcnet.ppp_console(peer="10.1.2.3")
    up = online(dcnet, console)
    dcnet.run(100)
    console.hang_up()
    dcnet.run(10)
    record = dcnet.record()
    assert record.link is Link.PPP and record.carrier is Carrier.TCP
    assert record.front_end == "dcnet-ppp" and record.session == "dcnet-ppp-1"
    assert record.peer_host == "10.1.2.3" and record.peer.startswith("10.1.2.3:")
    assert record.end is End.LCP_TERMINATE and record.ended_by is EndedBy.CONSOLE
    assert record.cause is None and record.user == "flycast1" and record.address == up.local
    assert record.t_start == 0.0 and record.t_online is not None and record.t_online < 1
    assert record.duration == pytest.approx(record.t_end - record.t_start)
    # nothing but LCP echoes for 100 s: the console's silence is the whole session online
    assert record.t_last_datagram is None and record.datagrams_from_console == 0
    assert record.idle_at_end == pytest.approx(record.t_end - record.t_online)  # type: ignore[operator]
    assert record.longest_idle == pytest.approx(record.idle_at_end)
    assert record.requested["IPCP"] == [  # asked, then the Nak's values
        "IP-ADDRESS=0.0.0.0 PRIMARY-DNS=0.0.0.0",
        f"IP-ADDRESS={up.local} PRIMARY-DNS=192.0.2.53",
    ]
    assert record.requested["LCP"][0].startswith("ACCM=0x00000000 MAGIC-NUMBER=")
    assert record.bytes_from_console > 100 and record.bytes_to_console > 100


def test_a_bare_close_is_a_reset_without_terminate() -> None:
    dcnet = Dcnet()
    console = dcnet.ppp_console()
    online(dcnet, console)
    console.transport.loseConnection()  # what Flycast does on a reset
    dcnet.run(10)
    record = dcnet.record()
    assert record.end is End.CLOSED and record.ended_by is EndedBy.CONSOLE
    assert record.reason == EndReason.HUNG_UP.value


def test_idle_periods_and_the_idle_timeout() -> None:
    """The console sends a datagram at 100 s and 400 s, then nothing: dcsim's idle timeout
    (1000 s) hangs up 1000 s after the last one."""
    dcnet = Dcnet(PppSettings(idle_timeout=1000))
    console = dcnet.ppp_console()
    up = online(dcnet, console)
    udp = console.host.listenUDP(0, DatagramProtocol())
    for at in (100, 400):
        dcnet.run(at - dcnet.clock.seconds())
        udp.write(b"x", (str(up.dns[0]), 9))
    dcnet.run(2000)
    record = dcnet.record()
    assert record.end is End.IDLE_TIMEOUT and record.ended_by is EndedBy.DCSIM
    assert record.cause == 8  # automatic disconnect
    assert record.datagrams_from_console == 2
    assert record.t_last_datagram == pytest.approx(400, abs=0.1)
    assert record.idle_at_end == pytest.approx(1000, abs=0.1)
    assert record.longest_idle == pytest.approx(1000, abs=0.1)


def test_dcsim_stopping_terminates_and_says_so() -> None:
    dcnet = Dcnet()
    console = dcnet.ppp_console()
    online(dcnet, console)
    dcnet.front.stop()
    dcnet.run(10)
    record = dcnet.record()
    assert record.end is End.SERVER_TERMINATE and record.ended_by is EndedBy.DCSIM
    assert record.cause == 4


def test_a_refused_login_never_gets_online() -> None:
    dcnet = Dcnet(PppSettings(accept_any_login=False, logins={"dream": "cast"}))
    dcnet.ppp_console(Login("dream", "dog"))
    dcnet.run(30)
    record = dcnet.record()
    assert record.end is End.AUTH_FAILED and record.cause == 6
    assert record.t_online is None and record.idle_at_end is None and record.address is None


def test_records_go_to_the_file_as_json_lines_and_read_back() -> None:
    dcnet = Dcnet()
    sink = io.StringIO()
    dcnet.log._sink = sink
    for _ in range(2):
        console = dcnet.ppp_console()
        online(dcnet, console)
        console.hang_up()
        dcnet.run(10)
    lines = sink.getvalue().splitlines()
    assert len(lines) == 2
    data = json.loads(lines[0])
    assert data["v"] == 1 and data["record"] == RECORD
    assert data["end"] == "lcp_terminate" and data["link"] == "ppp" and data["carrier"] == "tcp"
    assert data["address"] == "198.51.100.129"
    assert [SessionRecord.from_json(json.loads(line)) for line in lines] == dcnet.log.records
    # fields a later version adds are ignored
    assert SessionRecord.from_json({**data, "v": 2, "new_field": [1]}) == dcnet.log.records[0]


def test_every_way_a_session_ends_has_a_stable_code() -> None:
    assert set(ENDS) == set(EndReason) | set(BbaEnd)
    consoles = {reason for reason, (_, who) in ENDS.items() if who is EndedBy.CONSOLE}
    assert consoles == {
        EndReason.PEER_TERMINATED,
        EndReason.HUNG_UP,
        BbaEnd.RELEASED,
        BbaEnd.HUNG_UP,
    }


def test_a_session_log_observer_takes_reports() -> None:
    log = SessionLog()
    dcnet = Dcnet()
    dcnet.front.ppp.observers.append(log)
    console = dcnet.ppp_console()
    online(dcnet, console)
    console.hang_up()
    dcnet.run(10)
    assert log.records == dcnet.log.records
    assert log.records[0].address == IPv4Address("198.51.100.129")
