"""Van Jacobson TCP/IP header compression (RFC 1144), both directions.

Negotiated in IPCP (option 2). Web TV for Dreamcast needs the option accepted
(modem_ppp.md §5.2); once a peer has agreed, it may send protocol 0x002F (an ordinary
TCP/IP packet whose IP protocol field carries a slot number, which sets that slot's
state) and 0x002D (a compressed header: a change mask, the TCP checksum and small deltas
against the slot's last header). This follows the RFC's reference code
(``sl_compress_tcp``/``sl_uncompress_tcp``) with the same special cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dcsim.net.wire.checksum import internet_checksum
from dcsim.ppp.frame import Protocol

# change-mask bits (RFC 1144 §3.2.2)
NEW_C = 0x40  # connection number present
NEW_I = 0x20  # IP id delta present (otherwise the id grew by one)
TCP_PUSH = 0x10
NEW_S = 0x08
NEW_A = 0x04
NEW_W = 0x02
NEW_U = 0x01
SPECIALS_MASK = NEW_S | NEW_A | NEW_W | NEW_U
SPECIAL_I = NEW_S | NEW_A | NEW_W | NEW_U  # echoed interactive traffic
SPECIAL_D = NEW_S | NEW_W | NEW_U  # unidirectional data

TCP = 6
_TH_FIN, _TH_SYN, _TH_RST, _TH_PUSH, _TH_ACK, _TH_URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


class VjError(ValueError):
    """A compressed packet that cannot be expanded; the decompressor now tosses packets
    until the next one that names its connection (RFC 1144 §4.3)."""


def _header_lengths(packet: bytes | bytearray) -> tuple[int, int] | None:
    """(IP header length, IP+TCP header length), or None if not a whole TCP/IPv4 header."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl + 20:
        return None
    hlen = ihl + (packet[ihl + 12] >> 4) * 4
    if hlen < ihl + 20 or len(packet) < hlen:
        return None
    return ihl, hlen


def _u16(b: bytes | bytearray, at: int) -> int:
    return (b[at] << 8) | b[at + 1]


def _u32(b: bytes | bytearray, at: int) -> int:
    return int.from_bytes(b[at : at + 4], "big")


def _encode(out: bytearray, n: int, *, zero_long: bool) -> None:
    n &= 0xFFFF
    if n >= 256 or (zero_long and n == 0):
        out += bytes((0, n >> 8, n & 0xFF))
    else:
        out.append(n)


@dataclass
class _Slot:
    header: bytearray = field(default_factory=bytearray)  # IP + TCP headers of the last packet
    ip_length: int = 0  # its IP total length


class Compressor:
    """The sending side: TCP/IP packets in, (protocol, payload) out."""

    def __init__(self, slots: int = 16, *, compress_slot_id: bool = True) -> None:
        self.slots = [_Slot() for _ in range(slots)]
        self._lru: list[int] = list(range(slots))  # most recently used last
        self._keys: dict[bytes, int] = {}
        self.compress_slot_id = compress_slot_id
        self._last_sent: int | None = None

    def compress(self, packet: bytes) -> tuple[int, bytes]:
        lengths = _header_lengths(packet)
        if lengths is None or packet[9] != TCP:
            return Protocol.IP, packet
        ihl, hlen = lengths
        if _u16(packet, 6) & 0x3FFF:  # a fragment
            return Protocol.IP, packet
        flags = packet[ihl + 13]
        if flags & (_TH_SYN | _TH_FIN | _TH_RST | _TH_ACK) != _TH_ACK:
            return Protocol.IP, packet
        key = bytes(packet[12:20]) + bytes(packet[ihl : ihl + 4])
        slot_id = self._keys.get(key)
        if slot_id is None:
            slot_id = self._lru[0]
            stale = [k for k, v in self._keys.items() if v == slot_id]
            for k in stale:
                del self._keys[k]
            self._keys[key] = slot_id
            return self._uncompressed(packet, slot_id, hlen)
        self._lru.remove(slot_id)
        self._lru.append(slot_id)
        slot = self.slots[slot_id]
        old = slot.header
        old_ihl = (old[0] & 0x0F) * 4
        if (
            old[0:2] != packet[0:2]
            or old[6:10] != packet[6:10]
            or old_ihl != ihl
            or old[ihl + 12] != packet[ihl + 12]
            or old[20:ihl] != packet[20:ihl]
            or old[ihl + 20 : len(old)] != packet[ihl + 20 : hlen]
            or len(old) != hlen
        ):
            return self._uncompressed(packet, slot_id, hlen)
        deltas = bytearray()
        changes = 0
        if flags & _TH_URG:
            _encode(deltas, _u16(packet, ihl + 18), zero_long=True)
            changes |= NEW_U
        elif _u16(packet, ihl + 18) != _u16(old, ihl + 18):
            return self._uncompressed(packet, slot_id, hlen)
        window = (_u16(packet, ihl + 14) - _u16(old, ihl + 14)) & 0xFFFF
        if window:
            _encode(deltas, window, zero_long=False)
            changes |= NEW_W
        ack = (_u32(packet, ihl + 8) - _u32(old, ihl + 8)) & 0xFFFFFFFF
        if ack:
            if ack > 0xFFFF:
                return self._uncompressed(packet, slot_id, hlen)
            _encode(deltas, ack, zero_long=False)
            changes |= NEW_A
        seq = (_u32(packet, ihl + 4) - _u32(old, ihl + 4)) & 0xFFFFFFFF
        if seq:
            if seq > 0xFFFF:
                return self._uncompressed(packet, slot_id, hlen)
            _encode(deltas, seq, zero_long=False)
            changes |= NEW_S
        last_data = slot.ip_length - hlen
        ip_length = _u16(packet, 2)
        if changes == 0:
            # nothing changed: compress only data following a pure ack; a repeat may be a
            # retransmission the peer missed, so it goes uncompressed
            if not (ip_length != slot.ip_length and last_data == 0):
                return self._uncompressed(packet, slot_id, hlen)
        elif changes in (SPECIAL_I, SPECIAL_D):
            return self._uncompressed(packet, slot_id, hlen)
        elif changes == NEW_S | NEW_A and seq == ack == last_data:
            changes, deltas = SPECIAL_I, bytearray()
        elif changes == NEW_S and seq == last_data:
            changes, deltas = SPECIAL_D, bytearray()
        ip_id = (_u16(packet, 4) - _u16(old, 4)) & 0xFFFF
        if ip_id != 1:
            _encode(deltas, ip_id, zero_long=True)
            changes |= NEW_I
        if flags & _TH_PUSH:
            changes |= TCP_PUSH
        slot.header[:] = packet[:hlen]
        slot.ip_length = ip_length
        head = bytearray()
        if not self.compress_slot_id or self._last_sent != slot_id:
            self._last_sent = slot_id
            head += bytes((changes | NEW_C, slot_id))
        else:
            head.append(changes)
        head += packet[ihl + 16 : ihl + 18]  # the TCP checksum, unchanged
        return Protocol.VJ_COMPRESSED, bytes(head + deltas) + packet[hlen:ip_length]

    def _uncompressed(self, packet: bytes, slot_id: int, hlen: int) -> tuple[int, bytes]:
        slot = self.slots[slot_id]
        slot.header[:] = packet[:hlen]
        slot.ip_length = _u16(packet, 2)
        if slot_id in self._lru:
            self._lru.remove(slot_id)
        self._lru.append(slot_id)
        self._last_sent = slot_id
        marked = bytearray(packet)
        marked[9] = slot_id
        return Protocol.VJ_UNCOMPRESSED, bytes(marked)


class Decompressor:
    """The receiving side: 0x002D/0x002F payloads in, TCP/IP packets out."""

    def __init__(self, slots: int = 16) -> None:
        self.slots = [_Slot() for _ in range(slots)]
        self._last: int | None = None
        self.tossing = False

    def toss(self) -> None:
        """A frame was lost on the line: drop compressed packets until one names its slot."""
        self.tossing = True

    def uncompressed(self, payload: bytes) -> bytes:
        lengths = _header_lengths(payload)
        if lengths is None:
            self._fail("uncompressed TCP packet shorter than its headers")
        slot_id = payload[9]
        if slot_id >= len(self.slots):
            self._fail(f"uncompressed TCP packet names slot {slot_id} of {len(self.slots)}")
        _, hlen = lengths
        packet = bytearray(payload)
        packet[9] = TCP
        slot = self.slots[slot_id]
        slot.header[:] = packet[:hlen]
        slot.ip_length = _u16(packet, 2)
        self._last = slot_id
        self.tossing = False
        return bytes(packet)

    def _fail(self, why: str) -> None:
        self.tossing = True
        raise VjError(why)

    def compressed(self, payload: bytes) -> bytes:
        if not payload:
            self._fail("empty compressed packet")
        changes = payload[0]
        at = 1
        if changes & NEW_C:
            if len(payload) < 2 or payload[1] >= len(self.slots):
                self._fail("compressed packet names a slot that does not exist")
            self._last = payload[1]
            self.tossing = False
            at = 2
        elif self.tossing:
            raise VjError("tossing compressed packets after an error")
        if self._last is None or not self.slots[self._last].header:
            self._fail("compressed packet for a slot never set up")
        assert self._last is not None
        slot = self.slots[self._last]
        h = bytearray(slot.header)
        ihl = (h[0] & 0x0F) * 4
        hlen = len(h)
        try:
            if len(payload) < at + 2:
                raise IndexError
            h[ihl + 16 : ihl + 18] = payload[at : at + 2]
            at += 2
            if changes & TCP_PUSH:
                h[ihl + 13] |= _TH_PUSH
            else:
                h[ihl + 13] &= ~_TH_PUSH
            special = changes & SPECIALS_MASK
            if special == SPECIAL_I:
                n = slot.ip_length - hlen
                self._add32(h, ihl + 8, n)
                self._add32(h, ihl + 4, n)
            elif special == SPECIAL_D:
                self._add32(h, ihl + 4, slot.ip_length - hlen)
            else:
                if changes & NEW_U:
                    h[ihl + 13] |= _TH_URG
                    value, at = self._decode(payload, at)
                    h[ihl + 18 : ihl + 20] = value.to_bytes(2, "big")
                else:
                    h[ihl + 13] &= ~_TH_URG
                if changes & NEW_W:
                    value, at = self._decode(payload, at)
                    window = (_u16(h, ihl + 14) + value) & 0xFFFF
                    h[ihl + 14 : ihl + 16] = window.to_bytes(2, "big")
                if changes & NEW_A:
                    value, at = self._decode(payload, at)
                    self._add32(h, ihl + 8, value)
                if changes & NEW_S:
                    value, at = self._decode(payload, at)
                    self._add32(h, ihl + 4, value)
            if changes & NEW_I:
                value, at = self._decode(payload, at)
            else:
                value = 1
            h[4:6] = ((_u16(h, 4) + value) & 0xFFFF).to_bytes(2, "big")
        except IndexError:
            self._fail("compressed packet ends inside its header")
        data = payload[at:]
        total = hlen + len(data)
        if total > 0xFFFF:
            self._fail("expanded packet longer than an IPv4 datagram")
        h[2:4] = total.to_bytes(2, "big")
        h[10:12] = b"\0\0"
        h[10:12] = internet_checksum(h[:ihl]).to_bytes(2, "big")
        slot.header[:] = h
        slot.ip_length = total
        return bytes(h) + data

    @staticmethod
    def _decode(payload: bytes, at: int) -> tuple[int, int]:
        if payload[at] == 0:
            return (payload[at + 1] << 8) | payload[at + 2], at + 3
        return payload[at], at + 1

    @staticmethod
    def _add32(h: bytearray, at: int, n: int) -> None:
        h[at : at + 4] = ((_u32(h, at) + n) & 0xFFFFFFFF).to_bytes(4, "big")
