"""TOML topologies: the default revival topology, clear errors, every link captured."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from twisted.internet import protocol, task

from dcsim.config import ConfigError
from dcsim.net.clock import run
from dcsim.net.topology import build, load_topology, loads_topology
from dcsim.net.wire import Ipv4Repr, UdpRepr
from tests.peers import require_program

REVIVAL = Path(__file__).parents[2] / "configs" / "topologies" / "revival.toml"
CONSOLE = IPv4Address("198.51.100.130")


class Who(protocol.DatagramProtocol):
    def datagramReceived(self, data, addr):
        self.transport.write(b"from " + addr[0].encode(), addr)


def test_the_revival_topology_carries_a_console_to_every_service():
    clock = task.Clock()
    net = build(load_topology(REVIVAL), clock)
    for name in ("sega-dns", "isp-resolver", "public-dns"):
        net.node(name).listenUDP(53, Who())
    got = []
    port = net.node("nas").attach_subscriber(CONSOLE, mtu=1500, deliver=got.append, name="dc")
    for target in ("192.0.2.53", "198.51.100.53", "203.0.113.2"):
        dst = IPv4Address(target)
        port.send(Ipv4Repr(CONSOLE, dst, 17).emit(UdpRepr(1024, 53, b"q").emit(CONSOLE, dst)))
    run(clock, 1)
    assert len(got) == 3
    accepted = []
    net.node("pso-login").listenTCP(
        9100, protocol.Factory.forProtocol(lambda: accepted.append(1) or protocol.Protocol())
    )
    net.node("ship").connectTCP(
        "192.0.2.20", 9100, protocol.ClientFactory.forProtocol(protocol.Protocol)
    )
    run(clock, 1)
    assert accepted == [1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[nodes.a]\nkind = "switch"', 'nodes.a.kind: expected one of "host", "router"'),
        ('[nodes.a]\naddresses = ["1.2.3"]', "nodes.a.addresses[0]: expected an IPv4 address"),
        ('[nodes.a]\nkind = "nas"', "nodes.a: a nas needs address and pool"),
        ('[nodes.a]\nallow = ["tcp:127.0.0.1:1"]', "nodes.a.allow: only a gateway"),
        ('default = "b"\n[nodes.a]', "default: no node named 'b'"),
        ('[nodes.a]\nroutes = ["0.0.0.0/0 to 1.2.3.4"]', 'nodes.a.routes[0]: expected "network'),
        (
            '[nodes.a]\n[[links]]\nends = ["a", "b"]\naddresses = ["10.0.0.1/24", "10.0.0.2/24"]',
            "links[0].ends[1]: no node named 'b'",
        ),
        (
            '[nodes.a]\n[nodes.b]\n[[links]]\nends = ["a", "b"]\n'
            'addresses = ["10.0.0.1/24", "10.0.1.2/24"]',
            "links[0].addresses: 10.0.0.1/24 and 10.0.1.2/24 are not on the same network",
        ),
        (
            '[nodes.a]\n[nodes.b]\n[[links]]\nends = ["a", "b"]\naddresses = ["10.0.0.1", "x"]',
            "links[0].addresses[0]: expected address/prefix-length",
        ),
        (
            '[nodes.a]\n[nodes.b]\n[[links]]\nends = ["a", "b"]\n'
            'addresses = ["10.0.0.1/24", "10.0.0.2/24"]\nloss = 2',
            "links[0].loss: expected a number in [0, 1], got 2",
        ),
        (
            '[nodes.a]\n[nodes.b]\n[[links]]\nends = ["a", "b"]\n'
            'addresses = ["10.0.0.1/24", "10.0.0.2/24"]\n[[interfaces]]\nnode = "a"\nlink = "x"',
            "interfaces[0].link: no link named 'x'; links: a-b",
        ),
        (
            '[[interfaces]]\nnode = "a"\nlink = "a-b"\n[interfaces.nat]\nforwards = ["tcp:1"]',
            "interfaces[0].nat.forwards[0]: expected proto:port=address:port",
        ),
    ],
)
def test_mistakes_are_one_clear_line(text, message):
    with pytest.raises(ConfigError) as caught:
        loads_topology(text, "t.toml")
    assert str(caught.value).startswith(f"t.toml: {message}")


def test_interface_policies_from_toml():
    topology = loads_topology(
        """
        [nodes.home]
        kind = "router"
        [nodes.console]
        [nodes.isp]
        kind = "router"
        [[links]]
        ends = ["console", "home"]
        addresses = ["192.168.0.2/24", "192.168.0.1/24"]
        [[links]]
        name = "uplink"
        ends = ["home", "isp"]
        addresses = ["198.51.100.130/25", "198.51.100.129/25"]
        mtu = 1454
        [[interfaces]]
        node = "home"
        link = "uplink"
        mss_clamp = 1414
        frag_needed = false
        [interfaces.nat]
        inside = ["192.168.0.0/16"]
        forwards = ["tcp:9100=192.168.0.2:9100"]
        [[interfaces.filters]]
        proto = "udp"
        dst_ports = [53]
        action = "reject"
        direction = "out"
        """
    )
    net = build(topology, task.Clock())
    iface = net.links["uplink"].a
    assert iface.node.name == "home" and iface.mtu == 1454
    assert (iface.mss_clamp, iface.frag_needed) == (1414, False)
    assert [type(p).__name__ for p in iface.policies] == ["Filter", "Nat"]
    assert iface.policies[1].forwards == {(6, 9100): (IPv4Address("192.168.0.2"), 9100)}


@pytest.mark.interop
@pytest.mark.slow
def test_every_link_captures_pcap_that_tshark_decodes_cleanly(tmp_path):
    tshark = require_program("tshark", "tshark")
    clock = task.Clock()
    net = build(load_topology(REVIVAL), clock, capture_dir=tmp_path)
    net.node("sega-dns").listenUDP(7, Who())  # the echo port: tshark shows the bytes as data
    received = []

    class Big(protocol.Protocol):
        def connectionMade(self):
            self.transport.write(bytes(range(256)) * 40)
            self.transport.loseConnection()

    class Sink(protocol.Protocol):
        def dataReceived(self, data):
            received.append(data)

    net.node("licence").listenTCP(443, protocol.Factory.forProtocol(Big))
    ship = net.node("ship")
    ship.connectTCP("192.0.2.10", 443, protocol.ClientFactory.forProtocol(Sink))
    ship.listenUDP(0, protocol.DatagramProtocol()).write(bytes(3000), ("192.0.2.53", 7))
    run(clock, 5)
    net.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == len(net.links) and "core-licence.pcap" in files
    out = subprocess.run(
        [tshark, "-r", str(tmp_path / "core-licence.pcap"), "-T", "fields", "-e", "tcp.flags.str"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert out[0] == "··········S·" and len(out) >= 10
    for name in files:
        bad = subprocess.run(
            [
                tshark,
                "-r",
                str(tmp_path / name),
                "-Y",
                "_ws.malformed || _ws.expert.severity >= 0x800000",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert bad == "", f"{name}: {bad}"
    frags = subprocess.run(
        [tshark, "-r", str(tmp_path / "core-sega-dns.pcap"), "-Y", "ip.flags.mf == 1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert len(frags) == 2  # 3028 bytes in 1500-byte fragments, reassembled by tshark


def test_a_gateway_allowlist_is_checked_but_inert_without_the_real_reactor():
    text = REVIVAL.read_text().replace(
        '# allow = ["tcp:127.0.0.1:9100"]', 'allow = ["tcp:127.0.0.1:9100"]'
    )
    topology = loads_topology(text)
    assert topology.nodes["gateway"].allow[0].port == 9100
    net = build(topology, task.Clock())
    assert net.gateway.allow == frozenset()


def test_dcsim_net_check_and_show(tmp_path, capsys):
    from dcsim.cli import main

    topology = tmp_path / "t.toml"
    topology.write_text(REVIVAL.read_text().replace("# allow =", "allow ="))
    assert main(["net", "check", str(topology)]) == 0
    assert capsys.readouterr().out.endswith("ok, 9 nodes, 8 links, 0 interface policies\n")
    assert main(["net", "show", str(topology), "--routes"]) == 0
    out = capsys.readouterr().out
    assert "gateway          gateway  100.64.0.1 100.64.0.3" in out
    assert "0.0.0.0/0 via 198.51.100.5 dev to-core metric 102" in out
    topology.write_text("[nodes.a]\nkind = 'nas'\n")
    assert main(["net", "check", str(topology)]) == 2
    assert capsys.readouterr().err == f"dcsim: {topology}: nodes.a: a nas needs address and pool\n"
