"""Interop with a real PPP implementation: Debian's pppd in a QEMU guest dials dcsim.

Once straight to the raw PPP port (as Flycast's DCNet modem mode talks), once through the
fake modem with ``chat`` (AT, ATDT, CONNECT, then PPP at the line's pace). The guest
resolves a name over UDP and TCP and pings the DNS server through dcsim's virtual
internet, then hangs up (pppd sends LCP Terminate-Request). pppd offers what Debian's
pppd offers (CCP, IPv6CP, VJ), which dcsim must reject or protocol-reject.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dcsim.client.check import check
from dcsim.client.logs import read_log
from dcsim.client.rules import SegaRules
from dcsim.dcnet.sessionlog import End, EndedBy, SessionRecord
from dcsim.ppp.session import Carrier
from tests.dcnet.running import dcsim_dcnet
from tests.peers import require_program

from .qemu import build_image, run_guest

pytestmark = [pytest.mark.slow, pytest.mark.interop]


@pytest.fixture(scope="module")
def image() -> object:
    require_program("qemu-system-x86_64", "qemu-system-x86")
    require_program("pppd", "ppp")
    require_program("cpio", "cpio")
    return build_image()


def check_session(results: dict[str, str], output: str) -> None:
    assert "timeout" not in results, output
    assert results.get("up") == (
        "local=198.51.100.129 remote=198.51.100.1 dns1=192.0.2.53 dns2=192.0.2.53"
    ), output
    assert results["udp"].split()[-1] == "192.0.2.20", output  # after "Server: ..."
    assert "c000020a" in results["tcp"], output  # auth01.dricas.ne.jp A 192.0.2.10
    assert results["ping"] == "ok", output
    assert "done" in results
    pppd = "\n".join(line for line in output.splitlines() if line.startswith("PPPD"))
    # what Debian's pppd offers and dcsim turns down
    assert "Protocol-Reject for 'Compression Control Protocol' (0x80fd) received" in pppd
    assert "Protocol-Reject for 'IPv6 Control Protocol' (0x8057) received" in pppd
    assert "rcvd [IPCP ConfRej id=0x1 <compress VJ 0f 01>]" in pppd
    assert 'sent [LCP TermReq id=0x2 "User request"]' in pppd
    assert "rcvd [LCP TermAck" in pppd


def test_pppd_on_the_raw_ppp_port(image: object, tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    sessions = tmp_path / "sessions.jsonl"
    options = ("--pcap", str(captures), "--session-log", str(sessions))
    with dcsim_dcnet(tmp_path, "--ppp", "tcp:127.0.0.1:0", *options) as running:
        run = run_guest(image, running.address("PPP").port)  # type: ignore[arg-type]
    check_session(run.results, run.output)
    # the session log says pppd hung up properly, and what it asked for
    (record,) = read_log(sessions)
    assert isinstance(record, SessionRecord)
    assert (record.end, record.ended_by) == (End.LCP_TERMINATE, EndedBy.CONSOLE)
    assert record.user == "flycast1" and str(record.address) == "198.51.100.129"
    assert record.requested["IPCP"][0].startswith("IP-COMPRESSION=VJ")
    assert record.datagrams_from_console >= 4 and record.t_last_datagram is not None
    (report,) = check([record], SegaRules())
    assert report.passed
    log = "".join(running.log)
    assert "PAP login 'flycast1': accepted" in log
    assert "the peer ended the link (LCP Terminate-Request); cause: none" in log
    assert "client asks LCP ACCM=0x00000000 MAGIC-NUMBER=" in log
    assert "client asks IPCP IP-COMPRESSION=VJ(max-slot=15,comp-slot=1) IP-ADDRESS=0.0.0.0" in log
    # the session's capture, with a real peer's frames in it, decodes cleanly
    tshark = require_program("tshark", "tshark")
    (capture,) = captures.glob("dcnet-ppp-*.pcap")
    fields = subprocess.run(
        [
            tshark,
            "-r",
            str(capture),
            "-T",
            "fields",
            "-e",
            "frame.protocols",
            "-e",
            "_ws.malformed",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert len(fields) > 20 and not [f for f in fields if "malformed" in f]
    protocols = " ".join(fields)
    for name in (
        "ppp:lcp",
        "ppp:pap",
        "ppp:ipcp",
        "ppp:ccp",
        "ppp:ipv6cp",
        "ip:udp:dns",
        "ip:tcp",
        "ip:icmp",
    ):
        assert name in protocols, name


def test_pppd_dialling_through_the_fake_modem(image: object, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.jsonl"
    listen = ("--ppp", "tcp:127.0.0.1:0", "--modem", "tcp:127.0.0.1:0")
    with dcsim_dcnet(tmp_path, *listen, "--session-log", str(sessions)) as running:
        run = run_guest(
            image, running.address("modem listening").port, mode="modem", number="0123456789"
        )  # type: ignore[arg-type]
    check_session(run.results, run.output)
    assert "CONNECT" in run.output
    (record,) = read_log(sessions)  # a modem's call: its dialling is the call log's to judge
    assert isinstance(record, SessionRecord) and record.carrier is Carrier.MODEM
    assert record.end is End.LCP_TERMINATE and record.peer_host.startswith("modem ")
