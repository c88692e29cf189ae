"""Cells of configs/scenarios/2006.toml, run once per test session and shared."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import replace
from pathlib import Path

from dcsim.scenario.model import ConfigSpec, Scenario, load_scenario
from dcsim.scenario.run import CellResult, run_cell

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(tempfile.mkdtemp(prefix="dcsim-2006-"))


@functools.cache
def scenario() -> Scenario:
    return load_scenario(ROOT / "configs" / "scenarios" / "2006.toml")


@functools.cache
def cell(path: str, config: str) -> CellResult:
    sc = scenario()
    return run_cell(sc, path, sc.configs[config], data_dir=DATA)


def variant(path: str, config: str, *, world: dict | None = None, console: dict | None = None):
    """One cell of a configuration changed in the test (knob by knob)."""
    sc = scenario()
    base = sc.configs[config]
    knobs = base.world
    for section, changes in (world or {}).items():
        knobs = replace(knobs, **{section: replace(getattr(knobs, section), **changes)})
    consoles = {
        name: replace(settings, **(console or {})) for name, settings in base.consoles.items()
    }
    changed = ConfigSpec(f"{config}-variant", base.text, knobs, consoles)
    return run_cell(sc, path, changed, data_dir=DATA)


def code(path: str, config: str) -> str:
    return cell(path, config).outcome.code
