"""Authoritative DNS: dnsperf against dcsim, NSD, twisted.names and dnslib's server.

All four serve the same zone files (the revival zones of configs/zones) on 127.0.0.1,
one at a time, each measured by dnsperf over UDP and over TCP. Two figures per server:
queries per second as dnsperf saw them (wall clock, with dnsperf on the same machine),
and queries per CPU-second of the server process (from /proc), which is steadier when
other work shares the machine. Ratios are dcsim's to each peer.

Every dnsperf client comes from 127.0.0.1, so dcsim's per-client TCP connection limit
and per-connection query limit are raised for the run (NSD's defaults have no such
limits). The Python peers run with their logging off.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.peers import free_port
from tests.running import dcsim_command, started

from bench.report import Report, rate

ROOT = Path(__file__).resolve().parent.parent
ZONES = ROOT / "configs" / "zones"
SECONDS = 10
CLIENTS = 8  # dnsperf clients (TCP connections in TCP mode)
OUTSTANDING = 500  # enough that no server waits on dnsperf between replies
QUERIES = [
    ("auth01.dricas.ne.jp", "A"),
    ("pso01.dricas.ne.jp", "A"),
    ("pso02.dricas.ne.jp", "A"),
    ("auth01.dricas.com", "A"),
    ("game01.st-pso.games.sega.net", "A"),
    ("pso.dream-key.com", "A"),
    ("master.pso.dream-key.com", "A"),
    ("sg107634.csrd.sega.co.jp", "A"),
    ("pso99.dricas.ne.jp", "A"),  # NXDOMAIN
    ("pso01.dricas.ne.jp", "MX"),  # NODATA
]

Starter = Callable[[Path, int], list[str]]  # the command serving on that port


def run(report: Report) -> None:
    _answerer(report)
    dnsperf = shutil.which("dnsperf")
    if dnsperf is None:
        report.add(
            "dns", "dnsperf", 0, "queries/s", "dnsperf not installed: apt-get install dnsperf"
        )
        return
    peers: dict[str, Starter | None] = {
        "dcsim": _dcsim,
        "NSD": _nsd if shutil.which("nsd", path="/usr/sbin:/usr/bin") else None,
        "twisted.names": _twisted,
        "dnslib": _dnslib,
    }
    with tempfile.TemporaryDirectory(prefix="bench-dns-") as tmp:
        base = Path(tmp)
        queries = base / "queries.txt"
        queries.write_text("".join(f"{name} {qtype}\n" for name, qtype in QUERIES))
        for transport in ("udp", "tcp"):
            bench = f"dns {transport}"
            for name, start in peers.items():
                if start is None:
                    report.add(bench, name, 0, "queries/s", "not installed")
                    continue
                workdir = base / f"{name}-{transport}"
                workdir.mkdir()
                wall, cpu, outcome = _measure(dnsperf, start, workdir, queries, transport)
                report.add(bench, name, wall, "queries/s", f"dnsperf, wall clock; {outcome}")
                report.add(bench, f"{name} per CPU-second", cpu, "queries/CPU-s", "server process")
            for peer in ("NSD", "twisted.names", "dnslib"):
                if peers[peer] is not None:
                    report.ratio(bench, "dcsim", peer, "x")
                    report.ratio(bench, "dcsim per CPU-second", f"{peer} per CPU-second", "x")


def _answerer(report: Report) -> None:
    """The slow path alone: parse, decide, pack, for queries the reply cache has not seen
    (what a server spends on every new question, e.g. a resolver's 0x20-mixed case)."""
    from dnslib import QTYPE, DNSLabel, DNSQuestion, DNSRecord

    from dcsim.dns.authority import Authority, Transport
    from dcsim.dns.message import UDP_LIMIT, encode
    from dcsim.dns.zone import Zones

    authority = Authority(Zones.load(ZONES))
    datagrams = [
        bytes(DNSRecord(q=DNSQuestion(DNSLabel(name), getattr(QTYPE, qtype))).pack())
        for name, qtype in QUERIES
    ]

    def work() -> int:
        for data in datagrams:
            decision = authority.decide(data, "127.0.0.1", Transport.UDP)
            encode(decision.message, UDP_LIMIT)
        return len(datagrams)

    report.add("dns answerer", "dcsim, no reply cache", rate(work), "queries/CPU-s", "in-process")


def _measure(
    dnsperf: str, start: Starter, workdir: Path, queries: Path, transport: str
) -> tuple[float, float, str]:
    """Queries per second (wall), per server CPU-second, and what the answers were."""
    port = free_port()
    silent = subprocess.DEVNULL
    with started(start(workdir, port), stdout=silent, stderr=silent) as server:
        process = server.process
        _wait_ready(port, process)
        before = _cpu_seconds(process.pid)
        result = subprocess.run(
            [dnsperf, "-s", "127.0.0.1", "-p", str(port), "-d", str(queries), "-m", transport,
             "-l", str(SECONDS), "-c", str(CLIENTS), "-q", str(OUTSTANDING), "-T", "1"],
            capture_output=True, text=True, timeout=SECONDS * 6,
        )  # fmt: skip
        used = _cpu_seconds(process.pid) - before
    match = re.search(
        r"Queries completed:\s+(\d+).*?Queries per second:\s+([\d.]+)", result.stdout, re.S
    )
    if match is None:
        print(result.stdout + result.stderr, file=sys.stderr)
        return 0.0, 0.0, "dnsperf failed"
    completed, qps = int(match.group(1)), float(match.group(2))
    lost = re.search(r"Queries lost:\s+\d+ \(([\d.]+%)\)", result.stdout)
    codes = re.search(r"Response codes:\s+(.*)", result.stdout)
    outcome = f"lost {lost.group(1) if lost else '?'}; {codes.group(1) if codes else ''}"
    return qps, completed / used if used > 0 else 0.0, outcome


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of *pid*, its threads and its child processes (NSD forks
    its server processes)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tree, ticks = {pid}, 0
    for _ in range(4):  # children, grandchildren...
        tree |= {p for p, (parent, _) in stats.items() if parent in tree}
    ticks = sum(stats[p][1] for p in tree if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def _wait_ready(port: int, process: subprocess.Popen) -> None:
    # a bare query for auth01.dricas.ne.jp A, ID 0x4242
    query = (
        bytes.fromhex("424200000001000000000000")
        + b"".join(bytes([len(p)]) + p.encode() for p in ["auth01", "dricas", "ne", "jp"])
        + b"\x00\x00\x01\x00\x01"
    )
    deadline = time.monotonic() + 30
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited at start ({process.args[0]})")
            sock.sendto(query, ("127.0.0.1", port))
            try:
                if sock.recv(4096)[:2] == b"\x42\x42":
                    return
            except OSError:
                continue
    raise RuntimeError("the server did not answer within 30 s")


def _zone_files() -> list[Path]:
    return sorted(ZONES.glob("*.zone"))


def _dcsim(workdir: Path, port: int) -> list[str]:
    config = workdir / "dcsim.toml"
    config.write_text(
        f'[dns]\nzones = "{ZONES}"\ntcp_max_per_client = 100000\ntcp_max_queries = 2147483647\n'
    )
    listen = [f"--listen=udp:127.0.0.1:{port}", f"--listen=tcp:127.0.0.1:{port}"]
    return dcsim_command("-q", "dns", *listen, config=config)


def _nsd(workdir: Path, port: int) -> list[str]:
    zones = "".join(
        f'zone:\n    name: "{p.name.removesuffix(".zone")}"\n    zonefile: "{p}"\n'
        for p in _zone_files()
    )
    config = workdir / "nsd.conf"
    config.write_text(
        f"""server:
    ip-address: 127.0.0.1
    port: {port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{workdir}"
    database: ""
    pidfile: "{workdir}/nsd.pid"
    xfrdfile: "{workdir}/xfrd.state"
    zonelistfile: "{workdir}/zone.list"
    logfile: "{workdir}/nsd.log"
    verbosity: 0
    rrl-ratelimit: 0
remote-control:
    control-enable: no
{zones}"""
    )
    nsd = shutil.which("nsd", path="/usr/sbin:/usr/bin") or "nsd"
    return [nsd, "-d", "-c", str(config)]


def _twisted(workdir: Path, port: int) -> list[str]:
    # twisted.names takes a zone's origin from its file name ("dricas.ne.jp.zone.") unless
    # the file says $ORIGIN: the same files with that line in front
    twistd = Path(sys.executable).parent / "twistd"
    args = [str(twistd), "-n", "--pidfile", str(workdir / "twistd.pid"), "-l", os.devnull, "dns"]
    for path in _zone_files():
        copy = workdir / path.name
        copy.write_text(f"$ORIGIN {path.name.removesuffix('.zone')}.\n{path.read_text()}")
        args += ["--bindzone", str(copy)]
    return [*args, "-i", "127.0.0.1", "-p", str(port)]


def _dnslib(workdir: Path, port: int) -> list[str]:
    # dnslib's zone resolver reads one file: the zones one after the other, each with its
    # $ORIGIN (its parser does not take "@" without one)
    combined = workdir / "all.zone"
    combined.write_text(
        "".join(
            f"$ORIGIN {p.name.removesuffix('.zone')}.\n{p.read_text()}\n" for p in _zone_files()
        )
    )
    return [sys.executable, "-m", "dnslib.zoneresolver", "--zone", str(combined),
            "--port", str(port), "--address", "127.0.0.1", "--tcp",
            "--log=-request,-reply,-truncated,-error"]  # fmt: skip
