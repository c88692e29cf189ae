"""The scenario report and its command line: the matrix, the per-mechanism paragraphs
whose frame numbers tshark confirms in the captures, --json, and clear errors."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from dcsim.cli import main
from dcsim.config import ConfigError
from dcsim.scenario.model import loads_scenario
from tests.peers import require_program
from tests.scenario.cells import ROOT

SCENARIO = ROOT / "configs" / "scenarios" / "2006.toml"


def test_repro_prints_the_matrix_and_a_paragraph_per_mechanism(tmp_path, capsys):
    argv = [
        "repro",
        "2006",
        "--only-path",
        "P1",
        "--only-path",
        "P2",
        "--only-path",
        "P6",
        "--only-config",
        "S0",
        "--only-config",
        "S2",
        "--pcap",
        str(tmp_path),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"^P1\s+D-NX@auth\s+OK$", out, re.M)
    assert "Mechanisms:" in out and "D-NX@auth (1 cell: P1 under S0)" in out
    assert "P-4B (2 cells: P6 under S0, S2)" in out
    assert (tmp_path / "P1-S0" / "ppp-1.pcap").exists()


def test_the_frames_named_for_nxdomain_are_nxdomain_in_tshark(tmp_path, capsys):
    tshark = require_program("tshark", "tshark")
    argv = ["repro", "2006", "--only-path", "P1", "--only-config", "S0", "--pcap", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    match = re.search(r"ppp-1\.pcap frame (\d+) \(answers: NXDOMAIN\)", out)
    assert match, out
    frame = match.group(1)
    decoded = subprocess.run(
        [
            tshark,
            "-r",
            str(tmp_path / "P1-S0" / "ppp-1.pcap"),
            "-Y",
            f"frame.number == {frame}",
            "-T",
            "fields",
            "-e",
            "dns.flags.rcode",
            "-e",
            "dns.qry.name",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert decoded == ["3", "auth01.dricas.ne.jp"]


def test_json_gives_one_object_per_cell(capsys):
    argv = [
        "repro",
        "2006",
        "--json",
        "--only-path",
        "P9",
        "--only-path",
        "P10",
        "--only-config",
        "S0",
    ]
    assert main(argv) == 0
    cells = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(c["path"], c["config"]) for c in cells] == [("P9", "S0"), ("P10", "S0")]
    for c in cells:
        assert {"path", "config", "client", "outcome", "failed_step", "cause", "detail"} <= set(c)
    assert cells[1]["failed_step"] == "login" and cells[1]["cause"] == 4


def test_scenario_run_takes_any_file(tmp_path, capsys):
    text = SCENARIO.read_text().split("# --- server configurations")[0]
    small = tmp_path / "small.toml"
    small.write_text(text + '\n[configs.base]\ntext = "as 2006"\n')
    assert main(["scenario", "run", str(small), "--only-path", "P2"]) == 0
    assert re.search(r"^P2\s+OK$", capsys.readouterr().out, re.M)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[paths.P1]\nconsole = 'x'\naccess = 'y'", "paths.P1.console"),
        ("[consoles.c]\ndisc = 'jp-v9'", "consoles.c"),
        ("[world.login]\nresidents = 40", "world.login.residents"),
        ("[whatever]\n", "whatever"),
        (
            "[consoles.m]\n[access.e]\nkind = 'dcnet-ethernet'\n"
            "[paths.P]\nconsole = 'm'\naccess = 'e'",
            "paths.P: a modem console on the e broadband line",
        ),
        (
            "[consoles.b]\nlink = 'bba'\n[access.d]\nkind = 'dcnet'\n"
            "[paths.P]\nconsole = 'b'\naccess = 'd'",
            "paths.P: a broadband adapter on the d dial-up",
        ),
    ],
)
def test_mistakes_are_one_line_naming_the_key(text, key):
    with pytest.raises(ConfigError) as e:
        loads_scenario(text, "s.toml")
    assert str(e.value).startswith(f"s.toml: {key}")


def test_a_change_in_a_configuration_is_checked_under_its_name():
    base = SCENARIO.read_text().split("# --- server configurations")[0]
    bad = base + "\n[configs.X]\nworld.sega_dns.transport = 'carrier pigeon'\n"
    with pytest.raises(ConfigError, match=r"configs\.X\.world\.sega_dns\.transport"):
        loads_scenario(bad, "s.toml")


def test_unknown_selection_is_a_usage_error(capsys):
    assert main(["repro", "2006", "--only-path", "P99"]) == 2
    assert "no path named 'P99'" in capsys.readouterr().err
