"""Listening addresses as users write them: ``tcp:127.0.0.1:5353``, ``udp:[::1]:53``;
and a connection's far end as text for logs (:func:`peer_text`, :func:`peer_host`)."""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass
from typing import Literal

Transport = Literal["tcp", "udp"]


@dataclass(frozen=True, slots=True)
class Listen:
    """transport:host:port, for example tcp:127.0.0.1:5353"""

    transport: Transport
    host: str
    port: int

    @classmethod
    def from_text(cls, text: str) -> Listen:
        transport, sep, rest = text.partition(":")
        if not sep or transport not in ("tcp", "udp"):
            raise ValueError("expected transport:host:port with transport tcp or udp")
        host, sep, port_text = rest.rpartition(":")
        if not sep or not host:
            raise ValueError("expected transport:host:port, for example tcp:127.0.0.1:5353")
        host = host.removeprefix("[").removesuffix("]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"expected a numeric IP address as host, not {host!r}") from None
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ValueError("expected a port number in [0, 65535]")
        return cls(transport, host, int(port_text))  # type: ignore[arg-type]

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}:{host}:{self.port}"


def listen_argument(text: str, *, only: Transport | None = None, refusal: str = "") -> Listen:
    """``type=`` for argparse options taking a listening address.

    A service that listens on one transport binds ``only`` and the ``refusal`` its users
    see for the other one with ``functools.partial``:
    ``partial(listen_argument, only="tcp", refusal="a modem listens on tcp only")``.
    """
    try:
        listen = Listen.from_text(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
    if only is not None and listen.transport != only:
        raise argparse.ArgumentTypeError(f"{text!r}: {refusal or f'expected a {only}: address'}")
    return listen


def peer_text(addr: object) -> str:
    """A connection's far end as text: ``host:port``, a modem call, or whatever it is."""
    host, port = getattr(addr, "host", None), getattr(addr, "port", None)
    if host is not None and port is not None:
        return f"{host}:{port}"
    return peer_host(addr)


def peer_host(addr: object) -> str:
    """Who is at the far end, whatever connection it comes on: the host of a TCP
    address (its port changes with every connection), the calling modem, or the text."""
    host = getattr(addr, "host", None)
    if host is not None:
        return str(host)
    number = getattr(addr, "number", None)
    if number is not None:
        return f"modem {number}"
    return str(addr)
