"""The 2006 matrix: every cell of configs/scenarios/2006.toml in virtual time.

Target (issue 10): the full matrix (12 paths x 10 configurations, 120 simulated
sessions, each a world of its own: dial-up or broadband, PPP, DNS from the root down,
SSL 3.0, the PSO login and a minute in the lobby) in under 10 s of wall time on one core.
Figures: wall seconds and CPU seconds for the whole matrix, simulated sessions per
CPU-second, and virtual seconds simulated per CPU-second. There is no other simulator of
these paths to compare with; the ratio is against the target.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.report import Report
from dcsim.scenario.model import ROOT, load_scenario
from dcsim.scenario.run import run_scenario

TARGET_SECONDS = 10.0


def run(report: Report) -> None:
    scenario = load_scenario(ROOT / "configs" / "scenarios" / "2006.toml")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        # One cell first: the licence server's keys are made once per data directory.
        first = next(iter(scenario.configs.values()))
        run_scenario(
            scenario.__class__(
                scenario.info,
                dict(list(scenario.paths.items())[:1]),
                {first.name: first},
                scenario.source,
            ),
            data_dir=data_dir,
        )
        wall, cpu = time.perf_counter(), time.process_time()
        results = run_scenario(scenario, data_dir=data_dir)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    cells = len(results)
    virtual = sum(r.virtual_seconds for r in results)
    name = "2006 matrix"
    report.add(name, "wall seconds, whole matrix", wall, "s", f"{cells} cells")
    report.add(name, "CPU seconds, whole matrix", cpu, "s")
    report.add(name, "target", TARGET_SECONDS, "s")
    report.ratio(name, "wall seconds, whole matrix", "target", "x of the target")
    report.add(name, "sessions", cells / cpu, "sessions/CPU-s")
    report.add(name, "virtual time", virtual / cpu, "virtual s/CPU-s")
