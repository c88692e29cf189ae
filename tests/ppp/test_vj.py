"""RFC 1144 compression: a TCP flow built by scapy goes through compressor and
decompressor and comes out byte for byte; broken input never escapes as an exception."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcsim.net.wire.checksum import internet_checksum
from dcsim.ppp.frame import Protocol
from dcsim.ppp.vj import NEW_C, Compressor, Decompressor, VjError

scapy_inet = pytest.importorskip("scapy.layers.inet")
IP, TCP, UDP = scapy_inet.IP, scapy_inet.TCP, scapy_inet.UDP


def packet(**fields: object) -> bytes:
    ip = {k: fields.pop(k) for k in ("id", "ttl", "src", "dst") if k in fields}
    data = fields.pop("data", b"")
    ip.setdefault("src", "198.51.100.129")
    ip.setdefault("dst", "192.0.2.20")
    fields.setdefault("sport", 1025)
    fields.setdefault("dport", 9100)
    fields.setdefault("flags", "A")
    return bytes(IP(ttl=ip.pop("ttl", 30), **ip) / TCP(**fields) / data)


def tcp_flow() -> list[bytes]:
    """A console's login flow: data, pure acks, window changes, push, urgent, id jumps,
    a second connection interleaved, a retransmission and a FIN."""
    flow = []
    seq, ack, ip_id = 1000, 5000, 1
    for i in range(6):
        data = bytes([i]) * (10 + i * 50)
        flow.append(packet(id=ip_id, seq=seq, ack=ack, window=8192, flags="PA", data=data))
        seq += len(data)
        ip_id += 1
        flow.append(packet(id=ip_id, seq=seq, ack=ack + 100, window=8192 - i, flags="A"))
        ack += 100
        ip_id += 1
    flow.append(packet(id=ip_id + 40, seq=seq, ack=ack, window=4096, flags="A", data=b"x"))
    flow.append(packet(id=ip_id + 41, seq=seq, ack=ack, window=4096, flags="A", data=b"x"))
    flow.append(packet(id=9, sport=1026, seq=77, ack=88, window=100, flags="A", data=b"other"))
    flow.append(packet(id=ip_id + 42, seq=seq + 1, ack=ack, urgptr=1, flags="AU", data=b"!"))
    flow.append(packet(id=ip_id + 43, seq=seq + 2, ack=ack + 70000, flags="A", data=b"big ack"))
    flow.append(packet(id=ip_id + 44, seq=seq + 9, ack=ack + 70000, flags="FA"))
    flow.append(packet(id=10, sport=1026, seq=82, ack=88, window=100, flags="PA", data=b"more"))
    # echoed interactive traffic and unidirectional data: the two special cases
    flow.append(packet(id=11, sport=1026, seq=86, ack=93, window=100, flags="A", data=b"e"))
    flow.append(packet(id=12, sport=1026, seq=87, ack=94, window=100, flags="A", data=b"f"))
    flow.append(packet(id=13, sport=1026, seq=88, ack=94, window=100, flags="A", data=b"g"))
    return flow


def test_flow_round_trip() -> None:
    compressor, decompressor = Compressor(), Decompressor()
    kinds = []
    for original in tcp_flow():
        protocol, payload = compressor.compress(original)
        kinds.append(protocol)
        if protocol == Protocol.VJ_COMPRESSED:
            result = decompressor.compressed(payload)
        elif protocol == Protocol.VJ_UNCOMPRESSED:
            result = decompressor.uncompressed(payload)
        else:
            result = payload
        assert result == original
    assert kinds.count(Protocol.VJ_COMPRESSED) > len(kinds) // 2


def test_special_cases_are_used() -> None:
    compressor = Compressor()
    flow = tcp_flow()
    masks = [p[0] for proto, p in map(compressor.compress, flow) if proto == Protocol.VJ_COMPRESSED]
    assert any(m & 0x0F == 0x0F for m in masks)  # SPECIAL_I
    assert any(m & 0x0F == 0x0B for m in masks)  # SPECIAL_D


def test_non_tcp_and_syn_are_sent_as_plain_ip() -> None:
    compressor = Compressor()
    udp = bytes(IP(src="198.51.100.129", dst="192.0.2.53") / UDP(sport=1024, dport=53))
    assert compressor.compress(udp) == (Protocol.IP, udp)
    syn = packet(flags="S", seq=1)
    assert compressor.compress(syn) == (Protocol.IP, syn)


def test_decompressed_ip_header_checksum_is_valid() -> None:
    compressor, decompressor = Compressor(), Decompressor()
    out = []
    for original in tcp_flow():
        protocol, payload = compressor.compress(original)
        if protocol == Protocol.VJ_COMPRESSED:
            out.append(decompressor.compressed(payload))
        elif protocol == Protocol.VJ_UNCOMPRESSED:
            decompressor.uncompressed(payload)
    for datagram in out:
        assert internet_checksum(datagram[:20]) == 0
        assert IP(datagram)[TCP].chksum == IP(bytes(IP(datagram)))[TCP].chksum


def test_toss_after_a_line_error_until_a_slot_is_named() -> None:
    compressor, decompressor = Compressor(), Decompressor()
    flow = tcp_flow()
    decompressor.uncompressed(compressor.compress(flow[0])[1])
    protocol, payload = compressor.compress(flow[1])
    assert protocol == Protocol.VJ_COMPRESSED and not payload[0] & NEW_C
    decompressor.toss()
    with pytest.raises(VjError, match="tossing"):
        decompressor.compressed(payload)


def test_compressed_packet_for_unknown_slot() -> None:
    with pytest.raises(VjError):
        Decompressor().compressed(bytes([NEW_C, 3, 0, 0]))
    with pytest.raises(VjError):
        Decompressor().compressed(bytes([NEW_C, 200, 0, 0]))


@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=80)), max_size=20))
def test_arbitrary_input_only_raises_vj_error(packets: list[tuple[bool, bytes]]) -> None:
    decompressor = Decompressor()
    decompressor.uncompressed(packet(seq=1, ack=1, data=b"seed"))
    for compressed, payload in packets:
        try:
            out = (decompressor.compressed if compressed else decompressor.uncompressed)(payload)
        except VjError:
            continue
        assert len(out) <= 0xFFFF
    assert all(len(s.header) <= 120 for s in decompressor.slots)
