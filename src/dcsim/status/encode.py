"""The registry's values as JSON objects: what the snapshot endpoint and the event stream send.

Enums go out as their value plus a label for people; Sega's causes as their number, name
and text. A capture's file path never leaves the server: ``pcap`` only says whether the
page may offer ``pcap/<id>``.
"""

from __future__ import annotations

import json
from typing import Any

from dcsim.causes import Cause
from dcsim.status.registry import Counts, DnsQuery, Failure, Limits, SessionInfo, Snapshot

Json = dict[str, Any]


def cause_json(cause: Cause | None) -> Json | None:
    if cause is None:
        return None
    return {"code": int(cause), "name": cause.name, "text": cause.text}


def dns_json(query: DnsQuery) -> Json:
    return {
        "time": query.time,
        "client": query.client,
        "name": query.name,
        "qtype": query.qtype,
        "answers": list(query.answers),
        "rcode": query.rcode,
        "session": query.session_id,
    }


def failure_json(failure: Failure) -> Json:
    return {
        "time": failure.time,
        "cause": cause_json(failure.cause),
        "reason": failure.reason,
        "peer": failure.peer,
        "session": failure.session_id,
        "kind": failure.kind.value if failure.kind else None,
        "kind_label": failure.kind.label if failure.kind else None,
        "state": failure.state.value if failure.state else None,
        "state_label": failure.state.label if failure.state else None,
    }


def session_json(session: SessionInfo) -> Json:
    licence = session.licence
    login = session.login
    return {
        "id": session.id,
        "kind": session.kind.value,
        "kind_label": session.kind.label,
        "peer": session.peer,
        "started": session.started,
        "state": session.state.value,
        "state_label": session.state.label,
        "detail": session.detail,
        "state_since": session.state_since,
        "number": session.number,
        "address": session.address,
        "dns": [dns_json(q) for q in session.dns],
        "licence": ({"accepted": licence.accepted, "detail": licence.detail} if licence else None),
        "login": {"guild_card": login.guild_card, "name": login.name} if login else None,
        "lobby": session.lobby,
        "received": session.received,
        "sent": session.sent,
        "pcap": session.pcap is not None,
        "ended": session.ended,
        "cause": cause_json(session.cause),
        "reason": session.reason,
    }


def counts_json(counts: Counts, now: float) -> Json:
    return {
        "now": now,
        "live": counts.live,
        "total": counts.total,
        "failures": counts.failures,
        "dns": counts.dns,
    }


def limits_json(limits: Limits) -> Json:
    return {
        "history": limits.history,
        "recent_dns": limits.recent_dns,
        "recent_failures": limits.recent_failures,
        "session_dns": limits.session_dns,
    }


def snapshot_json(snapshot: Snapshot) -> Json:
    return {
        "now": snapshot.now,
        "counts": counts_json(snapshot.counts, snapshot.now),
        "limits": limits_json(snapshot.limits),
        "live": [session_json(s) for s in snapshot.live],
        "history": [session_json(s) for s in snapshot.history],
        "dns": [dns_json(q) for q in snapshot.dns],
        "failures": [failure_json(f) for f in snapshot.failures],
    }


def dumps(value: Json) -> bytes:
    """Compact JSON on one line (server-sent events forbid raw newlines in data).

    ASCII only: text from the network (a DNS name, a handle name) may hold anything,
    lone surrogates included, and goes out escaped.
    """
    return json.dumps(value, separators=(",", ":")).encode("ascii")
