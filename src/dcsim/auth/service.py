"""The licence server: ``POST /cgi-bin/auth.cgi`` over SSL 3.0 / TLS 1.0.

Plain twisted.web (a ``Site`` with one resource) behind :class:`dcsim.tls.TlsServerFactory`.
:func:`licence_factory` builds the whole stack for any reactor-like listener: the real
reactor (``dcsim auth``) or a virtual host of the simulated internet, which offers
``listenTCP`` with Twisted's signature.

What is logged: every request's outcome, and the POSTed form with the password field (and
any field whose name looks like a password) replaced by ``<redacted>``; the real console's
field names are not publicly known, so the log is how they will be learnt. A body that is
not a form is logged only by length and type, unless ``log_raw_bodies`` is set (it may
then contain the password; the setting says so).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.http import Request as HttpRequest
from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from dcsim.address import Listen, peer_text
from dcsim.auth.accounts import Accounts
from dcsim.auth.policy import FormFields, Policy, Verdict, check_licence
from dcsim.config import setting
from dcsim.tls.certs import CertificateSettings, ensure_credentials
from dcsim.tls.connection import ServerConfig
from dcsim.tls.keys import Credentials
from dcsim.tls.profiles import server_profile
from dcsim.tls.protocol import TlsServerFactory
from dcsim.tls.session import SessionCache
from dcsim.tls.suites import CipherSuite, parse_suite

log = Logger(namespace="dcsim.auth")

DEFAULT_MAX_BODY = 16384
#: Told each licence verdict with the client's host address.
Watch = Callable[[str, Verdict], None]
#: Field names treated as secret in the log, besides the configured password field.
_SECRET_HINTS = ("pass", "pwd", "pw", "pin", "secret", "key")


@dataclass(frozen=True)
class AuthSettings:
    listen: list[Listen] = setting(
        default_factory=lambda: [Listen.from_text("tcp:127.0.0.1:8443")],
        doc="Where `dcsim auth` listens (tcp:HOST:PORT). The legacy SSL here must not face\n"
        "the open internet: keep it on loopback or a private network.",
    )
    policy: Policy = setting(
        Policy.REVIVAL,
        "revival: every licence check passes (as the community servers do);\n"
        "accounts: decide from the accounts database (`dcsim accounts`).",
    )
    profile: str = setting(
        "ntssl",
        "SSL profile: ntssl (what the console needs: SSL 3.0/TLS 1.0, RC4, DES, 3DES,\n"
        "export), modern (TLS 1.0 with AES only; the console cannot complete it) or\n"
        "custom (the suites below).",
    )
    suites: list[str] = setting(
        default_factory=list,
        doc="Cipher suites of the custom profile, in order of preference (OpenSSL names:\n"
        "RC4-MD5, RC4-SHA, DES-CBC3-SHA, DES-CBC-SHA, EXP-RC4-MD5, EXP-DES-CBC-SHA,\n"
        "AES128-SHA, AES256-SHA, NULL-MD5, NULL-SHA).",
    )
    null_suites: bool = setting(
        False, "Also accept the NULL suites (no encryption at all): only for debugging."
    )
    session_cache: int = setting(
        1024, "Sessions kept for resumption (0: no session IDs, no resumption).", min=0
    )
    session_lifetime: float = setting(3600.0, "Seconds a session may be resumed.", min=1)
    handshake_timeout: float = setting(
        30.0, "Seconds a client has to complete the SSL handshake.", min=0.1
    )
    http_timeout: float = setting(60.0, "Seconds an HTTP connection may stay idle.", min=0.1)
    max_body: int = setting(
        DEFAULT_MAX_BODY, "Largest request body accepted (bytes); larger gets 413.", min=64
    )
    licence_field: str = setting(
        "id", "Form field with the licence ID (the console's real names are unknown)."
    )
    password_field: str = setting("password", "Form field with the password (never logged).")
    console_field: str = setting("console", "Form field with the console ID (optional).")
    log_raw_bodies: bool = setting(
        False,
        "Log request bodies that are not forms verbatim. They may contain the password:\n"
        "only for learning what a real console sends, on a console of your own.",
    )
    certificates: CertificateSettings = setting(
        default_factory=CertificateSettings,
        doc="The licence hosts' certificates (generated into data_dir/tls on first run).",
    )

    def __post_init__(self) -> None:
        # Fail at load time, as one config error, rather than when the server starts.
        if self.suites and self.profile != "custom":
            raise ValueError('suites apply only to profile = "custom"')
        server_profile(self.profile, self.cipher_suites(), null_suites=self.null_suites)

    def cipher_suites(self) -> tuple[CipherSuite, ...]:
        return tuple(parse_suite(name) for name in self.suites)

    @property
    def fields(self) -> FormFields:
        return FormFields(self.licence_field, self.password_field, self.console_field)


class BoundedRequest(Request):
    """A twisted.web request whose body is capped: past ``max_body`` the rest is dropped
    and the answer is 413, so a client cannot make us buffer without limit."""

    max_body = DEFAULT_MAX_BODY

    def gotLength(self, length: int | None) -> None:
        self._body_size = 0
        self.too_large = length is not None and length > self.max_body
        super().gotLength(0 if self.too_large else length)

    def handleContentChunk(self, data: bytes) -> None:
        self._body_size += len(data)
        if self._body_size > self.max_body:
            self.too_large = True
        if not self.too_large:
            super().handleContentChunk(data)


class AuthResource(Resource):
    """``/cgi-bin/auth.cgi``: decide with :func:`check_licence`, answer with the verdict."""

    isLeaf = True

    def __init__(
        self,
        settings: AuthSettings,
        accounts: Accounts | None,
        watch: Watch | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.accounts = accounts
        self.watch = watch

    def render_GET(self, request: HttpRequest) -> bytes:
        request.setResponseCode(405)
        request.setHeader(b"allow", b"POST")
        return b"POST only\r\n"

    def render_POST(self, request: HttpRequest) -> bytes:
        peer = peer_text(request.getClientAddress())
        if getattr(request, "too_large", False):
            log.info(
                "auth.cgi from {peer}: body over {limit} bytes refused",
                peer=peer,
                limit=self.settings.max_body,
            )
            request.setResponseCode(413)
            return b"result=too-large\r\n"
        body = b""
        if request.content is not None:
            request.content.seek(0)
            body = request.content.read()
        form = _parse_form(body)
        self._log_body(peer, request, body, form)
        verdict = check_licence(
            form or {}, self.settings.policy, self.settings.fields, self.accounts
        )
        self._log_verdict(peer, form or {}, verdict)
        if self.watch is not None:
            self.watch(getattr(request.getClientAddress(), "host", ""), verdict)
        request.setResponseCode(int(verdict.answer.status))
        request.setHeader(b"content-type", b"text/plain")
        return verdict.body()

    def _log_body(
        self, peer: str, request: HttpRequest, body: bytes, form: dict[str, str] | None
    ) -> None:
        if form is not None:
            shown = "&".join(
                f"{k}={'<redacted>' if self._secret(k) else v}" for k, v in form.items()
            )
            log.info("auth.cgi form from {peer}: {form}", peer=peer, form=shown)
            return
        kind = (request.getHeader(b"content-type") or b"none").decode("latin-1")
        if self.settings.log_raw_bodies:
            log.info(
                "auth.cgi body from {peer} ({kind}, {size} bytes): {body!r}",
                peer=peer,
                kind=kind,
                size=len(body),
                body=body[:1024],
            )
        else:
            log.info(
                "auth.cgi body from {peer}: {size} bytes of {kind}, not a form"
                " (set auth.log_raw_bodies to see it)",
                peer=peer,
                kind=kind,
                size=len(body),
            )

    def _secret(self, name: str) -> bool:
        lowered = name.lower()
        return name == self.settings.password_field or any(h in lowered for h in _SECRET_HINTS)

    def _log_verdict(self, peer: str, form: dict[str, str], verdict: Verdict) -> None:
        log.info(
            "licence check from {peer}: {result}{licence}{cause}{warning}{why}",
            peer=peer,
            result=verdict.result,
            licence=f" for {form[self.settings.licence_field]!r}"
            if form.get(self.settings.licence_field)
            and not self._secret(self.settings.licence_field)
            else "",
            cause=f", cause {int(verdict.cause)} ({verdict.cause.text})" if verdict.cause else "",
            warning=f", bad-user level {verdict.bad_user_level}" if verdict.bad_user_level else "",
            why=f" ({verdict.malformed})" if verdict.malformed else "",
        )


def _parse_form(body: bytes) -> dict[str, str] | None:
    """``application/x-www-form-urlencoded`` fields (first value wins), or None when the
    body is not such a form. Latin-1 decoding never fails; field values stay as sent."""
    text = body.decode("latin-1")
    if not text.strip():
        return {}
    if "=" not in text:
        return None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, encoding="latin-1")
    except ValueError:
        return None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


class _Directory(Resource):
    """A resource holding children; anything else is a plain 404."""

    def getChild(self, path: bytes, request: HttpRequest) -> Resource:
        return notFound()


def make_site(
    settings: AuthSettings,
    accounts: Accounts | None,
    reactor: IReactorTime,
    watch: Watch | None = None,
) -> Site:
    root = _Directory()
    cgi = _Directory()
    root.putChild(b"cgi-bin", cgi)
    cgi.putChild(b"auth.cgi", AuthResource(settings, accounts, watch))
    request = type("AuthRequest", (BoundedRequest,), {"max_body": settings.max_body})
    site = Site(root, requestFactory=request, timeout=settings.http_timeout, reactor=reactor)
    site.displayTracebacks = False
    site.noisy = False
    return site


def licence_factory(
    settings: AuthSettings,
    data_dir: Path,
    reactor: IReactorTime,
    accounts: Accounts | None = None,
    rng: random.Random | None = None,
    watch: Watch | None = None,
    credentials: Credentials | None = None,
) -> TlsServerFactory:
    """The licence server as one factory: HTTPS on ``settings``' profile and certificates
    (generated into ``data_dir/tls`` on first run). *watch*, if given, is told every
    verdict with the client's address (``dcsim up`` feeds its status page).
    *credentials*, when given, are used instead of those files (many servers sharing one
    chain, as the scenario runner's cells do)."""
    if settings.policy is Policy.ACCOUNTS and accounts is None:
        raise ValueError("the accounts policy needs the accounts database")
    rng = rng or random.SystemRandom()
    profile = server_profile(
        settings.profile, settings.cipher_suites(), null_suites=settings.null_suites
    )
    if credentials is None:
        credentials = ensure_credentials(data_dir / "tls", settings.certificates, rng)
    cache = (
        SessionCache(settings.session_cache, settings.session_lifetime)
        if settings.session_cache
        else None
    )
    config = ServerConfig(profile, credentials, cache, settings.handshake_timeout)
    site = make_site(settings, accounts, reactor, watch)
    factory = TlsServerFactory(site, config, reactor, rng)
    factory.noisy = False
    return factory
