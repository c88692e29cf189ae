"""Codecs for the packets of the virtual internet: IPv4, ICMP, UDP and TCP.

Modelled on smoltcp's ``wire/``: each format has a zero-copy *view* (``Ipv4View``) that
checks lengths before any field is read, and a small frozen *representation*
(``Ipv4Repr``, ``UdpRepr``...) with ``parse`` and ``emit``. Checksums are verified on
parse unless ``verify_checksum=False``. Every decoding problem raises :class:`WireError`
naming the field and the offset, never another exception.

One codec serves the simulated links, the PPP link and the capture writer.
"""

from dcsim.net.wire.base import WireError
from dcsim.net.wire.checksum import internet_checksum
from dcsim.net.wire.icmp import IcmpRepr, IcmpType, UnreachableCode
from dcsim.net.wire.ipv4 import (
    IpProto,
    Ipv4Repr,
    Ipv4View,
    fragment,
)
from dcsim.net.wire.tcp import TcpFlags, TcpRepr, TcpView
from dcsim.net.wire.udp import UdpRepr, UdpView

__all__ = [
    "IcmpRepr",
    "IcmpType",
    "IpProto",
    "Ipv4Repr",
    "Ipv4View",
    "TcpFlags",
    "TcpRepr",
    "TcpView",
    "UdpRepr",
    "UdpView",
    "UnreachableCode",
    "WireError",
    "fragment",
    "internet_checksum",
]
