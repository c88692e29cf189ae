"""The UDP 7655 probe, byte for byte as research/flycast.md describes Flycast's side."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.testing import FakeDatagramTransport

from dcsim.dcnet.probe import AccessPoint, ProbeError, ProbeProtocol, answer

DISCOVER = bytes.fromhex("01c015dc03")


def test_discover_with_no_access_points_sends_flycast_to_us() -> None:
    assert answer(DISCOVER, []) == DISCOVER


def test_discover_lists_access_points() -> None:
    points = [AccessPoint(IPv4Address("192.168.1.10"), "dcsim"), AccessPoint(name="x" * 40)]
    reply = answer(DISCOVER, points)
    assert (
        reply
        == DISCOVER
        + bytes.fromhex("c0a8010a")
        + b"\x05dcsim"
        + bytes.fromhex("7f000001")
        + b"\x0f"
        + b"x" * 15
    )


def test_discover_reply_fits_512_octets() -> None:
    points = [AccessPoint(name=f"ap{i:013d}") for i in range(100)]
    reply = answer(DISCOVER, points)
    assert len(reply) <= 512 and (len(reply) - 5) % 20 == 0


def test_ping_is_echoed_as_pong() -> None:
    ping = bytes.fromhex("01c015dc01") + (123456789).to_bytes(8, "little")
    assert answer(ping, []) == bytes.fromhex("01c015dc02") + ping[5:]


@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b"hello",
        bytes.fromhex("dc15c00103"),
        bytes.fromhex("01c015dc01"),
        bytes.fromhex("01c015dc09"),
    ],
)
def test_other_datagrams_are_refused(datagram: bytes) -> None:
    with pytest.raises(ProbeError):
        answer(datagram, [])


def test_protocol_answers_and_drops() -> None:
    protocol = ProbeProtocol([])
    transport = FakeDatagramTransport()
    protocol.makeConnection(transport)
    protocol.datagramReceived(DISCOVER, ("127.0.0.1", 40000))
    protocol.datagramReceived(b"junk", ("127.0.0.1", 40000))
    assert transport.written == [(DISCOVER, ("127.0.0.1", 40000))]
    assert (protocol.answered, protocol.dropped) == (1, 1)


@given(st.binary(max_size=600))
def test_arbitrary_datagrams(datagram: bytes) -> None:
    try:
        reply = answer(datagram, [AccessPoint()])
    except ProbeError:
        return
    assert len(reply) <= 512
