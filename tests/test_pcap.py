"""The pcap writer, checked by tshark (an independent decoder)."""

from __future__ import annotations

import io
import struct
import subprocess

import pytest

from dcsim.pcap import Direction, LinkType, PcapWriter
from tests.peers import require_program


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_datagram(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    """A hand-built IPv4/UDP datagram with correct checksums (golden bytes, no codec used)."""
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xFFFF) + udp[8:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0x4000, 64, 17, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + udp


DNS_QUERY = (
    bytes.fromhex("123401000001000000000000")
    + b"\x05pso01\x06dricas\x02ne\x02jp\x00\x00\x01\x00\x01"
)
CONSOLE = bytes([10, 0, 0, 2])
RESOLVER = bytes([10, 0, 0, 1])
DATAGRAM = udp_datagram(CONSOLE, RESOLVER, 1024, 53, DNS_QUERY)
LCP_CONFIGURE_REQUEST = bytes.fromhex("ff03c0210101000a05060000beef")


def tshark(path, *fields: str) -> list[list[str]]:
    exe = require_program("tshark", "tshark")
    args = [exe, "-r", str(path), "-T", "fields", "-E", "separator=|"]
    for name in fields:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines()]


def malformed(path) -> list[str]:
    exe = require_program("tshark", "tshark")
    out = subprocess.run(
        [exe, "-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity >= 0x800000"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return out.splitlines()


@pytest.mark.interop
def test_raw_ipv4_capture_decodes_in_tshark(tmp_path):
    path = tmp_path / "raw.pcap"
    with PcapWriter.open(path, LinkType.RAW) as pcap:
        pcap.write(1.5, DATAGRAM)
        pcap.write(2.000001, DATAGRAM)
    rows = tshark(path, "frame.time_epoch", "ip.src", "ip.dst", "udp.dstport", "dns.qry.name")
    assert rows == [
        ["1.500000000", "10.0.0.2", "10.0.0.1", "53", "pso01.dricas.ne.jp"],
        ["2.000001000", "10.0.0.2", "10.0.0.1", "53", "pso01.dricas.ne.jp"],
    ]
    assert malformed(path) == []


@pytest.mark.interop
def test_ppp_with_direction_capture_decodes_in_tshark(tmp_path):
    path = tmp_path / "ppp.pcap"
    with PcapWriter.open(path, LinkType.PPP_WITH_DIR, epoch=1_148_083_200) as pcap:
        pcap.write(0.0, LCP_CONFIGURE_REQUEST, Direction.RECEIVED)
        pcap.write(0.25, b"\xff\x03\x00\x21" + DATAGRAM, Direction.SENT)
    # Wireshark's own numbering for the decoded direction: 1 = Received, 0 = Sent.
    rows = tshark(
        path,
        "frame.time_epoch",
        "ppp.direction",
        "ppp.protocol",
        "lcp.opt.magic_number",
        "dns.qry.name",
    )
    assert rows == [
        ["1148083200.000000000", "1", "0xc021", "0x0000beef", ""],
        ["1148083200.250000000", "0", "0x0021", "", "pso01.dricas.ne.jp"],
    ]
    assert malformed(path) == []


@pytest.mark.interop
def test_ethernet_capture_decodes_in_tshark(tmp_path):
    frame = bytes.fromhex("ffffffffffff") + bytes.fromhex("00d0f1020304") + b"\x08\x00" + DATAGRAM
    path = tmp_path / "eth.pcap"
    with PcapWriter.open(path, LinkType.ETHERNET) as pcap:
        pcap.write(3.0, frame)
    assert tshark(path, "eth.src", "ip.src", "dns.qry.name") == [
        ["00:d0:f1:02:03:04", "10.0.0.2", "pso01.dricas.ne.jp"]
    ]
    assert malformed(path) == []


def test_records_are_truncated_to_snaplen_with_the_original_length_kept():
    sink = io.BytesIO()
    pcap = PcapWriter(sink, LinkType.RAW, snaplen=40)
    pcap.write(0.9999999, DATAGRAM)
    data = sink.getvalue()
    magic, major, minor, _, _, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, snaplen, linktype) == (0xA1B2C3D4, 2, 4, 40, 101)
    seconds, micros, incl, orig = struct.unpack("<IIII", data[24:40])
    assert (seconds, micros, incl, orig) == (1, 0, 40, len(DATAGRAM))
    assert data[40:] == DATAGRAM[:40]


def test_direction_is_required_exactly_for_ppp():
    with pytest.raises(ValueError, match="PPP_WITH_DIR"):
        PcapWriter(io.BytesIO(), LinkType.PPP_WITH_DIR).write(0, LCP_CONFIGURE_REQUEST)
    with pytest.raises(ValueError, match="RAW"):
        PcapWriter(io.BytesIO(), LinkType.RAW).write(0, DATAGRAM, Direction.SENT)
