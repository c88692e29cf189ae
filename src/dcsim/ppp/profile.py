"""Readable names for the options a client asks for, to build client profiles."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address

from dcsim.ppp.frame import Protocol
from dcsim.ppp.ipcp import IpcpOption, VjParams
from dcsim.ppp.lcp import AuthProtocol, LcpOption
from dcsim.ppp.packet import Option


def _name(enum: type, kind: int) -> str:
    try:
        return enum(kind).name.replace("_", "-")
    except ValueError:
        return f"option-{kind}"


def describe_option(protocol: int, option: Option) -> str:
    """One option as text, e.g. ``ACCM=0x00000000`` or ``PRIMARY-DNS=0.0.0.0``."""
    value = option.value
    if protocol == Protocol.LCP:
        name = _name(LcpOption, option.type)
        if option.type in (LcpOption.ACCM, LcpOption.MAGIC_NUMBER) and len(value) == 4:
            return f"{name}=0x{option.int_value():08x}"
        if option.type == LcpOption.MRU and len(value) == 2:
            return f"{name}={option.int_value()}"
        if option.type == LcpOption.AUTHENTICATION_PROTOCOL:
            auth = AuthProtocol.from_option(value)
            return f"{name}={auth.name if auth else value.hex()}"
    elif protocol == Protocol.IPCP:
        name = _name(IpcpOption, option.type)
        if len(value) == 4 and option.type != IpcpOption.IP_COMPRESSION:
            return f"{name}={IPv4Address(value)}"
        if option.type == IpcpOption.IP_COMPRESSION:
            vj = VjParams.from_option(option)
            if vj is not None:
                return f"{name}=VJ(max-slot={vj.max_slot_id},comp-slot={int(vj.comp_slot_id)})"
    else:
        name = f"option-{option.type}"
    return f"{name}={value.hex()}" if value else name


def describe_options(protocol: int, options: Iterable[Option]) -> str:
    return " ".join(describe_option(protocol, o) for o in options) or "(none)"
