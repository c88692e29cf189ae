"""``dcsim dcnet`` on real sockets: a console dials in over PPP and resolves through the
virtual internet; the broadband adapter gets a DHCP offer; the probe answers."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from twisted.names import client, dns

from dcsim.cli import main
from dcsim.dcnet.bba import PROLOG, RecordReader, record
from dcsim.dcnet.bba_client import BbaClientConfig
from dcsim.dcnet.dhcp import DhcpMessage, MessageType, Op, Opt
from dcsim.dcnet.ethernet import EthernetFrame, EtherType
from dcsim.dcnet.ethernet_client import EthernetClientFactory
from dcsim.net.host import VirtualHost
from dcsim.net.wire.ipv4 import Ipv4Repr
from dcsim.net.wire.udp import UdpRepr
from dcsim.ppp.auth import Login
from dcsim.ppp.client import HostLinkFactory, PppClientFactory
from dcsim.ppp.link import client_config

from .running import dcsim_dcnet

pytestmark = pytest.mark.slow

LOOPBACK = ("--ppp", "tcp:127.0.0.1:0", "--ppp-7656", "tcp:127.0.0.1:0")
LOOPBACK += ("--ethernet", "tcp:127.0.0.1:0", "--probe", "udp:127.0.0.1:0")


def dial_and_resolve(port: int, *, ethernet: bool = False) -> dict[str, object]:
    """A console on a private reactor: PPP (or the broadband adapter's Ethernet) to *port*,
    then DNS over UDP and TCP, then hang up."""
    from twisted.internet.selectreactor import SelectReactor

    reactor = SelectReactor()
    console = VirtualHost(reactor, "console")
    factory: HostLinkFactory
    if ethernet:
        factory = EthernetClientFactory(console, BbaClientConfig())
    else:
        factory = PppClientFactory(console, client_config(Login("flycast1", "password")))
    reactor.connectTCP("127.0.0.1", port, factory)
    results: dict[str, object] = {}

    def online(up: object) -> object:
        results["up"] = up
        resolver = client.Resolver(servers=[(str(up.dns[0]), 53)], reactor=console)  # type: ignore[attr-defined]
        d = resolver.lookupAddress("pso01.dricas.ne.jp")
        d.addCallback(lambda a: results.__setitem__("udp", a[0][0].payload.dottedQuad()))
        d.addCallback(lambda _: resolver.queryTCP([dns.Query("auth01.dricas.ne.jp")]))
        d.addCallback(lambda m: results.__setitem__("tcp", m.answers[0].payload.dottedQuad()))
        d.addCallback(lambda _: factory.session.hang_up())  # type: ignore[union-attr]
        d.addCallback(lambda _: factory.ended)
        d.addCallback(lambda ended: results.__setitem__("ended", ended))
        return d

    def failed(failure: object) -> None:
        results["error"] = failure

    factory.up.addCallback(online).addErrback(failed).addBoth(lambda _: reactor.stop())
    reactor.callLater(30, lambda: (results.setdefault("error", "timeout"), reactor.stop()))
    reactor.run(installSignalHandlers=False)
    return results


def test_ppp_console_resolves_through_dcnet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = tmp_path / "sessions.jsonl"
    options = ("--pcap", str(tmp_path / "caps"), "--session-log", str(sessions))
    with dcsim_dcnet(tmp_path, *LOOPBACK, *options) as running:
        results = dial_and_resolve(running.address("PPP (modem").port)
        assert "error" not in results, results.get("error")
        assert results["udp"] == "192.0.2.20"
        assert results["tcp"] == "192.0.2.10"
        seven = dial_and_resolve(running.address("PPP for 7656").port)
        assert seven.get("udp") == "192.0.2.20", seven
    log = "".join(running.log)
    assert "client asks LCP" in log and "PAP login 'flycast1': accepted" in log
    assert "online as 198.51.100.129" in log
    assert list((tmp_path / "caps").glob("dcnet-ppp-*.pcap"))
    # the session log: both consoles ended the link with LCP Terminate-Request
    records = [json.loads(line) for line in sessions.read_text().splitlines()]
    assert [(r["front_end"], r["end"], r["user"]) for r in records] == [
        ("dcnet-ppp", "lcp_terminate", "flycast1"),
        ("dcnet-7656", "lcp_terminate", "flycast1"),
    ]
    assert all(r["peer_host"] == "127.0.0.1" and r["datagrams_from_console"] >= 3 for r in records)
    assert main(["check", "--json", str(sessions)]) == 0
    (report,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    verdicts = {f["rule"]: f["verdict"] for f in report["findings"]}
    assert verdicts["hang-up-on-reset"] == "pass" and verdicts["line-type"] == "n/a"


def test_broadband_adapter_gets_an_offer_and_the_probe_answers(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.jsonl"
    with dcsim_dcnet(tmp_path, *LOOPBACK, "--session-log", str(sessions)) as running:
        # dcsim's own adapter: DHCP, ARP and IP over the real port, then DHCP RELEASE
        results = dial_and_resolve(running.address("Ethernet").port, ethernet=True)
        assert "error" not in results, results.get("error")
        assert results["udp"] == "192.0.2.20" and results["tcp"] == "192.0.2.10"
        assert str(results["up"].interface) == "198.51.100.129/24"  # type: ignore[attr-defined]
        mac = bytes.fromhex("0c0a0f0e0000")
        discover = DhcpMessage(Op.BOOTREQUEST, 0x5EED, mac, ((Opt.MESSAGE_TYPE, b"\x01"),))
        any_, everyone = "0.0.0.0", "255.255.255.255"
        from ipaddress import IPv4Address

        src, dst = IPv4Address(any_), IPv4Address(everyone)
        datagram = Ipv4Repr(src, dst, 17).emit(UdpRepr(68, 67, discover.pack()).emit(src, dst))
        frame = EthernetFrame(b"\xff" * 6, mac, EtherType.IPV4, datagram).pack()
        ethernet = running.address("Ethernet")
        with socket.create_connection((ethernet.host, ethernet.port), timeout=10) as sock:
            sock.sendall(record(PROLOG) + record(frame))
            reader, records = RecordReader(), []
            while not records:
                records = reader.feed(sock.recv(4096))
        offer_frame = EthernetFrame.parse(records[0])
        header_len = (offer_frame.payload[0] & 0x0F) * 4
        offer = DhcpMessage.parse(offer_frame.payload[header_len + 8 :])
        assert offer.message_type == MessageType.OFFER
        assert str(offer.yiaddr).startswith("198.51.100.")
        probe = running.address("access-point probe")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(10)
            udp.sendto(bytes.fromhex("01c015dc03"), (probe.host, probe.port))
            assert udp.recvfrom(600)[0] == bytes.fromhex("01c015dc03")
    first, second = (json.loads(line) for line in sessions.read_text().splitlines())
    assert (first["link"], first["end"], first["mac"]) == (
        "ethernet",
        "dhcp_release",
        "0c:0a:0f:0e:00:00",
    )
    assert first["datagrams_from_console"] >= 3 and first["requested"]["DHCP"]
    assert second["end"] == "closed" and second["t_online"] is None  # the raw socket's


def test_a_port_in_use_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "c.toml"
        config.write_text('[dns]\nzones = "configs/zones"\n')
        code = main(["--config", str(config), "dcnet", "--ppp", f"tcp:127.0.0.1:{port}"])
    assert code == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert (
        last
        == f"dcsim: dcnet: cannot listen on 127.0.0.1:{port}: [Errno 98] Address already in use"
    )


def test_wrong_transport_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dcnet", "--probe", "tcp:127.0.0.1:7655"]) == 2
    assert "probe: tcp:127.0.0.1:7655 must be a udp: address" in capsys.readouterr().err
