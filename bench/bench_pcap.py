"""Capture cost: records per CPU-second through dcsim's pcap writer and scapy's."""

from __future__ import annotations

import io

from bench.report import Report, rate
from dcsim.pcap import LinkType, PcapWriter

PACKET = bytes(576)  # one modem-MTU datagram
BATCH = 10_000


def run(report: Report) -> None:
    sink = io.BytesIO()
    writer = PcapWriter(sink, LinkType.RAW)

    def ours() -> int:
        sink.seek(0)
        for i in range(BATCH):
            writer.write(i * 0.001, PACKET)
        return BATCH

    report.add("pcap", "dcsim PcapWriter", rate(ours), "records/s")
    try:
        from scapy.utils import RawPcapWriter
    except ImportError:
        report.add("pcap", "scapy RawPcapWriter", 0, "records/s", "scapy not installed")
        return
    scapy_sink = io.BytesIO()
    theirs_writer = RawPcapWriter(scapy_sink, linktype=int(LinkType.RAW), sync=True)

    def theirs() -> int:
        scapy_sink.seek(0)
        for i in range(BATCH):
            theirs_writer.write_packet(PACKET, sec=i // 1000, usec=(i % 1000) * 1000)
        return BATCH

    report.add("pcap", "scapy RawPcapWriter", rate(theirs), "records/s")
    report.ratio("pcap", "dcsim PcapWriter", "scapy RawPcapWriter", "x")
