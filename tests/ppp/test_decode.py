"""What dcsim puts on the wire decodes cleanly in two parsers nobody here wrote:
tshark (Wireshark's dissectors) and scapy's PPP/LCP/IPCP/PAP/CHAP layers."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from dcsim.pcap import LinkType, PcapWriter
from dcsim.ppp.auth import Login
from dcsim.ppp.ipcp import ANY, VjParams
from dcsim.ppp.lcp import AuthProtocol, LcpConfig
from dcsim.ppp.link import FrameSeen, client_config
from tests.peers import require_program

from .helpers import DNS as DNS_SERVER
from .helpers import DNS2, LinkPair, nas_config


def udp_query(src: bytes, dst: bytes) -> bytes:
    """A DNS query in IPv4/UDP with correct checksums (scapy builds it)."""
    scapy_inet = pytest.importorskip("scapy.layers.inet")
    from scapy.layers.dns import DNS, DNSQR

    ip = scapy_inet.IP(src=str(IPv4Address(src)), dst=str(IPv4Address(dst)), ttl=30)
    query = DNS(id=0x1234, rd=1, qd=DNSQR(qname="game01.st-pso.games.sega.net"))
    return bytes(ip / scapy_inet.UDP(sport=1024, dport=53) / query)


def session_frames(protocol: AuthProtocol) -> list[FrameSeen]:
    """A whole session as the server saw it: LCP, auth, IPCP with DNS and VJ, IP, the end."""
    server = nas_config(
        lcp=LcpConfig(authenticate_with=(protocol,), passive=True),
        dns=(DNS_SERVER, DNS2),
        vj=VjParams(),
        trace=True,
    )
    client = client_config(Login("flycast1", "password"), dns=(ANY, ANY), vj=VjParams())
    pair = LinkPair(server, client).up()
    up = pair.client.ipcp_policy.terms
    pair.client.send_datagram(udp_query(up.local.packed, DNS_SERVER.packed), pair.now)
    pair.server.send_datagram(udp_query(DNS_SERVER.packed, up.local.packed), pair.now)
    pair.pump()
    pair.client.close(pair.now)
    pair.run_until(10.0)
    return pair.of(FrameSeen)


def write_capture(path: Path, frames: list[FrameSeen]) -> None:
    with PcapWriter.open(path, LinkType.PPP_WITH_DIR) as pcap:
        for n, seen in enumerate(frames):
            pcap.write(n * 0.01, seen.frame, seen.direction)


@pytest.mark.interop
@pytest.mark.parametrize("protocol", [AuthProtocol.PAP, AuthProtocol.CHAP_MD5])
def test_tshark_decodes_a_session_without_malformed_packets(
    tmp_path: Path, protocol: AuthProtocol
) -> None:
    tshark = require_program("tshark", "tshark")
    frames = session_frames(protocol)
    path = tmp_path / "session.pcap"
    write_capture(path, frames)
    out = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-e", "frame.protocols", "-e", "_ws.malformed"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert len(out) == len(frames)
    assert not [line for line in out if "malformed" in line or "_ws" in line]
    protocols = {line.split("\t")[0] for line in out}
    expected = {
        "ppp:lcp",
        "ppp:ipcp",
        "ip:udp:dns",
        "pap" if protocol is AuthProtocol.PAP else "chap",
    }
    seen = " ".join(protocols)
    for name in expected:
        assert name in seen, (name, protocols)
    detail = subprocess.run(
        [tshark, "-r", str(path), "-V"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "Primary DNS Address: 192.0.2.53" in detail
    assert "Secondary DNS Address: 198.51.100.53" in detail
    assert "IP Compression Protocol: VJ compression (0x002d)" in detail
    assert "Expert Info (Error" not in detail


def test_scapy_parses_every_control_frame() -> None:
    scapy_ppp = pytest.importorskip("scapy.layers.ppp")
    from scapy.packet import Raw

    control = 0
    parsed_frames = []
    for seen in session_frames(AuthProtocol.CHAP_MD5):
        # scapy's HDLC layer wants the address, control and two-octet protocol fields
        raw = seen.frame if seen.frame[:2] == b"\xff\x03" else b"\xff\x03" + seen.frame
        if raw[2] & 1:
            raw = raw[:2] + b"\x00" + raw[2:]
        parsed = scapy_ppp.HDLC(raw)
        parsed_frames.append(parsed)
        if parsed[scapy_ppp.PPP].proto in (0xC021, 0x8021, 0xC223):
            control += 1
            assert not parsed.haslayer(Raw), parsed.show(dump=True)
    assert control >= 8
    ipcp = [
        p
        for p in parsed_frames
        if p[scapy_ppp.PPP].proto == 0x8021 and p[scapy_ppp.PPP_IPCP].code == 3  # Nak
    ]
    assert ipcp, "the server Naks the client's 0.0.0.0 and DNS"
    options = {type(o).__name__: o for o in ipcp[0][scapy_ppp.PPP_IPCP].options}
    assert options["PPP_IPCP_Option_DNS1"].data == "192.0.2.53"
    assert options["PPP_IPCP_Option_DNS2"].data == "198.51.100.53"
