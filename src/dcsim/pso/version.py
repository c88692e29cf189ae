"""Which PSO a client runs, from the commands it uses and its sub_version.

sub_version values are from shared/research/pso_servers.md section 4.3 (newserv
``set_flags_for_version``): 0x20 NTE, 11/2000 prototype and JP v1; 0x21 US v1; 0x22/0x23
EU v1 (50/60 Hz, also the 12/2000 and 01/2001 prototypes); 0x25 JP v2; 0x26 US v2;
0x27/0x28 EU v2 (50/60 Hz).
"""

from __future__ import annotations

from enum import Enum, IntEnum


class Version(Enum):
    __hash__ = object.__hash__  # singletons; hashed in C (looked up on every login)

    NTE = "nte"  # the DC Network Trial Edition (88/8A/8B instead of 90/92/93)
    V1 = "v1"
    V2 = "v2"


class Region(Enum):
    JP = "jp"
    US = "us"
    EU = "eu"

    @property
    def domain(self) -> int:
        """The region's number in Sega's serial algorithm (:mod:`dcsim.pso.serial`)."""
        return {Region.JP: 0, Region.US: 1, Region.EU: 2}[self]


class SubVersion(IntEnum):
    JP_V1 = 0x20  # also NTE and the 11/2000 prototype
    US_V1 = 0x21
    EU_V1_50HZ = 0x22
    EU_V1_60HZ = 0x23
    JP_V2 = 0x25
    US_V2 = 0x26
    EU_V2_50HZ = 0x27
    EU_V2_60HZ = 0x28


_REGIONS = {
    0x20: Region.JP,
    0x21: Region.US,
    0x22: Region.EU,
    0x23: Region.EU,
    0x25: Region.JP,
    0x26: Region.US,
    0x27: Region.EU,
    0x28: Region.EU,
}


def region_of(sub_version: int) -> Region | None:
    """The disc's region, or None for a sub_version nobody has recorded."""
    return _REGIONS.get(sub_version)


#: How many lobbies each version's teleporter has (newserv CommandFormats.hh, 83).
LOBBY_COUNT = {Version.NTE: 10, Version.V1: 10, Version.V2: 15}
