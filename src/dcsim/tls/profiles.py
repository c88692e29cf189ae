"""What each side offers: server profiles (``ntssl``, ``modern``, custom lists) and client
profiles (the Dreamcast's ntSSL, the Windows CE titles' export-only stack, plain TLS 1.0).

The console's hello comes from shared/research/pso_servers.md §1.5 and failure2006.md §4
(patapancakes/dricaster's ssl.go, which parses what real consoles send): an SSLv2-format
record ``80 47``, message type 1, version 3.0, 30 bytes of cipher specs (10 specs), no
session ID, a 32-byte challenge. The notes list the ten specs in this order; the two
SSL 2.0 kinds come first. What the Windows CE titles send is known only as "export-grade
ciphers only" [U]: :data:`WINCE_EXPORT` is an inference (an SSLv2-format hello like the
console's, keeping only its export specs) and is a parameter like any profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcsim.tls.suites import NULL_SUITES, SUITES, CipherSuite, V2CipherSpec
from dcsim.tls.wire import SSL3, TLS1_0, version_name

S = CipherSuite


@dataclass(frozen=True)
class ServerProfile:
    """The suites a server accepts, in its order of preference, and its version range."""

    name: str
    suites: tuple[CipherSuite, ...]
    min_version: int = SSL3
    max_version: int = TLS1_0
    accept_v2_hello: bool = True  # SSLv2-format ClientHellos (2006 servers still took them)

    def __post_init__(self) -> None:
        if not self.suites:
            raise ValueError(f"server profile {self.name!r} has no cipher suites")
        unknown = [s for s in self.suites if s not in SUITES]
        if unknown:
            raise ValueError(f"server profile {self.name!r}: cannot negotiate {unknown}")
        if not SSL3 <= self.min_version <= self.max_version <= TLS1_0:
            raise ValueError(
                f"server profile {self.name!r}: versions {version_name(self.min_version)}"
                f" to {version_name(self.max_version)} (SSL 3.0 and TLS 1.0 are implemented)"
            )

    def with_null(self) -> ServerProfile:
        """The profile plus the NULL (unencrypted) suites, last in preference."""
        extra = tuple(s for s in sorted(NULL_SUITES) if s not in self.suites)
        return ServerProfile(
            self.name + "+null",
            self.suites + extra,
            self.min_version,
            self.max_version,
            self.accept_v2_hello,
        )


#: What the console needs: RSA with RC4 first (the console's hello gets RC4-128-MD5, as
#: the community's servers choose), then the block ciphers, then export suites (the
#: Windows CE titles offer nothing else). SSL 3.0 and TLS 1.0.
NTSSL = ServerProfile(
    "ntssl",
    (
        S.RSA_WITH_RC4_128_MD5,
        S.RSA_WITH_RC4_128_SHA,
        S.RSA_WITH_3DES_EDE_CBC_SHA,
        S.RSA_WITH_DES_CBC_SHA,
        S.RSA_EXPORT_WITH_RC4_40_MD5,
        S.RSA_EXPORT_WITH_DES40_CBC_SHA,
    ),
)

#: A 2006 back-end upgrade: TLS 1.0 with AES only. The console's hello (SSL 3.0, RC4/DES,
#: export) shares no suite with it and gets a handshake_failure alert.
MODERN = ServerProfile(
    "modern",
    (S.RSA_WITH_AES_128_CBC_SHA, S.RSA_WITH_AES_256_CBC_SHA),
    min_version=TLS1_0,
)

SERVER_PROFILES: dict[str, ServerProfile] = {p.name: p for p in (NTSSL, MODERN)}


def server_profile(
    name: str, suites: tuple[CipherSuite, ...] = (), *, null_suites: bool = False
) -> ServerProfile:
    """A named profile, or ``custom`` with an explicit suite list; NULL suites only when
    asked for."""
    if name == "custom":
        if not suites:
            raise ValueError("the custom profile needs a list of suites")
        profile = ServerProfile("custom", suites)
    else:
        try:
            profile = SERVER_PROFILES[name]
        except KeyError:
            known = ", ".join([*SERVER_PROFILES, "custom"])
            raise ValueError(f"unknown server profile {name!r}; known: {known}") from None
    return profile.with_null() if null_suites else profile


@dataclass(frozen=True)
class ClientProfile:
    """A client's hello. With ``v2_specs`` the hello is SSLv2-format and carries exactly
    those 3-byte cipher specs; otherwise it is an SSL 3.0/TLS 1.0 hello with ``suites``."""

    name: str
    suites: tuple[int, ...] = ()
    v2_specs: tuple[int, ...] = ()
    version: int = TLS1_0  # the highest version offered (the hello's version field)
    min_version: int = SSL3
    challenge_length: int = 32
    resume: bool = True  # offer a stored session's ID

    def __post_init__(self) -> None:
        if not (self.suites or self.v2_specs):
            raise ValueError(f"client profile {self.name!r} offers nothing")
        if self.v2_specs and not 16 <= self.challenge_length <= 32:
            raise ValueError("an SSLv2 challenge is 16 to 32 bytes")

    @property
    def offered(self) -> tuple[int, ...]:
        """The SSL 3.0/TLS 1.0 suites this hello offers."""
        if self.v2_specs:
            return tuple(s for s in self.v2_specs if s <= 0xFFFF)
        return self.suites


#: The Dreamcast's ntSSL (pso_servers.md §1.5): the ten specs in the notes' order.
NTSSL_CONSOLE_SPECS: tuple[int, ...] = (
    V2CipherSpec.SSL2_RC4_128_WITH_MD5,
    V2CipherSpec.SSL2_RC4_128_EXPORT40_WITH_MD5,
    S.NULL_WITH_NULL_NULL,
    S.RSA_WITH_NULL_MD5,
    S.RSA_WITH_NULL_SHA,
    S.RSA_EXPORT_WITH_RC4_40_MD5,
    S.RSA_WITH_RC4_128_MD5,
    S.RSA_WITH_RC4_128_SHA,
    S.RSA_EXPORT_WITH_DES40_CBC_SHA,
    S.RSA_WITH_DES_CBC_SHA,
)

NTSSL_CONSOLE = ClientProfile(
    "ntssl console", v2_specs=NTSSL_CONSOLE_SPECS, version=SSL3, min_version=SSL3, resume=False
)

#: [U] inferred: the console's hello format with only the export specs.
WINCE_EXPORT = ClientProfile(
    "windows ce export-only",
    v2_specs=(
        V2CipherSpec.SSL2_RC4_128_EXPORT40_WITH_MD5,
        S.RSA_EXPORT_WITH_RC4_40_MD5,
        S.RSA_EXPORT_WITH_DES40_CBC_SHA,
    ),
    version=SSL3,
    min_version=SSL3,
    resume=False,
)

#: A plain TLS 1.0 client (tests, benchmarks, PC tools of the period).
TLS10 = ClientProfile(
    "tls 1.0",
    suites=(
        S.RSA_WITH_AES_128_CBC_SHA,
        S.RSA_WITH_AES_256_CBC_SHA,
        S.RSA_WITH_3DES_EDE_CBC_SHA,
        S.RSA_WITH_RC4_128_SHA,
        S.RSA_WITH_RC4_128_MD5,
    ),
)

CLIENT_PROFILES: dict[str, ClientProfile] = {
    p.name: p for p in (NTSSL_CONSOLE, WINCE_EXPORT, TLS10)
}


def client_profile(name: str) -> ClientProfile:
    try:
        return CLIENT_PROFILES[name]
    except KeyError:
        known = ", ".join(repr(n) for n in CLIENT_PROFILES)
        raise ValueError(f"unknown client profile {name!r}; known: {known}") from None
