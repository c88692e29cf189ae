"""The ``[up]`` settings section: where ``dcsim up`` puts its services on the virtual
internet (DNS goes where ``[ppp] dns`` says consoles look for it)."""

from __future__ import annotations

from dataclasses import dataclass

from dcsim.config import setting


@dataclass(frozen=True)
class UpSettings:
    licence_node: str = setting(
        "licence", "The node that serves the licence check (HTTPS, port 443)."
    )
    login_node: str = setting(
        "pso-login",
        "The node that serves the PSO login ports of [pso] listen and dcsim's ship\n"
        "(clients are sent to the ship at the address they reached the login server at).",
    )
    login_ports: list[int] = setting(
        default_factory=lambda: [9200, 9201, 9000],
        doc="The login server's ports there: the discs' own (DC v1/v2 9200 and 9201, the\n"
        "NTE 9000), whatever [pso] listen says for this machine's sockets.",
    )
