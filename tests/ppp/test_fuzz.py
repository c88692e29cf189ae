"""Property tests: whatever a peer sends, no exception escapes and memory stays bounded."""

from __future__ import annotations

import contextlib
import random

from hypothesis import given
from hypothesis import strategies as st

from dcsim.ppp import frame
from dcsim.ppp.auth import (
    Accounts,
    ChapAuthenticator,
    ChapPeer,
    Login,
    PapAuthenticator,
    PapPeer,
)
from dcsim.ppp.frame import Protocol
from dcsim.ppp.hdlc import encode_frame
from dcsim.ppp.ipcp import VjParams
from dcsim.ppp.link import PppLink, client_config
from dcsim.ppp.packet import ControlPacket, PacketError, parse_options

from .helpers import FLYCAST, LinkPair, nas_config, pool

PROTOCOLS = st.sampled_from(
    [
        Protocol.LCP,
        Protocol.PAP,
        Protocol.CHAP,
        Protocol.IPCP,
        Protocol.IP,
        Protocol.CCP,
        Protocol.VJ_COMPRESSED,
        Protocol.VJ_UNCOMPRESSED,
        0x0031,
        0x8001,
    ]
)
CONTROL = st.builds(
    lambda code, identifier, data: ControlPacket(code, identifier, data).pack(),
    st.integers(0, 15),
    st.integers(0, 255),
    st.binary(max_size=60),
)
FRAMES = st.tuples(PROTOCOLS, st.one_of(CONTROL, st.binary(max_size=80)), st.floats(0, 50))


def feed(link: PppLink, frames: list[tuple[int, bytes, float]]) -> None:
    now = 0.0
    for protocol, information, dt in frames:
        now += dt
        link.handle_timer(now)
        link.receive_data(encode_frame(frame.encode(protocol, information)), now)
        assert len(link.data_to_send()) < 20_000
        assert len(list(link.events())) < 100


@given(st.lists(FRAMES, max_size=40))
def test_fresh_server_survives_anything(frames: list[tuple[int, bytes, float]]) -> None:
    link = PppLink(nas_config(vj=VjParams()), 0.0, rng=random.Random(0), pool=pool())
    feed(link, frames)


@given(st.lists(FRAMES, max_size=40))
def test_open_server_survives_anything(frames: list[tuple[int, bytes, float]]) -> None:
    pair = LinkPair(nas_config(vj=VjParams()), client_config(FLYCAST, vj=VjParams())).up()
    feed(pair.server, frames)


@given(st.lists(FRAMES, max_size=40))
def test_open_client_survives_anything(frames: list[tuple[int, bytes, float]]) -> None:
    pair = LinkPair().up()
    feed(pair.client, frames)


@given(st.lists(st.binary(max_size=2000), max_size=20))
def test_raw_bytes_into_a_link(chunks: list[bytes]) -> None:
    link = PppLink(nas_config(), 0.0, rng=random.Random(0), pool=pool())
    for chunk in chunks:
        link.receive_data(chunk, 0.0)
        link.data_to_send()
        list(link.events())
    assert link.deframer.buffered <= 2 * (1504 + 4)


@given(st.binary(max_size=300))
def test_packet_parsers_raise_only_their_errors(data: bytes) -> None:
    try:
        packet = ControlPacket.parse(data)
    except PacketError:
        return
    with contextlib.suppress(PacketError):
        parse_options(packet.data)
    with contextlib.suppress(frame.FrameError):
        frame.decode(data)


@given(st.lists(CONTROL, max_size=20))
def test_auth_machines_survive_anything(packets: list[bytes]) -> None:
    login = Login("u", "p")
    machines = [
        PapAuthenticator(Accounts({"u": "p"}, accept_any=False)),
        ChapAuthenticator(Accounts(), random.Random(0)),
        PapPeer(login),
        ChapPeer(login),
    ]
    for machine in machines:
        machine.start(0.0)
        for n, raw in enumerate(packets):
            machine.receive(ControlPacket.parse(raw), float(n))
            machine.handle_timer(float(n))
        assert len(machine.outbox) <= 2 * len(packets) + 12
