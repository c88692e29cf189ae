"""``dcsim check`` for DCNet sessions: a client judged from the DCNet session log.

Over DCNet the TCP connection is the phone call (docs/ppp.md), so some of Sega's rules
read differently and some cannot be judged at all:

- ``redial-interval`` and ``give-up``: a session that never got an address, followed by
  another from the same host, is a reconnect attempt; the same 5-10 s and 10 minutes
  apply;
- ``number-order`` and ``line-type``: not applicable over DCNet (Flycast never shows the
  number or the dialling method), reported so, never as passed;
- ``hang-up-on-reset``: a PPP session the console ends with LCP Terminate-Request hung up;
  one it ends by closing the connection bare (Flycast's reset) or leaves to dcsim's echo
  or idle timeout did not. A broadband adapter has no line to hang up: its DHCP RELEASE
  is reported, its sessions are not judged;
- ``idle-disconnect``: a session that stayed online with the console silent for longer
  than the idle limit (15 minutes), until dcsim ended it, shows a title that does not
  disconnect an idle player itself.

Sessions a fake modem's call carried are judged by the modem's call log; here only
their idle time is.
"""

from __future__ import annotations

from dcsim.client.judging import (
    SESSION_GAP,
    Attempt,
    CheckReport,
    Finding,
    Source,
    Verdict,
    give_up,
    redial_interval,
    runs_of,
)
from dcsim.client.rules import SegaRules
from dcsim.dcnet.sessionlog import End, EndedBy, Link, SessionRecord
from dcsim.ppp.session import Carrier

NOT_OVER_DCNET = "not applicable over DCNet"
_LEFT_OPEN = frozenset({End.ECHO_TIMEOUT, End.IDLE_TIMEOUT})


def attempt(record: SessionRecord) -> Attempt:
    return Attempt(
        record.session, record.t_start, record.t_end, record.t_online is not None, record
    )


def check_sessions(
    peer: str, sessions: list[SessionRecord], rules: SegaRules, session_gap: float = SESSION_GAP
) -> CheckReport:
    """One peer host's sessions against every rule."""
    runs = runs_of([attempt(s) for s in sessions], session_gap)
    if all(s.carrier is Carrier.MODEM for s in sessions):
        modem = "a fake modem's call carried these sessions: dcsim check its call log"
        findings: tuple[Finding, ...] = (
            *(
                Finding(rule, Verdict.NOT_APPLICABLE, modem)
                for rule in ("redial-interval", "give-up", "number-order", "line-type")
            ),
            Finding("hang-up-on-reset", Verdict.NOT_APPLICABLE, modem),
            _idle_disconnect(sessions, rules),
        )
    else:
        findings = (
            redial_interval(runs, rules, "reconnects"),
            give_up(runs, rules),
            Finding(
                "number-order",
                Verdict.NOT_APPLICABLE,
                f"{NOT_OVER_DCNET}: the connection is the call, no number is dialled",
            ),
            Finding(
                "line-type",
                Verdict.NOT_APPLICABLE,
                f"{NOT_OVER_DCNET}: no tone or pulse reaches dcsim",
            ),
            _hang_up_on_reset(sessions),
            _idle_disconnect(sessions, rules),
        )
    return CheckReport(Source.DCNET, peer, len(sessions), len(runs), findings)


def _hang_up_on_reset(sessions: list[SessionRecord]) -> Finding:
    name = "hang-up-on-reset"
    online = [s for s in sessions if s.t_online is not None]
    ppp = [s for s in online if s.link is Link.PPP]
    ethernet = [s for s in online if s.link is Link.ETHERNET]
    released = sum(s.end is End.DHCP_RELEASE for s in ethernet)
    note = (
        f"; {len(ethernet)} Ethernet sessions ({released} ended by DHCP RELEASE) not judged: "
        "a broadband adapter has no line to hang up"
        if ethernet
        else ""
    )
    if not ppp:
        what = "no PPP session got online" + note if ethernet else "no session got online"
        return Finding(name, Verdict.NOT_APPLICABLE, what)
    bare = [s for s in ppp if s.end is End.CLOSED]
    left = [s for s in ppp if s.end in _LEFT_OPEN]
    if not bare and not left:
        by_console = sum(s.end is End.LCP_TERMINATE for s in ppp)
        return Finding(
            name,
            Verdict.PASS,
            f"{len(ppp)} PPP sessions online; {by_console} ended by the console with LCP "
            f"Terminate-Request, the rest by dcsim{note}",
        )
    parts = []
    if bare:
        parts.append(
            "closed without LCP Terminate-Request (what Flycast does when the console is "
            "reset and the title did not hang up): " + _sessions(bare)
        )
    if left:
        parts.append("left open until dcsim gave up on the console: " + _sessions(left))
    return Finding(name, Verdict.FAIL, "; ".join(parts), tuple(s.session for s in bare + left))


def _idle_disconnect(sessions: list[SessionRecord], rules: SegaRules) -> Finding:
    name = "idle-disconnect"
    limit = rules.idle_disconnect
    online = [s for s in sessions if s.t_online is not None and s.idle_at_end is not None]
    if not online:
        return Finding(name, Verdict.NOT_APPLICABLE, "no session got online")
    by_dcsim = [s for s in online if s.ended_by is EndedBy.DCSIM]
    kept = [s for s in by_dcsim if s.idle_at_end is not None and s.idle_at_end > limit]
    longest = max(s.longest_idle for s in online)
    if kept:
        return Finding(
            name,
            Verdict.FAIL,
            f"sessions kept online with the console silent beyond {limit:g} s until dcsim "
            f"ended them: {_sessions(kept)}",
            tuple(s.session for s in kept),
        )
    early = [s for s in online if s.end is End.IDLE_TIMEOUT]
    if len(early) == len(online):
        return Finding(
            name,
            Verdict.NOT_APPLICABLE,
            f"dcsim's idle timeout ended every session before the title's limit ({limit:g} s); "
            "set [ppp] idle_timeout above it (or 0) to see whether the title disconnects",
        )
    return Finding(
        name,
        Verdict.PASS,
        f"no session stayed online and silent past {limit:g} s until dcsim ended it; "
        f"the console's longest silence was {longest:.0f} s",
    )


def _sessions(sessions: list[SessionRecord]) -> str:
    shown = ", ".join(
        f"{s.session} ({s.end.value} after {s.duration:.0f} s, silent {s.idle_at_end or 0:.0f} s)"
        for s in sessions[:5]
    )
    more = len(sessions) - 5
    return shown + (f" and {more} more" if more > 0 else "")
