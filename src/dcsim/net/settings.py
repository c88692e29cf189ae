"""The ``[net]`` settings section: which topology, captures, and the gateway's allowlist."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dcsim.address import Listen
from dcsim.config import setting

DEFAULT_TOPOLOGY = Path(__file__).resolve().parents[3] / "configs" / "topologies" / "revival.toml"


@dataclass(frozen=True)
class NetSettings:
    topology: Path | None = setting(
        None,
        "The virtual internet's topology (TOML, see docs/net.md);\n"
        "unset: configs/topologies/revival.toml, the address plan of docs/architecture.md.",
    )
    capture_dir: Path | None = setting(
        None, "Write every link's traffic to DIR/LINK.pcap (raw IPv4); unset: no captures."
    )
    allow: list[Listen] = setting(
        default_factory=list,
        doc="Real destinations the gateway (100.64.0.1) may relay to, added to the\n"
        'topology\'s own, e.g. ["tcp:127.0.0.1:9100"]. Default: none, nothing leaves.',
    )

    def topology_path(self) -> Path:
        return self.topology.expanduser() if self.topology is not None else DEFAULT_TOPOLOGY
