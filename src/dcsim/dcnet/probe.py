"""The UDP 7655 access-point probe of Flycast's DCNet (research/flycast.md §3).

Flycast, when it finds DCNet's server through the host name ``dcnet.flyca.st`` (the
hosts-file method), first sends DISCOVER to UDP 7655 and pings the access points listed
in the answer. Datagrams start with the magic 0xDC15C001 as Flycast's little-endian
machines write it (``01 C0 15 DC``), then a type octet:

- DISCOVER (3), 5 octets: answered with the magic, 3, then per access point its IPv4
  address (network order), a name length and the name (at most 15 octets); at most 512
  octets in all. An empty list sends Flycast to the address it resolved, i.e. here.
- PING (1), 13 octets (magic, 1, a u64 of milliseconds): echoed with the type set to
  PONG (2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv4Address
from typing import Any

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from dcsim.config import setting

log = Logger()

MAGIC = (0xDC15C001).to_bytes(4, "little")
PING_SIZE = 13
MAX_REPLY = 512  # Flycast truncates longer replies
MAX_NAME = 15  # dcnet-ap's discoping cuts names to 15 octets


class ProbeType(IntEnum):
    PING = 1
    PONG = 2
    DISCOVER = 3


@dataclass(frozen=True)
class AccessPoint:
    """One entry of the DISCOVER answer."""

    address: IPv4Address = setting(IPv4Address("127.0.0.1"), "The access point's IPv4 address.")
    name: str = setting("dcsim", "Its name as Flycast shows it (at most 15 octets).")

    def pack(self) -> bytes:
        name = self.name.encode("utf-8")[:MAX_NAME]
        return self.address.packed + bytes((len(name),)) + name


class ProbeError(ValueError):
    """A datagram that is not a DCNet probe."""


def answer(datagram: bytes, access_points: Sequence[AccessPoint]) -> bytes:
    """The reply to one probe datagram; :class:`ProbeError` for anything else."""
    if len(datagram) < 5 or datagram[:4] != MAGIC:
        raise ProbeError("not a DCNet probe (no magic)")
    kind = datagram[4]
    if kind == ProbeType.DISCOVER:
        reply = MAGIC + bytes((ProbeType.DISCOVER,))
        for point in access_points:
            entry = point.pack()
            if len(reply) + len(entry) > MAX_REPLY:
                break
            reply += entry
        return reply
    if kind == ProbeType.PING:
        if len(datagram) != PING_SIZE:
            raise ProbeError(f"PING of {len(datagram)} octets, expected {PING_SIZE}")
        return MAGIC + bytes((ProbeType.PONG,)) + datagram[5:]
    raise ProbeError(f"unknown probe type {kind}")


class ProbeProtocol(DatagramProtocol):
    """Answers DISCOVER and PING; anything else is logged and dropped."""

    noisy = False

    def __init__(self, access_points: Sequence[AccessPoint] = ()) -> None:
        self.access_points = tuple(access_points)
        self.answered = 0
        self.dropped = 0

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        try:
            reply = answer(datagram, self.access_points)
        except ProbeError as e:
            self.dropped += 1
            log.info("dcnet probe from {peer}: {why}", peer=addr, why=e)
            return
        self.answered += 1
        self.transport.write(reply, addr)
