"""LCP options and LCP's own codes, driven packet by packet against the access server."""

from __future__ import annotations

import random

from dcsim.ppp.frame import Protocol
from dcsim.ppp.lcp import AuthProtocol, LcpConfig, LcpOption
from dcsim.ppp.link import EndReason, LinkEnded, PppLink
from dcsim.ppp.packet import Code, ControlPacket, Option, parse_options

from .helpers import configure, control, frames_of, nas_config, pool

MAGIC = Option(LcpOption.MAGIC_NUMBER, bytes.fromhex("0badcafe"))


def server(**lcp: object) -> PppLink:
    lcp.setdefault("authenticate_with", (AuthProtocol.PAP,))
    lcp.setdefault("passive", True)
    return PppLink(nas_config(lcp=LcpConfig(**lcp)), 0.0, rng=random.Random(7), pool=pool())


def answers(link: PppLink, wire: bytes, now: float = 0.0) -> list[ControlPacket]:
    link.receive_data(wire, now)
    return [p for proto, p in frames_of(link.data_to_send()) if proto == Protocol.LCP]


def request(link: PppLink, *options: Option, identifier: int = 1) -> list[ControlPacket]:
    return answers(link, configure(Protocol.LCP, Code.CONFIGURE_REQUEST, identifier, options))


def reply_of(packets: list[ControlPacket]) -> ControlPacket:
    (reply,) = [p for p in packets if p.code != Code.CONFIGURE_REQUEST]
    return reply


def test_unknown_and_unwanted_options_are_rejected() -> None:
    link = server()
    callback = Option(LcpOption.CALLBACK, b"\x06")
    quality = Option(LcpOption.QUALITY_PROTOCOL, b"\xc0\x25\x00\x00\x00\x00")
    weird = Option(99, b"abc")
    reply = reply_of(request(link, MAGIC, callback, quality, weird))
    assert reply.code == Code.CONFIGURE_REJECT
    assert parse_options(reply.data) == (callback, quality, weird)


def test_malformed_option_lengths_are_rejected() -> None:
    link = server()
    bad_mru = Option(LcpOption.MRU, b"\x05")
    bad_pfc = Option(LcpOption.PFC, b"\x00")
    reply = reply_of(request(link, bad_mru, bad_pfc))
    assert reply.code == Code.CONFIGURE_REJECT
    assert parse_options(reply.data) == (bad_mru, bad_pfc)


def test_small_mru_is_naked_up_to_128() -> None:
    link = server()
    reply = reply_of(request(link, Option(LcpOption.MRU, (64).to_bytes(2, "big"))))
    assert reply.code == Code.CONFIGURE_NAK
    assert parse_options(reply.data) == (Option(LcpOption.MRU, (128).to_bytes(2, "big")),)


def test_zero_magic_is_naked() -> None:
    link = server()
    reply = reply_of(request(link, Option(LcpOption.MAGIC_NUMBER, bytes(4))))
    assert reply.code == Code.CONFIGURE_NAK
    (suggested,) = parse_options(reply.data)
    assert suggested.type == LcpOption.MAGIC_NUMBER and suggested.int_value() != 0


def test_the_server_rejects_being_asked_to_authenticate() -> None:
    link = server()
    pap = Option(LcpOption.AUTHENTICATION_PROTOCOL, AuthProtocol.PAP.value)
    reply = reply_of(request(link, pap))
    assert reply.code == Code.CONFIGURE_REJECT


def test_looped_back_link_is_detected() -> None:
    """Our own Configure-Request coming back carries our Magic-Number every time."""
    link = server(passive=False, authenticate_with=())
    wire = link.data_to_send()
    for _ in range(30):
        link.receive_data(wire, 0.0)
        wire = link.data_to_send()
        if link.ended or not wire:
            break
    assert link.end_reason is EndReason.LOOPED_BACK
    link.handle_timer(10.0)
    (end,) = [e for e in link.events() if isinstance(e, LinkEnded)]
    assert end.reason is EndReason.LOOPED_BACK


def test_echo_request_is_answered_with_our_magic() -> None:
    link = server()
    request(link, MAGIC, Option(LcpOption.ACCM, bytes(4)))
    ours = link.lcp.lcp.request()
    our_request = ControlPacket(Code.CONFIGURE_REQUEST, 1, b"".join(o.pack() for o in ours))
    answers(link, control(Protocol.LCP, Code.CONFIGURE_ACK, 1, our_request.data))
    assert link.lcp.is_open
    (reply,) = answers(link, control(Protocol.LCP, Code.ECHO_REQUEST, 42, MAGIC.value + b"data"))
    assert reply.code == Code.ECHO_REPLY and reply.identifier == 42
    assert reply.data == link.lcp.lcp.terms.our_magic.to_bytes(4, "big") + b"data"


def test_unknown_lcp_code_is_code_rejected() -> None:
    link = server()
    (reject,) = answers(link, control(Protocol.LCP, 200, 3, b"?"))
    assert reject.code == Code.CODE_REJECT
    assert reject.data == ControlPacket(200, 3, b"?").pack()


def test_configure_request_with_a_broken_option_list_is_dropped() -> None:
    link = server()
    assert answers(link, control(Protocol.LCP, Code.CONFIGURE_REQUEST, 1, b"\x05\x09\x00")) == []
