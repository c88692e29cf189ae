"""Shared pieces for the TLS tests: credentials made once, and back-to-back pairing."""

from __future__ import annotations

import random
import socket
from functools import cache

from dcsim.tls.certs import SignatureHash, make_ca, make_leaf
from dcsim.tls.connection import ApplicationData, Closed, ServerConfig, TlsClient, TlsServer
from dcsim.tls.keys import Credentials, generate_rsa_key
from dcsim.tls.profiles import NTSSL, ClientProfile, ServerProfile
from dcsim.tls.session import SessionCache

HOSTS = ("auth01.dricas.ne.jp", "auth01.dricas.com")


@cache
def chain(leaf_bits: int = 1024, how: SignatureHash = SignatureHash.MD5):
    """(ca certificate, ca key, leaf certificate, leaf key), deterministic per arguments."""
    rng = random.Random(leaf_bits * 7 + len(how.value))
    ca_key = generate_rsa_key(1024, rng)
    ca = make_ca(ca_key, how, rng)
    key = generate_rsa_key(leaf_bits, rng)
    leaf = make_leaf(HOSTS, key, ca, ca_key, how, rng)
    return ca, ca_key, leaf, key


@cache
def credentials(leaf_bits: int = 1024) -> Credentials:
    ca, _, leaf, key = chain(leaf_bits)
    export = generate_rsa_key(512, random.Random(99)) if leaf_bits > 512 else None
    return Credentials([leaf, ca], key, export)


def server(
    profile: ServerProfile = NTSSL,
    cache: SessionCache | None = None,
    seed: int = 1,
    leaf_bits: int = 1024,
    timeout: float = 30.0,
) -> TlsServer:
    core = TlsServer(
        ServerConfig(profile, credentials(leaf_bits), cache, timeout), random.Random(seed)
    )
    core.start(0.0)
    return core


def client(profile: ClientProfile, seed: int = 2, **kwargs) -> TlsClient:
    core = TlsClient(profile, random.Random(seed), **kwargs)
    core.start(0.0)
    return core


def pump(a, b, now: float = 1.0, rounds: int = 20) -> None:
    """Move bytes between two cores until neither has anything to say."""
    for _ in range(rounds):
        ab = a.data_to_send()
        if ab:
            b.receive_data(ab, now)
        ba = b.data_to_send()
        if ba:
            a.receive_data(ba, now)
        if not ab and not ba:
            return
    raise AssertionError("the two sides kept talking")


def events(core) -> list:
    return list(core.events())


def closed(evs: list) -> Closed | None:
    return next((e for e in evs if isinstance(e, Closed)), None)


def drive(core: TlsClient, sock: socket.socket, request: bytes) -> tuple[list, bytes]:
    """Run a client core over a blocking socket until the server closes."""
    core.start(0.0)
    core.send(request)
    seen: list = []
    reply = b""
    while True:
        out = core.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except BrokenPipeError:  # our close_notify after the server already hung up
                assert core.state.name == "CLOSED"
        events = list(core.events())
        seen += events
        reply += b"".join(e.data for e in events if isinstance(e, ApplicationData))
        if any(isinstance(e, Closed) for e in events):
            return seen, reply
        core.receive_data(sock.recv(65536), 1.0)
