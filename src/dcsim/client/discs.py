"""The six retail PSO discs the virtual Dreamcast can run: who they look up and call.

Host names and the licence check per disc come from shared/research/pso_servers.md §1.3
and §1.4 and failure2006.md §1.3: JP v1, JP v2 and US v2 check the Hunter's License over
HTTPS (``POST /cgi-bin/auth.cgi`` on port 443) before the game login; US v1 and the EU
discs do not. The v1 host names are unverified in the sources (marked there), and the
login port is 9200 for every disc (the archive page's figure; newserv uses other ports):
both can be overridden per console (``licence_host``, ``login_host``, ``login_port``),
which is also how a patched disc is modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcsim.pso.client import PROFILES, Profile

LICENCE_PORT = 443
LOGIN_PORT = 9200  # [U] every disc, per the archive page (pso_servers.md §1.3)
LICENCE_PATH = "/cgi-bin/auth.cgi"


@dataclass(frozen=True)
class Disc:
    key: str  # "jp-v2"
    profile: Profile
    licence_host: str | None  # None: the disc does no licence check
    login_host: str
    login_port: int = LOGIN_PORT
    licence_port: int = LICENCE_PORT


def _disc(key: str, licence: str | None, login: str) -> Disc:
    return Disc(key, PROFILES[key], licence, login)


DISCS: dict[str, Disc] = {
    d.key: d
    for d in (
        _disc("jp-v1", "auth01.dricas.ne.jp", "pso01.dricas.ne.jp"),
        _disc("jp-v2", "auth01.dricas.ne.jp", "pso01.dricas.ne.jp"),
        _disc("us-v1", None, "game01.st-pso.games.sega.net"),
        _disc("us-v2", "auth01.dricas.com", "game01.st-pso.games.sega.net"),
        _disc("eu-v1", None, "master.pso.dream-key.com"),
        _disc("eu-v2", None, "pso.dream-key.com"),
    )
}


def disc(key: str) -> Disc:
    try:
        return DISCS[key]
    except KeyError:
        known = ", ".join(DISCS)
        raise ValueError(f"unknown disc {key!r}; known: {known}") from None
