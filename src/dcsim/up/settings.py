"""The ``[up]`` settings section: how ``dcsim up`` composes the revival world."""

from __future__ import annotations

from dataclasses import dataclass

from dcsim.config import setting


@dataclass(frozen=True)
class UpSettings:
    dns_node: str = setting(
        "sega-dns",
        "The node of the [net] topology that serves the [dns] zones on port 53\n"
        "(the address consoles get in IPCP/DHCP, [ppp] dns, must be one of its addresses).",
    )
    licence_node: str = setting(
        "licence", "The node that serves the licence check (HTTPS, port 443)."
    )
    login_node: str = setting(
        "pso-login",
        "The node that serves the PSO login ports of [pso] listen and dcsim's ship\n"
        "(clients are sent to the ship at the address they reached the login server at).",
    )
    modem_answerer: str = setting(
        "ppp",
        "What a call to the fake modem reaches under dcsim up: ppp (the access server on\n"
        "the virtual internet), echo, or tcp:HOST:PORT. ([modem] answerer is for\n"
        "`dcsim modem` alone, which has no access server.)",
    )
