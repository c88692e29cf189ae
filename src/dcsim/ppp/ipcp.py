"""IPCP (RFC 1332) with the DNS options of RFC 1877: both roles' policies.

The access server Naks a client's 0.0.0.0 with the address it assigns and Naks the DNS
options with its DNS servers: Dreamcast stacks (KallistiOS, and the titles newserv met)
take their DNS from that Nak and some never handle a Configure-Reject of option 129
(modem_ppp.md §5.1), so by default those options are never rejected. Van Jacobson
compression (RFC 1144) is rejected unless enabled (Web TV needs it accepted, §5.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from ipaddress import IPv4Address

from dcsim.ppp.automaton import ACK, REJECT, Verdict, nak
from dcsim.ppp.frame import Protocol
from dcsim.ppp.packet import Option

ANY = IPv4Address(0)


class IpcpOption(IntEnum):
    IP_ADDRESSES = 1  # RFC 1172, deprecated: always rejected
    IP_COMPRESSION = 2
    IP_ADDRESS = 3
    PRIMARY_DNS = 129  # RFC 1877
    PRIMARY_NBNS = 130
    SECONDARY_DNS = 131
    SECONDARY_NBNS = 132


DNS_OPTIONS = (IpcpOption.PRIMARY_DNS, IpcpOption.SECONDARY_DNS)


class DnsPolicy(Enum):
    """How the access server answers a client's DNS options."""

    NAK = "nak"  # always hand out our DNS servers (every ISP that implements RFC 1877)
    ACK = "ack"  # keep what the client asks for; only 0.0.0.0 gets ours
    REJECT = "reject"  # an access server without RFC 1877 (a fault to provoke)


@dataclass(frozen=True, slots=True)
class VjParams:
    """RFC 1332 §4 IP-Compression-Protocol value for Van Jacobson TCP/IP compression."""

    max_slot_id: int = 15  # slots 0..max_slot_id
    comp_slot_id: bool = True  # the slot id may be left out of compressed packets

    def option(self) -> Option:
        value = Protocol.VJ_COMPRESSED.to_bytes(2, "big")
        value += bytes((self.max_slot_id, int(self.comp_slot_id)))
        return Option(IpcpOption.IP_COMPRESSION, value)

    @classmethod
    def from_option(cls, option: Option) -> VjParams | None:
        v = option.value
        if len(v) != 4 or int.from_bytes(v[:2], "big") != Protocol.VJ_COMPRESSED:
            return None
        if v[3] > 1:
            return None
        return cls(v[2], bool(v[3]))


def _address_option(kind: int, address: IPv4Address) -> Option:
    return Option(kind, address.packed)


def _address(option: Option) -> IPv4Address | None:
    return IPv4Address(option.value) if len(option.value) == 4 else None


@dataclass
class IpcpTerms:
    """What IPCP agreed: addresses, DNS servers and compression in each direction."""

    local: IPv4Address = ANY
    peer: IPv4Address = ANY
    dns: tuple[IPv4Address, ...] = ()  # the client's DNS servers after negotiation
    send_vj: VjParams | None = None  # the peer accepts compressed packets from us
    recv_vj: VjParams | None = None  # the peer may send us compressed packets


class _IpcpPolicy:
    """What both roles share: VJ, and recording the terms."""

    def __init__(self, vj: VjParams | None) -> None:
        self.vj = vj
        self.terms = IpcpTerms()
        self._want_vj = vj

    def _judge_vj(self, option: Option) -> Verdict:
        if self.vj is None:
            return REJECT
        offered = VjParams.from_option(option)
        return ACK if offered is not None else nak(self.vj.option())

    def _vj_naked(self, option: Option) -> None:
        suggested = VjParams.from_option(option)
        self._want_vj = suggested if suggested is not None and self.vj is not None else None

    def _vj_request(self) -> list[Option]:
        return [self._want_vj.option()] if self._want_vj is not None else []

    def _vj_peer_acked(self, options: Sequence[Option]) -> None:
        self.terms.send_vj = None
        for o in options:
            if o.type == IpcpOption.IP_COMPRESSION:
                self.terms.send_vj = VjParams.from_option(o)

    def _vj_acked(self, options: Sequence[Option]) -> None:
        self.terms.recv_vj = None
        for o in options:
            if o.type == IpcpOption.IP_COMPRESSION:
                self.terms.recv_vj = VjParams.from_option(o)

    def reset(self) -> None:
        self._want_vj = self.vj
        self.terms.send_vj = self.terms.recv_vj = None

    def hints(self, options: Sequence[Option]) -> tuple[Option, ...]:
        return ()

    def never_reject(self) -> frozenset[int]:
        return frozenset()


class IpcpServerPolicy(_IpcpPolicy):
    """The access server: give the peer *peer_address* and our DNS servers."""

    def __init__(
        self,
        local: IPv4Address,
        peer_address: IPv4Address,
        dns: Sequence[IPv4Address] = (),
        *,
        dns_policy: DnsPolicy = DnsPolicy.NAK,
        vj: VjParams | None = None,
    ) -> None:
        super().__init__(vj)
        self.local = local
        self.peer_address = peer_address
        self.dns = tuple(dns)
        self.dns_policy = dns_policy
        self._send_address = True
        self.terms = IpcpTerms(local=local, peer=peer_address)

    def reset(self) -> None:
        super().reset()
        self._send_address = True

    def request(self) -> list[Option]:
        options = [_address_option(IpcpOption.IP_ADDRESS, self.local)] if self._send_address else []
        return options + self._vj_request()

    def judge(self, options: Sequence[Option]) -> list[Verdict]:
        return [self._judge(o) for o in options]

    def _judge(self, o: Option) -> Verdict:
        if o.type == IpcpOption.IP_ADDRESS:
            asked = _address(o)
            if asked is None:
                return REJECT
            if asked == self.peer_address:
                return ACK
            return nak(_address_option(IpcpOption.IP_ADDRESS, self.peer_address))
        if o.type == IpcpOption.IP_COMPRESSION:
            return self._judge_vj(o)
        if o.type in DNS_OPTIONS:
            return self._judge_dns(o)
        return REJECT  # IP-Addresses, NBNS, unknown

    def _our_dns(self, kind: int) -> IPv4Address | None:
        if not self.dns:
            return None
        return self.dns[0] if kind == IpcpOption.PRIMARY_DNS else self.dns[-1]

    def _judge_dns(self, o: Option) -> Verdict:
        asked = _address(o)
        ours = self._our_dns(o.type)
        if asked is None or self.dns_policy is DnsPolicy.REJECT or ours is None:
            return REJECT
        if asked == ours or (self.dns_policy is DnsPolicy.ACK and asked != ANY):
            return ACK
        return nak(_address_option(o.type, ours))

    def hints(self, options: Sequence[Option]) -> tuple[Option, ...]:
        if any(o.type == IpcpOption.IP_ADDRESS for o in options):
            return ()
        return (_address_option(IpcpOption.IP_ADDRESS, self.peer_address),)

    def never_reject(self) -> frozenset[int]:
        if self.dns_policy is DnsPolicy.REJECT or not self.dns:
            return frozenset()
        return frozenset(DNS_OPTIONS)

    def peer_acked(self, options: Sequence[Option]) -> None:
        dns = [a for o in options if o.type in DNS_OPTIONS and (a := _address(o))]
        self.terms.dns = tuple(dns)
        self.terms.peer = self.peer_address
        self._vj_peer_acked(options)

    def acked(self, options: Sequence[Option]) -> None:
        self._vj_acked(options)

    def naked(self, options: Sequence[Option]) -> None:
        # our own address is not negotiable (pppd without ipcp-accept-local)
        for o in options:
            if o.type == IpcpOption.IP_COMPRESSION:
                self._vj_naked(o)

    def rejected(self, options: Sequence[Option]) -> None:
        for o in options:
            if o.type == IpcpOption.IP_ADDRESS:
                self._send_address = False
            elif o.type == IpcpOption.IP_COMPRESSION:
                self._want_vj = None


class IpcpClientPolicy(_IpcpPolicy):
    """The Dreamcast: ask for an address and DNS servers (0.0.0.0 or stored values).

    *ignore_reject* reproduces KallistiOS, whose handler for IPCP Configure-Reject is
    commented out: it keeps asking for what was rejected until its retries run out.
    """

    def __init__(
        self,
        address: IPv4Address = ANY,
        dns: Sequence[IPv4Address] = (ANY,),
        *,
        vj: VjParams | None = None,
        ignore_reject: bool = False,
    ) -> None:
        super().__init__(vj)
        self.initial_address = address
        self.initial_dns = tuple(dns)[:2]
        self.ignore_reject = ignore_reject
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._address: IPv4Address | None = self.initial_address
        self._dns: dict[int, IPv4Address] = dict(zip(DNS_OPTIONS, self.initial_dns, strict=False))

    def request(self) -> list[Option]:
        options = []
        if self._address is not None:
            options.append(_address_option(IpcpOption.IP_ADDRESS, self._address))
        options += self._vj_request()
        options += [_address_option(kind, value) for kind, value in self._dns.items()]
        return options

    def judge(self, options: Sequence[Option]) -> list[Verdict]:
        verdicts = []
        for o in options:
            if o.type == IpcpOption.IP_ADDRESS:
                address = _address(o)
                verdicts.append(ACK if address is not None and address != ANY else REJECT)
            elif o.type == IpcpOption.IP_COMPRESSION:
                verdicts.append(self._judge_vj(o))
            else:
                verdicts.append(REJECT)
        return verdicts

    def naked(self, options: Sequence[Option]) -> None:
        for o in options:
            address = _address(o)
            if o.type == IpcpOption.IP_ADDRESS and address is not None:
                self._address = address
            elif o.type in DNS_OPTIONS and address is not None:
                self._dns[o.type] = address
            elif o.type == IpcpOption.IP_COMPRESSION:
                self._vj_naked(o)

    def rejected(self, options: Sequence[Option]) -> None:
        if self.ignore_reject:
            return
        for o in options:
            if o.type == IpcpOption.IP_ADDRESS:
                self._address = None
            elif o.type in DNS_OPTIONS:
                self._dns.pop(o.type, None)
            elif o.type == IpcpOption.IP_COMPRESSION:
                self._want_vj = None

    def peer_acked(self, options: Sequence[Option]) -> None:
        for o in options:
            if o.type == IpcpOption.IP_ADDRESS and (address := _address(o)):
                self.terms.peer = address
        self._vj_peer_acked(options)

    def acked(self, options: Sequence[Option]) -> None:
        dns = []
        for o in options:
            address = _address(o)
            if o.type == IpcpOption.IP_ADDRESS and address is not None:
                self.terms.local = address
            elif o.type in DNS_OPTIONS and address is not None and address != ANY:
                dns.append(address)
        if not any(o.type in DNS_OPTIONS for o in options):
            dns = [a for a in self.initial_dns if a != ANY]  # stored DNS, if any
        self.terms.dns = tuple(dns)
        self._vj_acked(options)
