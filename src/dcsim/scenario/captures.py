"""Reading a cell's captures back: the packets that show a failure mechanism.

A cell run with a capture directory leaves one pcap per link (raw IPv4, named after the
link) and one per PPP session. :func:`frames` reads any of them as numbered IPv4
datagrams (numbers count from 1, as Wireshark shows them); :func:`evidence` picks, for an
outcome, the frames a reader should look at, with what each shows.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from dnslib import DNSError, DNSRecord

from dcsim.net.wire import ipv4
from dcsim.net.wire.base import WireError
from dcsim.net.wire.tcp import ACK, FIN, RST, SYN, TcpRepr
from dcsim.net.wire.udp import UdpRepr
from dcsim.pcap import LinkType

_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")
_PPP_IP = 0x0021
MAX_SHOWN = 4  # frames named per capture file and kind


class CaptureError(ValueError):
    """Not a capture file dcsim can read."""


@dataclass(frozen=True, slots=True)
class Frame:
    number: int
    time: float
    header: ipv4.Ipv4Repr
    payload: bytes

    def tcp(self) -> TcpRepr | None:
        if self.header.proto != 6 or self.header.frag_offset:
            return None
        try:
            return TcpRepr.parse(self.payload, self.header.src, self.header.dst)
        except WireError:
            return None

    def dns(self) -> DNSRecord | None:
        if self.header.proto != 17 or self.header.frag_offset:
            return None
        try:
            udp = UdpRepr.parse(self.payload, self.header.src, self.header.dst)
        except WireError:
            return None
        if 53 not in (udp.src_port, udp.dst_port):
            return None
        try:
            return DNSRecord.parse(udp.payload)
        except (DNSError, ValueError, IndexError, struct.error):
            return None


def frames(path: Path) -> Iterator[Frame]:
    """The IPv4 datagrams of a capture, numbered from 1 (other frames keep their numbers
    but are skipped)."""
    with open(path, "rb") as f:
        head = f.read(_FILE_HEADER.size)
        if len(head) < _FILE_HEADER.size:
            raise CaptureError(f"{path}: too short for a pcap file")
        magic, _, _, _, _, _, linktype = _FILE_HEADER.unpack(head)
        if magic != 0xA1B2C3D4:
            raise CaptureError(f"{path}: not a little-endian microsecond pcap file")
        number = 0
        while True:
            record = f.read(_RECORD_HEADER.size)
            if len(record) < _RECORD_HEADER.size:
                return
            seconds, micros, length, _ = _RECORD_HEADER.unpack(record)
            data = f.read(length)
            number += 1
            datagram = _datagram(linktype, data)
            if datagram is None:
                continue
            try:
                header, payload = ipv4.parse(datagram, verify_checksum=False)
            except WireError:
                continue
            yield Frame(number, seconds + micros / 1e6, header, bytes(payload))


def _datagram(linktype: int, data: bytes) -> bytes | None:
    if linktype == LinkType.RAW:
        return data
    if linktype == LinkType.PPP_WITH_DIR:
        frame = data[1:]
        if frame[:2] == b"\xff\x03":
            frame = frame[2:]
        if frame[:1] and frame[0] & 1:  # a compressed one-byte protocol field
            protocol, rest = frame[0], frame[1:]
        else:
            protocol, rest = int.from_bytes(frame[:2], "big"), frame[2:]
        return rest if protocol == _PPP_IP else None
    if linktype == LinkType.ETHERNET:
        return data[14:] if data[12:14] == b"\x08\x00" else None
    return None


@dataclass(frozen=True)
class Shown:
    """Frames of one capture file and what they show."""

    file: str
    numbers: tuple[int, ...]
    what: str

    def __str__(self) -> str:
        return f"{self.file} {_ranges(self.numbers)} ({self.what})"


def _ranges(numbers: tuple[int, ...]) -> str:
    parts: list[str] = []
    start = prev = None
    for n in sorted(set(numbers)):
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    word = "frame" if len(numbers) == 1 else "frames"
    return f"{word} {', '.join(parts)}"


def evidence(directory: Path, code: str, detail: dict[str, str]) -> list[Shown]:
    """The frames of the cell captured in *directory* that show *code*. *detail* names
    what to look for: ``name`` (a DNS name), ``address`` (a server's address)."""
    files = sorted(directory.glob("*.pcap"))
    if code.startswith("D-"):
        found = _dns_frames(files, detail.get("name", ""))
        if code.startswith("D-FAIL"):  # a resolver's upstream over TCP
            found += _refused_or_silent(files, port=53)
        elif code.startswith("D-STALE"):
            found += _refused_or_silent(files, address=detail.get("address", ""))
        return found
    if code.startswith("BH@") or code == "N/A":
        return _black_hole(files)
    address = detail.get("address", "")
    if code == "P-4B":
        what = f"segments from {address} whose payload is not whole 4-byte words"
        return _segments(files, lambda n: n % 4 != 0, what, source=address)
    if code == "P-V1":
        unpadded = _segments(
            files, lambda n: n == 0x26, "the 90 of 0x26 bytes, unpadded", destination=address
        )
        return unpadded + _closes(files, address)
    if code == "S-ALG":
        return _tls_alerts(files)
    return []


def _dns_frames(files: list[Path], name: str) -> list[Shown]:
    out = []
    wanted = name.rstrip(".").lower()
    for path in files:
        queries, answers = [], {}
        for frame in frames(path):
            message = frame.dns()
            if message is None or not message.questions:
                continue
            if str(message.q.qname).rstrip(".").lower() != wanted:
                continue
            if message.header.qr:
                answers.setdefault(_rcode(message), []).append(frame.number)
            else:
                queries.append(frame.number)
        if queries:
            out.append(Shown(path.name, tuple(queries[:MAX_SHOWN]), f"queries for {name}"))
        for rcode, numbers in answers.items():
            out.append(Shown(path.name, tuple(numbers[:MAX_SHOWN]), f"answers: {rcode}"))
    return out


def _rcode(message: DNSRecord) -> str:
    rcode = message.header.rcode
    names = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
    text = names.get(rcode, f"RCODE {rcode}")
    if rcode == 0:
        addresses = [str(rr.rdata) for rr in message.rr if rr.rtype == 1]
        text += f" {', '.join(addresses)}" if addresses else " without an address"
    return text


def _refused_or_silent(files: list[Path], *, address: str = "", port: int = 0) -> list[Shown]:
    """SYNs to *address* (or to *port* anywhere) and what came back: RST, or nothing."""
    out = []
    for path in files:
        syns, resets = [], []
        for frame in frames(path):
            seg = frame.tcp()
            if seg is None:
                continue
            to = str(frame.header.dst) == address if address else seg.dst_port == port
            back = str(frame.header.src) == address if address else seg.src_port == port
            if to and seg.flags & SYN and not seg.flags & ACK:
                syns.append(frame.number)
            elif back and seg.flags & RST:
                resets.append(frame.number)
        if syns:
            target = address or f"port {port}"
            answer = f"answered by RST in {_ranges(tuple(resets))}" if resets else "never answered"
            out.append(Shown(path.name, tuple(syns[:MAX_SHOWN]), f"SYNs to {target}, {answer}"))
    return out


def _black_hole(files: list[Path]) -> list[Shown]:
    """Full-size DF datagrams sent again and again on the server's side of the edge, and
    absent beyond it."""
    out = []
    for path in files:
        seen: dict[tuple[str, int], list[int]] = {}
        for frame in frames(path):
            seg = frame.tcp()
            if seg is None or not frame.header.df or len(seg.payload) < 1400:
                continue
            seen.setdefault((str(frame.header.src), seg.seq), []).append(frame.number)
        repeated = [numbers for numbers in seen.values() if len(numbers) > 1]
        if repeated:
            first = repeated[0]
            size = next(20 + len(f.payload) for f in frames(path) if f.number == first[0])
            out.append(
                Shown(
                    path.name,
                    tuple(first[:MAX_SHOWN]),
                    f"a {size}-byte DF segment sent {len(first)} times, never acknowledged",
                )
            )
    return out


def _segments(
    files: list[Path],
    size_ok: Callable[[int], bool],
    what: str,
    *,
    source: str = "",
    destination: str = "",
) -> list[Shown]:
    out = []
    for path in files:
        numbers = [
            f.number
            for f in frames(path)
            if (not source or str(f.header.src) == source)
            and (not destination or str(f.header.dst) == destination)
            and (seg := f.tcp()) is not None
            and seg.payload
            and size_ok(len(seg.payload))
        ]
        if numbers:
            out.append(Shown(path.name, tuple(numbers[:MAX_SHOWN]), what))
    return out


def _closes(files: list[Path], address: str) -> list[Shown]:
    out = []
    for path in files:
        numbers = [
            f.number
            for f in frames(path)
            if str(f.header.src) == address
            and (seg := f.tcp()) is not None
            and seg.flags & (FIN | RST)
        ]
        if numbers:
            out.append(Shown(path.name, tuple(numbers[:MAX_SHOWN]), f"{address} closes"))
    return out


def _tls_alerts(files: list[Path]) -> list[Shown]:
    out = []
    for path in files:
        numbers = [
            f.number
            for f in frames(path)
            if (seg := f.tcp()) is not None and seg.payload[:1] == b"\x15"
        ]
        if numbers:
            out.append(Shown(path.name, tuple(numbers[:MAX_SHOWN]), "an SSL alert record"))
    return out


def address_of(text: str) -> str:
    """The IPv4 address at the start of *text* ("192.0.2.20:9200"), or ""."""
    head = text.split(":", 1)[0].split(" ", 1)[0]
    try:
        return str(IPv4Address(head))
    except ValueError:
        return ""
