"""Point-to-point links: MTU, latency, bandwidth (byte pacing), loss and a queue limit.

Each direction is a :class:`Channel`: a datagram waits for the wire (serialisation at
``bandwidth`` bits per second behind the datagrams before it), then travels for
``latency`` seconds. A datagram that finds ``queue_limit`` others waiting is dropped
(tail drop); a datagram is lost with probability ``loss`` drawn from the link's own seeded
generator. Each channel keeps at most one pending timer: arrivals are in order.

A capture (``PcapWriter`` with ``LinkType.RAW``) sees what went onto the wire at the
sending end, so a datagram lost in flight is in the capture and a tail-dropped one is not.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from dcsim.edge import DeadlineTimer
from dcsim.net.wire.ipv4 import MIN_MTU
from dcsim.pcap import PcapWriter

if TYPE_CHECKING:
    from dcsim.net.node import Interface

log = Logger()


@dataclass(frozen=True, slots=True)
class LinkProfile:
    """A link's properties, the same in both directions."""

    mtu: int = 1500
    latency: float = 0.0  # one way, seconds
    bandwidth: float | None = None  # bits per second; None: infinitely fast
    loss: float = 0.0  # probability in [0, 1] that a datagram is lost
    queue_limit: int = 100  # datagrams waiting for the wire before tail drop

    def __post_init__(self) -> None:
        if not MIN_MTU <= self.mtu <= 65535:
            raise ValueError(f"mtu {self.mtu} is outside [{MIN_MTU}, 65535]")
        if self.latency < 0:
            raise ValueError(f"latency {self.latency} is negative")
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError(f"bandwidth {self.bandwidth} must be positive")
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss {self.loss} is outside [0, 1]")
        if self.queue_limit < 1:
            raise ValueError(f"queue_limit {self.queue_limit} must be at least 1")


@dataclass
class ChannelStats:
    sent: int = 0
    delivered: int = 0
    lost: int = 0
    tail_dropped: int = 0
    bytes_sent: int = 0


class Channel:
    """One direction of a link: from one interface's send to a receive callback."""

    def __init__(
        self,
        clock: IReactorTime,
        profile: LinkProfile,
        rng: random.Random,
        receive: Callable[[bytes], None],
        name: str,
    ) -> None:
        self.clock = clock
        self.profile = profile
        self.rng = rng
        self.receive = receive
        self.name = name
        self.pcap: PcapWriter | None = None
        self.stats = ChannelStats()
        self._in_flight: deque[tuple[float, bytes]] = deque()
        self._wire_free_at = 0.0
        self._waiting: deque[float] = deque()  # when each queued datagram leaves the queue
        # the next arrival; lazy, as datagrams arrive in the order they were sent
        self._timer = DeadlineTimer(clock, self._arrive, lazy=True)

    def send(self, datagram: bytes) -> None:
        now = self.clock.seconds()
        profile = self.profile
        start = now
        if profile.bandwidth is not None:
            waiting = self._waiting
            while waiting and waiting[0] <= now:
                waiting.popleft()
            if len(waiting) >= profile.queue_limit:
                self.stats.tail_dropped += 1
                log.debug("{link}: queue full, dropped {n} bytes", link=self.name, n=len(datagram))
                return
            start = max(now, self._wire_free_at)
            self._wire_free_at = start + len(datagram) * 8 / profile.bandwidth
            waiting.append(start)
            leaves = self._wire_free_at
        else:
            leaves = now
        self.stats.sent += 1
        self.stats.bytes_sent += len(datagram)
        if self.pcap is not None:
            self.pcap.write(start, datagram)
        if profile.loss and self.rng.random() < profile.loss:
            self.stats.lost += 1
            return
        self._in_flight.append((leaves + profile.latency, datagram))
        self._timer.at(self._in_flight[0][0])

    def _arrive(self, _deadline: float) -> None:
        now = self.clock.seconds()
        in_flight = self._in_flight
        while in_flight and in_flight[0][0] <= now:
            _, datagram = in_flight.popleft()
            self.stats.delivered += 1
            self.receive(datagram)
        if in_flight:
            self._timer.at(in_flight[0][0])

    def close(self) -> None:
        """Forget everything in flight (the link was cut)."""
        self._in_flight.clear()
        self._waiting.clear()
        self._timer.cancel()


class Link:
    """A point-to-point link between two interfaces."""

    def __init__(
        self,
        clock: IReactorTime,
        a: Interface,
        b: Interface,
        profile: LinkProfile,
        *,
        rng: random.Random,
        name: str,
    ) -> None:
        self.name = name
        self.profile = profile
        self.a = a
        self.b = b
        self.a_to_b = Channel(clock, profile, rng, b.receive, f"{name} {a}>{b}")
        self.b_to_a = Channel(clock, profile, rng, a.receive, f"{name} {b}>{a}")
        a.attach(self.a_to_b, profile.mtu, peer=b)
        b.attach(self.b_to_a, profile.mtu, peer=a)

    def capture(self, pcap: PcapWriter | None) -> None:
        """Write both directions to *pcap* (raw IPv4), or stop with None."""
        self.a_to_b.pcap = self.b_to_a.pcap = pcap

    def __repr__(self) -> str:
        return f"<Link {self.name}: {self.a} <-> {self.b}>"
