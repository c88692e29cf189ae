"""Sessions for resumption, and the server's bounded cache of them.

A resumed handshake skips the RSA decryption (RFC 2246 §7.3: the abbreviated handshake),
so the cache is what makes repeat connections cheap. It is bounded in entries (least
recently used goes first) and in age; time is the caller's ``now``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Session:
    session_id: bytes
    version: int
    suite: int
    master_secret: bytes
    created: float

    def __repr__(self) -> str:  # never print the master secret
        return f"Session({self.session_id.hex()[:16]}..., version=0x{self.version:04x})"


class SessionCache:
    def __init__(self, max_entries: int = 1024, lifetime: float = 3600.0) -> None:
        if max_entries < 1 or lifetime <= 0:
            raise ValueError("a session cache needs room for one session and a lifetime")
        self.max_entries = max_entries
        self.lifetime = lifetime
        self._sessions: OrderedDict[bytes, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, session_id: bytes, now: float) -> Session | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if now - session.created >= self.lifetime or now < session.created:
            del self._sessions[session_id]
            return None
        self._sessions.move_to_end(session_id)
        return session

    def put(self, session: Session) -> None:
        self._sessions[session.session_id] = session
        self._sessions.move_to_end(session.session_id)
        while len(self._sessions) > self.max_entries:
            self._sessions.popitem(last=False)

    def remove(self, session_id: bytes) -> None:
        """Forget a session (RFC 2246 §7.2.2: a fatal alert invalidates it)."""
        self._sessions.pop(session_id, None)
