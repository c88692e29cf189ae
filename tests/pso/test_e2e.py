"""End to end over real TCP: ``dcsim pso`` in its own process, consoles on sockets."""

from __future__ import annotations

import csv
import io

import pytest

from dcsim.pso.client import PROFILES, ChatReceived, LobbyJoined, Phase, make_profile
from dcsim.pso.version import Region, Version
from tests.pso.running import SocketClient, dcsim_pso
from tests.running import run_dcsim

pytestmark = pytest.mark.slow


def test_six_discs_meet_and_chat_then_the_chat_is_exported(tmp_path):
    with dcsim_pso(tmp_path, "front", 'credentials = "sega-serial"') as server:
        consoles = []
        for label in sorted(PROFILES):
            console = SocketClient(PROFILES[label])
            console.login("127.0.0.1", server.login_port)
            assert console.client.phase is Phase.LOBBY, (label, console.client.failure)
            assert console.connections[1] == ("127.0.0.1", server.ship_port)
            consoles.append(console)
        last = consoles[-1]
        (joined,) = [e for e in last.events if isinstance(e, LobbyJoined)]
        assert len(joined.players) == 6
        consoles[0].chat("first line")  # eu-v1
        consoles[2].chat("二行目")  # jp-v1, in Shift-JIS
        for console in consoles:
            console.pump()
        heard = [e.text for e in last.events if isinstance(e, ChatReceived)]
        assert heard == [
            PROFILES["eu-v1"].name + b"\t\tEfirst line",
            PROFILES["jp-v1"].name + b"\t\tJ" + "二行目".encode("cp932"),
        ]
        for console in consoles:
            console.close()
        card = str(consoles[2].client.guild_card)
        export = run_dcsim("chatlog", "export", "--guild-card", card, config=server.config)
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert [(r["name"], r["lobby"], r["text"]) for r in rows] == [
        (PROFILES["jp-v1"].name.decode(), "1", "二行目")
    ]


def test_the_sega_serial_policy_refuses_a_bad_serial(tmp_path):
    with dcsim_pso(tmp_path, "strict", 'credentials = "sega-serial"') as server:
        console = SocketClient(make_profile(Region.US, Version.V2, serial="12345678"))
        console.login("127.0.0.1", server.login_port)
    assert console.client.failure is not None
    assert console.client.failure.reason == "refused with flag 04"
    assert any("fails Sega's check for US" in line for line in server.log)


def test_redirect_to_a_second_dcsim_acting_as_the_external_ship(tmp_path):
    with dcsim_pso(tmp_path, "ship") as external:
        ships = (
            '[[pso.ships]]\nname = "Elsewhere"\n'
            f'v1 = "127.0.0.1:{external.ship_port}"\nv2 = "127.0.0.1:{external.ship_port}"\n'
        )
        with dcsim_pso(tmp_path, "front", ships) as front:
            for label in ("us-v1", "jp-v2"):
                console = SocketClient(PROFILES[label])
                console.login("127.0.0.1", front.login_port)
                assert console.client.phase is Phase.LOBBY
                assert console.connections == [
                    ("127.0.0.1", front.login_port),
                    ("127.0.0.1", external.ship_port),
                ]
                console.close()
    assert any("sent to ship Elsewhere" in line for line in front.log)
    assert sum("in block 1 lobby 1" in line for line in external.log) == 2


def test_a_thousand_connections_at_once_are_served_or_cleanly_refused(tmp_path):
    import socket

    with dcsim_pso(tmp_path, "busy", "max_sessions = 600") as server:
        socks = [
            socket.create_connection(("127.0.0.1", server.login_port), 30) for _ in range(1000)
        ]
        hellos = 0
        for s in socks:
            data = b""
            s.settimeout(30)
            while len(data) < 0x4C:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            hellos += data[:1] == b"\x17"
            s.close()
        # Everyone got the hello; the later ones then a message and a hang-up.
        console = SocketClient(PROFILES["us-v2"])
        console.login("127.0.0.1", server.login_port)
        assert console.client.phase is Phase.LOBBY
    assert hellos == 1000
    assert sum("refused: 600 sessions already" in line for line in server.log) >= 1


def test_registered_accounts_made_with_dcsim_accounts(tmp_path):
    """The accounts policy decides from the database ``dcsim accounts`` writes."""
    with dcsim_pso(tmp_path, "members", 'credentials = "accounts"') as server:
        member = make_profile(Region.JP, Version.V2, serial="1A2B3C4D", access_key="MEMBER01")
        added = run_dcsim(
            "accounts", "add", member.serial, config=server.config, input=f"{member.access_key}\n"
        )
        assert added.returncode == 0, added.stderr
        console = SocketClient(member)
        console.login("127.0.0.1", server.login_port)
        assert console.client.phase is Phase.LOBBY
        console.close()
        stranger = SocketClient(make_profile(Region.US, Version.V1, serial="5E6F7A8B"))
        stranger.login("127.0.0.1", server.login_port)
    assert stranger.client.failure is not None
    assert stranger.client.failure.reason == "refused with flag 04"
    assert any("accounts: unknown-licence" in line for line in server.log)
