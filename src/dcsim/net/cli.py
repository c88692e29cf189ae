"""``dcsim net``: check and show virtual-internet topologies."""

from __future__ import annotations

import argparse
from pathlib import Path

from twisted.internet import task

from dcsim.cli import EXIT_OK
from dcsim.net.topology import Topology, build, load_topology
from dcsim.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("net", help="check and show virtual-internet topologies")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="load a topology and report its first error")
    check.add_argument("file", type=Path, help="the topology (TOML)")
    check.set_defaults(run=_check)
    show = actions.add_parser("show", help="print a topology's nodes, links and routes")
    show.add_argument(
        "file", type=Path, nargs="?", help="the topology (default: [net] topology setting)"
    )
    show.add_argument("--routes", action="store_true", help="also print every routing table")
    show.set_defaults(run=_show)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    topology = load_topology(args.file)
    build(topology, task.Clock())  # static routes are checked against the links
    print(
        f"{args.file}: ok, {len(topology.nodes)} nodes, {len(topology.links)} links, "
        f"{len(topology.interfaces)} interface policies"
    )
    return EXIT_OK


def _show(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or settings.net.topology_path()
    topology: Topology = load_topology(path)
    net = build(topology, task.Clock())
    print(f"# {path}")
    for name, node in net.nodes.items():
        kind = topology.nodes[name].kind
        addresses = sorted(str(a) for a in node.addresses)
        print(f"{name:16} {kind:8} {' '.join(addresses)}")
    print()
    for name, link in net.links.items():
        p = link.profile
        bandwidth = f"{p.bandwidth:g} bit/s" if p.bandwidth else "unlimited"
        print(
            f"{name:24} {link.a.address} <-> {link.b.address}  mtu {p.mtu}, "
            f"{p.latency * 1000:g} ms, {bandwidth}, loss {p.loss:g}"
        )
    if args.routes:
        for name, node in net.nodes.items():
            print(f"\n[{name}]")
            for route in node.routes:
                print(f"  {route}")
    return EXIT_OK
