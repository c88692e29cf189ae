"""Who is connected and how far they got: the session registry and the live status page.

:mod:`dcsim.status.registry` is the pure registry the front ends and services report to;
:mod:`dcsim.status.web` serves it as a page with live updates (twisted.web, server-sent
events). The names below are the registry's API.
"""

from dcsim.status.registry import (
    Counts,
    DnsQueried,
    DnsQuery,
    Event,
    Failure,
    FailureRecorded,
    LicenceResult,
    Limits,
    Login,
    SessionChanged,
    SessionEnded,
    SessionHandle,
    SessionInfo,
    SessionKind,
    SessionOpened,
    SessionRegistry,
    Snapshot,
    State,
)

__all__ = [
    "Counts",
    "DnsQueried",
    "DnsQuery",
    "Event",
    "Failure",
    "FailureRecorded",
    "LicenceResult",
    "Limits",
    "Login",
    "SessionChanged",
    "SessionEnded",
    "SessionHandle",
    "SessionInfo",
    "SessionKind",
    "SessionOpened",
    "SessionRegistry",
    "Snapshot",
    "State",
]
