"""PSO login server: full logins (17 through 67) per second with many concurrent
clients on one core, and memory per idle lobby client.

Three measurements:

* **cores**: the login server's and the ship's session cores with N consoles logging
  in at once, interleaved (the clients' own cores run in the same process; their CPU
  time is not counted). Guild cards go through SQLite in memory.
* **TCP**: ``dcsim pso`` in its own process on loopback, N consoles connecting at once
  from this process; logins per CPU-second of the server process (user + system time
  from /proc, so the kernel's loopback TCP work for the server's sockets counts), the
  median of a few rounds, and per wall-clock second (the clients' cores, also Python,
  share the machine's two cores).
* **memory**: the same server process's resident memory before and after N consoles
  sit idle in its lobbies, per console; and the Python heap the session cores keep.

No other PSO server runs here to compare with (newserv is C++ and not packaged), so the
figures are compared with the issue's targets: 2,000 logins/s and 50 KB per idle client.
"""

from __future__ import annotations

import gc
import os
import random
import selectors
import socket
import tempfile
import time
import tracemalloc
from contextlib import AbstractContextManager
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

from tests.running import Running, started_dcsim

from bench.report import Report
from dcsim.pso.client import Client, Phase, Redirect, make_profile
from dcsim.pso.credentials import AcceptAny
from dcsim.pso.events import CheckCredentials
from dcsim.pso.session import Role, Session, SessionConfig
from dcsim.pso.ship import Ship
from dcsim.pso.store import GuildCards, open_database
from dcsim.pso.version import Region, Version

CONCURRENT = 500
#: The TCP measurement is repeated (a fresh server each time) and the median reported:
#: the machine's two cores are shared, so one round can be off by a tenth.
TCP_ROUNDS = 5
CONSOLE = IPv4Address("198.51.100.130")
SERVER = IPv4Address("192.0.2.20")
TARGET_RATE = 2000.0
TARGET_BYTES = 50 * 1024


def profiles(n: int, offset: int = 0) -> list:
    kinds = [(r, v) for r in Region for v in (Version.V1, Version.V2)]
    return [
        make_profile(
            *kinds[i % 6],
            name=f"P{i + offset:07d}".encode(),
            seed=i + offset,
            access_key=f"K{i + offset:07d}",
        )
        for i in range(n)
    ]


class CoreServer:
    """Both roles, the ship and the guild cards, with server CPU time accounted."""

    def __init__(self, blocks: int) -> None:
        self.ship = Ship(blocks)
        self.cards = GuildCards(open_database(":memory:"))
        self.policy = AcceptAny()
        self.rng = random.Random(1)
        self.login_config = SessionConfig(Role.LOGIN)
        self.ship_config = SessionConfig(Role.SHIP)
        self.cpu = 0.0

    def session(self, role: Role) -> Session:
        from ipaddress import IPv4Address

        start = time.process_time()
        config = self.login_config if role is Role.LOGIN else self.ship_config
        s = Session(
            config, self.rng, IPv4Address("198.51.100.130"), IPv4Address("192.0.2.20"), self.ship
        )
        s.connection_made(0.0)
        self.cpu += time.process_time() - start
        return s

    def feed(self, session: Session, data: bytes) -> bytes:
        start = time.process_time()
        session.receive_data(data, 0.0)
        for event in session.events():
            if isinstance(event, CheckCredentials):
                verdict = self.policy.check(event.credentials)
                number, new = self.cards.assign(
                    event.credentials.serial, event.credentials.access_key, 0.0
                )
                session.credentials_checked(
                    replace(verdict, guild_card=number, new_player=new), 0.0
                )
                list(session.events())
        out = session.data_to_send()
        self.cpu += time.process_time() - start
        return out


def core_logins(n: int) -> tuple[float, float, CoreServer, list[Session]]:
    """Log *n* consoles in at once; (logins per server CPU-second, wall time, ...)."""
    server = CoreServer(blocks=max(1, n // 100 + 1))
    clients = [Client(p) for p in profiles(n)]
    sessions = []
    for c in clients:
        s = server.session(Role.LOGIN)
        c.connection_made(0.0)
        c.receive_data(s.data_to_send(), 0.0)
        sessions.append(s)
    wall = time.perf_counter()
    active = list(range(n))
    while active:
        still = []
        for i in active:
            c, s = clients[i], sessions[i]
            out = c.data_to_send()
            reply = server.feed(s, out) if out else s.data_to_send()
            if reply:
                c.receive_data(reply, 0.0)
            for event in c.events():
                if isinstance(event, Redirect):
                    s = server.session(Role.SHIP)
                    sessions[i] = s
                    c.connection_made(0.0)
                    c.receive_data(s.data_to_send(), 0.0)
            if c.phase is Phase.LOBBY:
                sessions[i].data_to_send()
                continue
            if c.phase is Phase.FAILED:
                raise RuntimeError(f"login failed: {c.failure}")
            still.append(i)
        active = still
    wall = time.perf_counter() - wall
    return n / server.cpu, wall, server, sessions


def core_memory(n: int) -> float:
    """Python heap kept per idle lobby session (server side only)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    _, _, server, sessions = core_logins(n)
    server.cards = None  # type: ignore[assignment]
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert server.ship.online == n and len(sessions) == n
    return kept / n


# --- over real TCP, the server in its own process ----------------------------------


def start_server(tmp: Path, max_sessions: int) -> AbstractContextManager[Running]:
    """``dcsim pso`` on loopback ports the kernel chooses (its login server announced as
    ``login server on tcp:127.0.0.1:PORT``)."""
    config = tmp / "bench.toml"
    config.write_text(
        f'data_dir = "{tmp}"\n[pso]\nmax_sessions = {max_sessions}\n'
        f"blocks = {max_sessions // 100 + 1}\n"
    )
    listen = ["--listen", "tcp:127.0.0.1:0", "--ship-listen", "tcp:127.0.0.1:0"]
    return started_dcsim("-q", "pso", *listen, config=config, until="ship on")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU time of process *pid* so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """CPU time of process *pid* so far (user + system), to the nanosecond: the
    scheduler's count for each of its threads (/proc/PID/stat counts in 10 ms ticks,
    a twentieth of a 500-login round)."""
    return (
        sum(
            int(Path(task, "schedstat").read_text().split()[0])
            for task in Path(f"/proc/{pid}/task").iterdir()
        )
        / 1e9
    )


def tcp_logins(port: int, batch: list) -> tuple[float, list[socket.socket]]:
    """Log *batch* in at once over loopback; (wall seconds, the lobby sockets)."""
    sel = selectors.DefaultSelector()
    state = {}
    start = time.perf_counter()
    for profile in batch:
        client = Client(profile)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setblocking(False)
        client.connection_made(0.0)
        sel.register(sock, selectors.EVENT_READ, client)
        state[client] = sock
    in_lobby = []
    while len(in_lobby) < len(batch):
        for key, _ in sel.select(30):
            client, sock = key.data, key.fileobj
            data = sock.recv(65536)
            client.receive_data(data, 0.0)
            out = client.data_to_send()
            if out:
                sock.sendall(out)
            for event in client.events():
                if isinstance(event, Redirect):
                    sel.unregister(sock)
                    sock.close()
                    sock = socket.create_connection((str(event.address), event.port))
                    sock.setblocking(False)
                    client.connection_made(0.0)
                    sel.register(sock, selectors.EVENT_READ, client)
            if client.phase is Phase.LOBBY and client not in state.get("done", set()):
                state.setdefault("done", set()).add(client)
                in_lobby.append(sock)
                sel.unregister(sock)
            elif client.phase is Phase.FAILED or not data:
                raise RuntimeError(f"TCP login failed: {client.failure}")
    return time.perf_counter() - start, in_lobby


def run(report: Report) -> None:
    rate, wall, _, _ = core_logins(CONCURRENT)
    report.add(
        "pso",
        f"logins, cores, {CONCURRENT} at once",
        rate,
        "logins/CPU-s",
        f"server cores only; {CONCURRENT / wall:,.0f}/s wall incl. clients",
    )
    report.add("pso", "target logins", TARGET_RATE, "logins/s")
    report.ratio("pso", f"logins, cores, {CONCURRENT} at once", "target logins", "x")

    per_session = core_memory(CONCURRENT)
    report.add("pso", "heap per idle lobby session (cores)", per_session / 1024, "KB")

    rounds = sorted(tcp_round(first=i == 0) for i in range(TCP_ROUNDS))
    cpu, system_share, seconds, per_client = rounds[len(rounds) // 2]  # the median
    report.add(
        "pso",
        f"logins, TCP, {CONCURRENT} at once",
        CONCURRENT / cpu,
        "logins/CPU-s",
        f"dcsim pso process (user+sys CPU), median of {TCP_ROUNDS} rounds "
        f"({CONCURRENT / rounds[-1][0]:,.0f}-{CONCURRENT / rounds[0][0]:,.0f}); "
        "2 cores shared with other work",
    )
    report.ratio("pso", f"logins, TCP, {CONCURRENT} at once", "target logins", "x")
    report.add(
        "pso",
        "server CPU per login, TCP",
        1e6 * cpu / CONCURRENT,
        "us",
        f"about {100 * system_share:.0f}% of it system time (the kernel's loopback TCP)",
    )
    report.add(
        "pso",
        f"logins, TCP wall, {CONCURRENT} at once",
        CONCURRENT / seconds,
        "logins/s",
        "clients in another process on the same 2 cores",
    )
    report.add("pso", "server RSS per idle lobby client (TCP)", per_client / 1024, "KB")
    report.add("pso", "target per idle client", TARGET_BYTES / 1024, "KB")
    report.ratio("pso", "server RSS per idle lobby client (TCP)", "target per idle client", "x")


def tcp_round(first: bool) -> tuple[float, float, float, float]:
    """One server process, CONCURRENT consoles logging in at once over loopback TCP:
    (server CPU s, the system's share of it, wall s, RSS bytes per idle lobby client)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_server(Path(tmp), 2 * CONCURRENT) as server,
    ):
        proc, port = server.process, server.address("login server on").port
        time.sleep(0.5)
        before = rss(proc.pid)
        user0, system0 = cpu_times(proc.pid)
        cpu0 = cpu_seconds(proc.pid)
        seconds, socks = tcp_logins(port, profiles(CONCURRENT))
        cpu = cpu_seconds(proc.pid) - cpu0
        user1, system1 = cpu_times(proc.pid)
        time.sleep(0.5 if first else 0)
        per_client = (rss(proc.pid) - before) / CONCURRENT
        for s in socks:
            s.close()
    return (
        cpu,
        (system1 - system0) / max(user1 - user0 + system1 - system0, 1e-9),
        seconds,
        per_client,
    )
