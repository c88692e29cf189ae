"""The mechanisms of failure2006.md §5, each shown by running cells of
configs/scenarios/2006.toml and asserting what the mechanism implies (not a table of
expected outcomes: every assertion is about how outcomes relate, or about the evidence
the run left)."""

from __future__ import annotations

import re

from dcsim.client.report import DnsEvidence, StepKind
from tests.scenario.cells import ROOT, cell, code, scenario, variant

FORCED = ["P1", "P3", "P4", "P7"]  # the access network decides where DNS queries go
OWN_DNS = ["P2", "P8"]  # the console's stub reaches Sega's island itself


def test_m1_forced_resolvers_get_nxdomain_for_names_only_the_island_holds():
    """M1: where the ISP (IPCP Nak, interception), DHCP or a router decides the DNS, the
    query reaches a public resolver that follows the public tree and gets NXDOMAIN for
    auth01 before any server of Sega's is contacted; consoles whose stub reaches the
    island get past DNS."""
    for path in FORCED:
        result = cell(path, "S0")
        failed = result.report.failed_step
        assert failed is not None and failed.kind is StepKind.DNS
        evidence = failed.find(DnsEvidence)
        assert evidence.failure == "nxdomain" and evidence.name == "auth01.dricas.ne.jp"
        assert not result.report.steps_of(StepKind.LICENCE)
    for path in OWN_DNS:
        dns = cell(path, "S0").report.steps_of(StepKind.DNS)
        assert dns and all(s.ok for s in dns)


def test_m1_intercepted_answers_wear_the_address_the_console_asked():
    """An ISP intercepting UDP/53 answers in the name of the server the console chose:
    the NXDOMAIN seems to come from Sega's island itself."""
    evidence = cell("P3", "S0").report.failed_step.find(DnsEvidence)
    assert evidence.servers[0] == "192.0.2.53" and evidence.answered_by == "192.0.2.53"


def test_m1_publishing_the_records_moves_every_forced_path_past_dns():
    for path in FORCED:
        assert not code(path, "S2").startswith("D-"), path
        assert cell(path, "S2").report.steps_of(StepKind.LICENCE)


def test_m2_tcp_on_segas_dns_changes_nothing_for_consoles_yet_rescues_p11():
    """M2: the Dreamcast's stub asks over UDP only and its small answers never
    truncate, so turning TCP on at Sega's DNS leaves every path as it was; only P11,
    where a forwarder in the path asks Sega's DNS over TCP, is rescued by it."""
    for path in scenario().paths:
        if path != "P11":
            assert code(path, "S1") == code(path, "S0"), path
    assert code("P11", "S0") != "OK" and code("P11", "S1") == "OK"
    failed = cell("P11", "S0").report.failed_step
    assert failed.kind is StepKind.DNS and failed.find(DnsEvidence).failure == "servfail"


def test_m2_publishing_does_not_help_a_forwarder_tied_to_the_island():
    """P11's forwarder asks only Sega's island, over TCP: public records are no help."""
    assert code("P11", "S2") == code("P11", "S0")


def test_m3_a_black_hole_stalls_the_adapter_on_the_line_but_not_a_clamped_router():
    """M3: with the broadband adapter on a 1500-byte line (MSS 1460) the connections
    come up and then stall at the first full-size segment from Sega's side, which the
    edge router drops without ICMP; a PPPoE router clamping the MSS (P6b) and a dial-up
    stack with MSS 536 (P2) pass the same path."""
    p5 = cell("P5", "S0")
    assert p5.outcome.code.startswith("BH@")
    assert code("P6b", "S0") == "OK" and code("P2", "S0") == "OK"
    fixed = variant("P5", "S0", world={"server_path": {"frag_needed": True}})
    assert fixed.outcome.code == "OK"  # ICMP fragmentation-needed: PMTUD recovers


def test_m4a_an_mss_that_is_not_a_multiple_of_4_garbles_the_lobby():
    """M4a: behind a router clamping to 1414 the lobby join arrives in 1414-byte
    segments; decrypted in whole words, every byte after the first such segment is
    garbage and the players' names come out corrupted (no error is raised); MSS 1412
    (MTU 1452, "a multiple of 4") is fine, and so is a client that decrypts whole
    commands."""
    p6 = cell("P6", "S0")
    assert p6.outcome.code == "P-4B"
    assert p6.report.reached_lobby  # nobody noticed
    assert "1414" in p6.outcome.why and "garbled" in p6.outcome.why
    assert code("P6b", "S0") == "OK"
    assert variant("P6", "S0", console={"segment_words": False}).outcome.code == "OK"


def test_m4b_a_server_that_stops_rounding_up_loses_only_jp_v1():
    """M4b: JP v1 sends its 90 as 0x26 bytes; a login server that decrypts exactly the
    bytes on the wire is out of step from the next command on and the login dies after
    the licence check; JP v2 on the same path logs in, and rounding up fixes v1."""
    assert code("P10", "S0") == "P-V1"
    p10 = cell("P10", "S0").report
    assert p10.failed_step.kind is StepKind.LOGIN
    assert p10.steps_of(StepKind.LICENCE)[0].ok  # the licence check itself passed
    assert code("P2", "S0") == "OK"  # the same path with JP v2
    assert variant("P10", "S0", world={"login": {"v1_round_up": True}}).outcome.code == "OK"


def test_eu_works_on_the_same_forced_dns_path():
    """EU PSO needs neither Sega's DNS nor the JP licence check: P9 uses P1's access."""
    assert code("P1", "S0").startswith("D-NX") and code("P9", "S0") == "OK"
    assert not cell("P9", "S0").report.steps_of(StepKind.LICENCE)


def test_a_remedy_whose_download_meets_the_black_hole_is_not_applicable():
    """R7 needs a download from Sega's side before the game; behind the black hole the
    download itself stalls, so the remedy cannot even be applied (N/A, derived)."""
    r7 = cell("P4", "R7")
    assert r7.outcome.code == "N/A"
    assert r7.report.failed_step.kind is StepKind.PATCH


def test_the_scenario_file_states_no_outcome():
    text = (ROOT / "configs" / "scenarios" / "2006.toml").read_text()
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert not re.search(r"\b(OK|D-NX|D-STALE|D-TO|D-REF|S-ALG|BH@|P-4B|P-V1|N/A)\b", body)
