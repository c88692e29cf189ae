"""The ``[client]`` settings section: the virtual Dreamcast and the rules it is judged by."""

from __future__ import annotations

from dataclasses import dataclass

from dcsim.client.rules import SegaRules
from dcsim.config import setting


@dataclass(frozen=True)
class ClientSettings:
    rules: SegaRules = setting(
        default_factory=SegaRules,
        doc="Sega's network rules: how the virtual Dreamcast dials and disconnects, and\n"
        "what `dcsim check` holds a real client's call log to.",
    )
