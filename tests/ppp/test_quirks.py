"""The quirks of Dreamcast PPP clients (research/modem_ppp.md §5.1 and §5.2), one test each."""

from __future__ import annotations

import random

from dcsim.ppp.frame import Protocol
from dcsim.ppp.ipcp import ANY, IpcpOption, VjParams
from dcsim.ppp.lcp import AuthProtocol, LcpConfig, LcpOption
from dcsim.ppp.link import (
    AuthDone,
    DatagramReceived,
    NetworkUp,
    PppLink,
    client_config,
    server_config,
)
from dcsim.ppp.packet import Code, ControlPacket, Option, parse_options

from .helpers import (
    DNS,
    DNS2,
    FLYCAST,
    NAS,
    LinkPair,
    configure,
    control,
    frames_of,
    nas_config,
    pool,
)

KOS_LCP = [  # KallistiOS libppp's Configure-Request: ACCM 0, Magic-Number, ACFC
    Option(LcpOption.ACCM, bytes(4)),
    Option(LcpOption.MAGIC_NUMBER, bytes.fromhex("3e8a11c0")),
    Option(LcpOption.ACFC),
]


def nas(**kwargs: object) -> PppLink:
    return PppLink(nas_config(**kwargs), 0.0, rng=random.Random(3), pool=pool())


def open_lcp(link: PppLink) -> None:
    """Play a KallistiOS client up to LCP Opened."""
    link.receive_data(configure(Protocol.LCP, Code.CONFIGURE_REQUEST, 1, KOS_LCP), 0.0)
    (ours,) = [p for _, p in frames_of(link.data_to_send()) if p.code == Code.CONFIGURE_REQUEST]
    link.receive_data(control(Protocol.LCP, Code.CONFIGURE_ACK, ours.identifier, ours.data), 0.0)
    assert link.lcp.is_open


# -- §5.2 commercial titles ----------------------------------------------------------------


def test_passive_start_sends_nothing_before_the_clients_first_packet() -> None:
    """WinCE titles choke on early server output: pppd's `silent`, picoppp's passiveMode."""
    link = nas()
    for t in (0.0, 3.0, 60.0, 600.0):
        link.handle_timer(t)
        assert link.data_to_send() == b""
    assert link.deadline() is None
    link.receive_data(configure(Protocol.LCP, Code.CONFIGURE_REQUEST, 1, KOS_LCP), 601.0)
    assert link.data_to_send() != b""


def test_lcp_frames_keep_default_accm_and_headers_after_negotiation() -> None:
    """LCP is always sent with every control octet escaped and with FF 03, even once
    ACCM 0 and ACFC are agreed (WinCE titles; FreeBSD ng_async does the same)."""
    link = nas()
    open_lcp(link)
    link.receive_data(control(Protocol.LCP, Code.ECHO_REQUEST, 9, bytes(4)), 0.0)
    wire = link.data_to_send()
    assert not any(b < 0x20 for b in wire[1:-1])
    assert wire[1:4] == b"\xff\x7d\x23"  # FF, then 03 escaped
    # while non-LCP frames use the negotiated ACCM 0 and drop address and control
    link.receive_data(control(Protocol.PAP, 1, 1, b"\x08flycast1\x08password"), 0.0)
    pap = link.data_to_send()
    assert pap[1:3] == b"\xc0\x23"


def test_accm_and_magic_number_are_accepted() -> None:
    """Flycast c5efc3531: ACCM and Magic-Number must be supported (PSO broke without)."""
    link = nas()
    link.receive_data(configure(Protocol.LCP, Code.CONFIGURE_REQUEST, 1, KOS_LCP), 0.0)
    (_, ack) = [p for _, p in frames_of(link.data_to_send())]
    assert ack.code == Code.CONFIGURE_ACK
    assert parse_options(ack.data) == tuple(KOS_LCP)


def test_ccp_is_protocol_rejected() -> None:
    """Starlancer gets compression wrong: no CCP (DreamPi's and DCNet's noccp)."""
    link = nas()
    open_lcp(link)
    ccp = control(Protocol.CCP, Code.CONFIGURE_REQUEST, 1, bytes.fromhex("1a0401"))
    link.receive_data(ccp, 0.0)
    ((protocol, reject),) = frames_of(link.data_to_send())
    assert protocol == Protocol.LCP
    assert reject.code == Code.PROTOCOL_REJECT
    assert reject.data[:2] == b"\x80\xfd"
    assert link.lcp.is_open


def test_vj_is_rejected_by_default() -> None:
    pair = LinkPair(client=client_config(FLYCAST, vj=VjParams()))
    pair.up()
    assert pair.server._decompressor is None and pair.client._compressor is None
    vj_requests = [
        o
        for e in pair.server_events
        if getattr(e, "protocol", None) == Protocol.IPCP
        for o in e.options
        if o.type == IpcpOption.IP_COMPRESSION
    ]
    assert vj_requests  # the client asked, once, and was rejected
    assert len(vj_requests) == 1


def test_web_tv_gets_vj_accepted_and_decompressed() -> None:
    """Web TV for Dreamcast needs VJ not rejected (Flycast 62a1e2967); dcsim then
    decompresses what the client compresses (RFC 1144)."""
    pair = LinkPair(nas_config(vj=VjParams()), client_config(FLYCAST, vj=VjParams())).up()
    assert pair.of(NetworkUp)[0].vj
    from .test_vj import tcp_flow

    flow = tcp_flow()
    for packet in flow:
        assert pair.client.send_datagram(packet, pair.now)
    pair.pump()
    assert [e.datagram for e in pair.of(DatagramReceived)] == flow
    wire = b"".join(pair.wire_to_server)
    assert len(wire) < sum(len(p) for p in flow)  # the headers really were compressed


def test_every_frame_has_opening_and_closing_flags() -> None:
    """Power Smash needs both flags on every frame (Flycast's PowerSmashPPPSocket)."""
    pair = LinkPair().up()
    pair.server.send_datagram(b"\x45" + bytes(40), pair.now)
    pair.server.send_datagram(b"\x45" + bytes(40), pair.now)
    burst = pair.server.data_to_send()
    assert burst.startswith(b"\x7e") and burst.endswith(b"\x7e")
    assert burst.count(b"\x7e\x7e") == 1  # two frames, four flags
    for chunk in pair.wire_to_client:
        assert chunk.startswith(b"\x7e") and chunk.endswith(b"\x7e")


def test_pap_accepts_any_login_by_default() -> None:
    """DreamPi 1.9 and DCNet: auth with PAP accepting anything (Flycast sends flycast1)."""
    pair = LinkPair(client=client_config(FLYCAST.__class__("anyone", "anything"))).up()
    (auth,) = pair.of(AuthDone)
    assert auth.outcome.ok and auth.outcome.protocol is AuthProtocol.PAP


def test_noauth_for_programs_without_credentials() -> None:
    """KallistiOS programs without ppp_set_login never answer PAP: noauth must work."""
    server = nas_config(lcp=LcpConfig(passive=True))
    pair = LinkPair(server, client_config(None)).up()
    assert pair.of(AuthDone) == []


def test_dns_comes_from_the_ipcp_nak() -> None:
    """Consoles keep DNS 0.0.0.0 and take the access server's: Nak 129 and 131 with ours."""
    link = nas(dns=(DNS, DNS2))
    open_lcp(link)
    link.receive_data(control(Protocol.PAP, 1, 1, b"\x08flycast1\x08password"), 0.0)
    link.data_to_send()
    asked = [
        Option(IpcpOption.IP_ADDRESS, ANY.packed),
        Option(IpcpOption.PRIMARY_DNS, ANY.packed),
        Option(IpcpOption.SECONDARY_DNS, ANY.packed),
    ]
    link.receive_data(configure(Protocol.IPCP, Code.CONFIGURE_REQUEST, 1, asked), 0.0)
    (nak,) = [p for proto, p in frames_of(link.data_to_send()) if p.code == Code.CONFIGURE_NAK]
    assert parse_options(nak.data) == (
        Option(IpcpOption.IP_ADDRESS, link.peer_address.packed),
        Option(IpcpOption.PRIMARY_DNS, DNS.packed),
        Option(IpcpOption.SECONDARY_DNS, DNS2.packed),
    )


# -- §5.1 KallistiOS ------------------------------------------------------------------------


def test_dns_options_are_never_rejected_even_after_max_failure() -> None:
    """KallistiOS ignores IPCP Configure-Reject, so rejecting 129 would stall it; a client
    that keeps asking for another DNS server keeps getting Naks, never a Reject."""
    link = nas()
    open_lcp(link)
    link.receive_data(control(Protocol.PAP, 1, 1, b"\x08flycast1\x08password"), 0.0)
    link.data_to_send()
    stubborn = [
        Option(IpcpOption.IP_ADDRESS, link.peer_address.packed),
        Option(IpcpOption.PRIMARY_DNS, bytes.fromhex("08080808")),
    ]
    codes = []
    for i in range(12):
        link.receive_data(configure(Protocol.IPCP, Code.CONFIGURE_REQUEST, i, stubborn), 0.0)
        codes += [
            p.code
            for proto, p in frames_of(link.data_to_send())
            if proto == Protocol.IPCP and p.code != Code.CONFIGURE_REQUEST
        ]
    assert codes == [Code.CONFIGURE_NAK] * 12


def test_a_client_ignoring_reject_still_comes_up() -> None:
    kos = client_config(FLYCAST, ignore_ipcp_reject=True)
    pair = LinkPair(client=kos).up()
    assert pair.of(NetworkUp, "client")[0].dns == (DNS,)


def test_stray_configure_ack_after_open_is_ignored() -> None:
    """Flycast aad4921e0 "fix kos ppp nego": a Configure-Ack arriving once Opened must not
    restart negotiation."""
    pair = LinkPair().up()
    ours = pair.server.lcp._request
    assert ours is not None
    pair.server.receive_data(
        control(Protocol.LCP, Code.CONFIGURE_ACK, ours.identifier, ours.data), pair.now
    )
    assert pair.server.lcp.is_open and pair.server.network_up
    assert pair.server.data_to_send() == b""


def test_retransmitted_configure_request_after_open_is_acked_again() -> None:
    pair = LinkPair().up()
    theirs = pair.server.lcp._peer_request
    assert theirs is not None
    pair.server.receive_data(
        control(Protocol.LCP, theirs.code, theirs.identifier, theirs.data), pair.now
    )
    ((_, ack),) = frames_of(pair.server.data_to_send())
    assert ack == ControlPacket(Code.CONFIGURE_ACK, theirs.identifier, theirs.data)
    assert pair.server.network_up


def test_client_side_acks_the_servers_address_as_its_gateway() -> None:
    client = PppLink(client_config(FLYCAST), 0.0, rng=random.Random(1))
    assert client.lcp.state.name == "REQ_SENT"  # clients are not passive
    pair = LinkPair(server_config(lcp=LcpConfig(passive=True), local_address=NAS, dns=(DNS,)))
    pair.up()
    assert pair.of(NetworkUp, "client")[0].peer == NAS
