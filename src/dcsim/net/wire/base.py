"""The one error every codec raises on bad input."""

from __future__ import annotations


class WireError(ValueError):
    """Undecodable or unsupported packet bytes: *what* is wrong and at which *offset*."""

    def __init__(self, layer: str, what: str, offset: int = 0) -> None:
        super().__init__(layer, what, offset)
        self.layer = layer
        self.what = what
        self.offset = offset

    def __str__(self) -> str:
        return f"{self.layer}: {self.what} (at byte {self.offset})"
