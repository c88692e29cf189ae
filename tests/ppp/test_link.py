"""A server link and a client link back to back: LCP, authentication, IPCP, IP, the end."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from dcsim.causes import Cause
from dcsim.ppp.auth import Accounts, Login
from dcsim.ppp.automaton import State
from dcsim.ppp.frame import Protocol
from dcsim.ppp.ipcp import ANY, DnsPolicy, IpcpOption
from dcsim.ppp.lcp import AuthProtocol, LcpConfig, LcpOption
from dcsim.ppp.link import (
    AuthDone,
    DatagramReceived,
    EndReason,
    LinkEnded,
    LinkOpened,
    NetworkDown,
    NetworkUp,
    PeerRequested,
    client_config,
)
from dcsim.ppp.packet import Code, Option

from .helpers import DNS, DNS2, FLYCAST, NAS, LinkPair, configure, control, frames_of, nas_config


def test_flycast_defaults_come_up() -> None:
    pair = LinkPair().up()
    (server_up,) = pair.of(NetworkUp)
    (client_up,) = pair.of(NetworkUp, "client")
    assert server_up.peer == client_up.local == IPv4Address("198.51.100.129")
    assert client_up.peer == server_up.local == NAS
    assert client_up.dns == (DNS,)
    assert server_up.mtu == 1500
    (auth,) = pair.of(AuthDone)
    assert auth.outcome.ok and auth.outcome.user == "flycast1"
    assert auth.outcome.protocol is AuthProtocol.PAP


def test_the_server_logs_every_request_of_the_client() -> None:
    pair = LinkPair().up()
    asked = pair.of(PeerRequested)
    assert asked[0].protocol == Protocol.LCP
    assert {o.type for o in asked[0].options} >= {LcpOption.ACCM, LcpOption.MAGIC_NUMBER}
    ipcp = [e for e in asked if e.protocol == Protocol.IPCP]
    assert ipcp[0].options == (
        Option(IpcpOption.IP_ADDRESS, ANY.packed),
        Option(IpcpOption.PRIMARY_DNS, ANY.packed),
    )
    assert ipcp[-1].options[1] == Option(IpcpOption.PRIMARY_DNS, DNS.packed)


def test_datagrams_flow_both_ways() -> None:
    pair = LinkPair().up()
    datagram = bytes.fromhex("450000200001000040110000c6336481c0000235") + b"payload!" + bytes(4)
    assert pair.client.send_datagram(datagram, pair.now)
    assert pair.server.send_datagram(datagram[::-1], pair.now)
    pair.pump()
    assert pair.of(DatagramReceived) == [DatagramReceived(datagram)]
    assert pair.of(DatagramReceived, "client") == [DatagramReceived(datagram[::-1])]


def test_datagrams_before_ipcp_are_refused() -> None:
    pair = LinkPair()
    assert not pair.server.send_datagram(b"\x45" + bytes(19), 0.0)


def test_chap_md5_with_accounts() -> None:
    server = nas_config(
        lcp=LcpConfig(authenticate_with=(AuthProtocol.CHAP_MD5,), passive=True),
        accounts=Accounts({"dream": "cast"}, accept_any=False),
    )
    pair = LinkPair(server, client_config(Login("dream", "cast"))).up()
    (auth,) = pair.of(AuthDone)
    assert auth.outcome.ok and auth.outcome.protocol is AuthProtocol.CHAP_MD5


@pytest.mark.parametrize("protocol", [AuthProtocol.PAP, AuthProtocol.CHAP_MD5])
def test_wrong_password_fails_and_ends_with_authentication_failure(
    protocol: AuthProtocol,
) -> None:
    server = nas_config(
        lcp=LcpConfig(authenticate_with=(protocol,), passive=True),
        accounts=Accounts({"dream": "cast"}, accept_any=False),
    )
    pair = LinkPair(server, client_config(Login("dream", "wrong")))
    pair.run_until(30.0)
    (server_auth,) = pair.of(AuthDone)
    (client_auth,) = pair.of(AuthDone, "client")
    assert not server_auth.outcome.ok and not client_auth.outcome.ok
    assert client_auth.outcome.message == "Login incorrect"  # the failure message arrived
    (server_end,) = pair.of(LinkEnded)
    (client_end,) = pair.of(LinkEnded, "client")
    assert server_end.reason is EndReason.AUTHENTICATION_FAILED
    assert server_end.cause is Cause.AUTHENTICATION_FAILURE
    assert client_end.cause is Cause.AUTHENTICATION_FAILURE
    assert not pair.of(NetworkUp)
    assert pair.pool.in_use == 0


def test_client_without_credentials_refuses_auth() -> None:
    pair = LinkPair(client=client_config(None))
    pair.run_until(60.0)
    (end,) = pair.of(LinkEnded)
    assert end.reason is EndReason.PEER_REFUSED_AUTH
    assert end.cause is Cause.AUTHENTICATION_FAILURE


def test_no_authentication_at_all() -> None:
    server = nas_config(lcp=LcpConfig(passive=True))
    pair = LinkPair(server, client_config(None)).up()
    assert pair.of(AuthDone) == []


def test_client_naks_chap_and_the_server_falls_back_to_pap() -> None:
    # KallistiOS Naks CHAP suggesting PAP (modem_ppp.md §5.1)
    server = nas_config(
        lcp=LcpConfig(authenticate_with=(AuthProtocol.CHAP_MD5, AuthProtocol.PAP), passive=True)
    )
    kos = client_config(
        FLYCAST, lcp=LcpConfig(authenticate_as=frozenset({AuthProtocol.PAP}), pfc=False)
    )
    pair = LinkPair(server, kos).up()
    (auth,) = pair.of(AuthDone)
    assert auth.outcome.protocol is AuthProtocol.PAP


def test_client_hangs_up_politely() -> None:
    pair = LinkPair().up()
    pair.client.close(pair.now)
    pair.run_until(10.0)
    (server_end,) = pair.of(LinkEnded)
    assert server_end.reason is EndReason.PEER_TERMINATED and server_end.cause is None
    assert pair.of(NetworkDown)
    assert pair.pool.in_use == 0


def test_server_close_sends_terminate_and_the_client_sees_server_down() -> None:
    pair = LinkPair().up()
    pair.server.close(pair.now)
    pair.pump()
    sent = [p for _, p in frames_of(b"".join(pair.wire_to_client))]
    assert sent[-1].code == Code.TERMINATE_REQUEST
    pair.run_until(10.0)
    (client_end,) = pair.of(LinkEnded, "client")
    assert client_end.reason is EndReason.PEER_TERMINATED
    assert client_end.cause is Cause.SERVER_DOWN
    (server_end,) = pair.of(LinkEnded)
    assert server_end.reason is EndReason.CLOSED


def test_lower_layer_down_ends_the_link() -> None:
    pair = LinkPair().up()
    pair.server.receive_data(b"", pair.now)
    pair.pump()
    (end,) = pair.of(LinkEnded)
    assert end.reason is EndReason.HUNG_UP and end.cause is None
    assert pair.of(NetworkDown)
    assert pair.pool.in_use == 0
    assert pair.server.deadline() is None


def test_silent_client_ends_with_no_answer() -> None:
    server = nas_config(lcp=LcpConfig(authenticate_with=(AuthProtocol.PAP,), passive=False))
    pair = LinkPair(server)
    pair.client.close(0.0)  # a client that never negotiates
    pair.client_events.clear()
    pair.server_events += pair.server.events()
    wire = pair.server.data_to_send()
    assert wire  # the active server asked first
    now = 0.0
    while (d := pair.server.deadline()) is not None:
        now = d
        pair.server.handle_timer(now)
    pair.server_events += pair.server.events()
    (end,) = pair.of(LinkEnded)
    assert end.reason is EndReason.NO_ANSWER
    assert now == pytest.approx(30.0)


def test_echo_keepalive_detects_a_dead_peer() -> None:
    server = nas_config(
        lcp=LcpConfig(
            authenticate_with=(AuthProtocol.PAP,), passive=True, echo_interval=30, echo_failure=4
        )
    )
    pair = LinkPair(server).up()
    pair.run_until(200.0)  # echoes answered: still up
    assert pair.server.network_up
    # the client vanishes without a word: nothing reaches it any more
    pair.client = type(pair.client)(client_config(FLYCAST), pair.now, rng=pair.client.rng)
    pair.client.close(pair.now)
    while (d := pair.server.deadline()) is not None:
        pair.server.handle_timer(d)
        pair.server.data_to_send()
        pair.now = d
    pair.server_events += pair.server.events()
    (end,) = pair.of(LinkEnded)
    assert end.reason is EndReason.ECHO_TIMEOUT
    # echoes at 210, 240, 270, 300 go unanswered; at 330 the link is declared dead and
    # two Terminate-Requests 3 s apart end it
    assert pair.now == pytest.approx(330 + 2 * 3)


def test_idle_timeout_is_an_automatic_disconnect() -> None:
    pair = LinkPair(nas_config(idle_timeout=900.0)).up()
    pair.run_until(899.0)
    assert pair.server.network_up
    pair.run_until(1000.0)
    (end,) = pair.of(LinkEnded)
    assert end.reason is EndReason.IDLE and end.cause is Cause.AUTOMATIC_DISCONNECT


def test_pool_exhausted() -> None:
    from ipaddress import IPv4Network

    from dcsim.ppp.pool import AddressPool

    tiny = AddressPool(IPv4Network("198.51.100.128/31"))
    tiny.allocate(), tiny.allocate()
    pair = LinkPair(addresses=tiny)
    pair.run_until(20.0)
    (end,) = pair.of(LinkEnded)
    assert end.reason is EndReason.NO_ADDRESS


def test_lcp_opened_terms() -> None:
    pair = LinkPair().up()
    (opened,) = pair.of(LinkOpened)
    assert opened.terms.send_accm == 0  # the client asked for ACCM 0
    assert opened.terms.we_demand is AuthProtocol.PAP


def test_fcs32_negotiated() -> None:
    server = nas_config(
        lcp=LcpConfig(authenticate_with=(AuthProtocol.PAP,), passive=True, fcs32=True)
    )
    client = client_config(
        FLYCAST,
        lcp=LcpConfig(authenticate_as=frozenset({AuthProtocol.PAP}), fcs32=True),
    )
    pair = LinkPair(server, client).up()
    assert pair.server.deframer.expect_fcs32 and pair.server._send_fcs32
    pair.client.send_datagram(b"\x45" + bytes(30), pair.now)
    pair.pump()
    assert pair.of(DatagramReceived)


def test_secondary_dns_and_two_servers() -> None:
    server = nas_config(dns=(DNS, DNS2))
    client = client_config(FLYCAST, dns=(ANY, ANY))
    pair = LinkPair(server, client).up()
    (up,) = pair.of(NetworkUp, "client")
    assert up.dns == (DNS, DNS2)


def test_dns_policy_ack_keeps_the_consoles_dns() -> None:
    sega = IPv4Address("192.0.2.99")
    pair = LinkPair(nas_config(dns_policy=DnsPolicy.ACK), client_config(FLYCAST, dns=(sega,)))
    pair.up()
    (up,) = pair.of(NetworkUp, "client")
    assert up.dns == (sega,)


def test_dns_policy_reject_leaves_the_console_with_its_stored_dns() -> None:
    stored = IPv4Address("192.0.2.99")
    pair = LinkPair(
        nas_config(dns_policy=DnsPolicy.REJECT), client_config(FLYCAST, dns=(stored,))
    ).up()
    (up,) = pair.of(NetworkUp, "client")
    assert up.dns == (stored,)


def test_renegotiation_from_the_client_restarts_everything() -> None:
    pair = LinkPair().up()
    pair.server.receive_data(
        configure(Protocol.LCP, Code.CONFIGURE_REQUEST, 77, [Option(LcpOption.ACFC)]), pair.now
    )
    events = list(pair.server.events())
    assert any(isinstance(e, NetworkDown) for e in events)
    assert pair.server.lcp.state is State.ACK_SENT


def test_discard_request_and_identification_are_accepted_quietly() -> None:
    pair = LinkPair().up()
    for code in (Code.DISCARD_REQUEST, Code.IDENTIFICATION, Code.TIME_REMAINING):
        pair.server.receive_data(control(Protocol.LCP, code, 5, bytes(4) + b"hi"), pair.now)
    assert pair.server.data_to_send() == b""
    assert pair.server.lcp.state is State.OPENED
