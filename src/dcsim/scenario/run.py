"""Running a scenario: every (path, configuration) cell in a world of its own, in virtual
time, and its outcome derived from what happened."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet import task

from dcsim.client.console import Console
from dcsim.client.report import SessionReport
from dcsim.client.rules import SegaRules
from dcsim.modem.calllog import CallRecord
from dcsim.net.clock import run as run_clock
from dcsim.pso.events import Closed
from dcsim.scenario.model import ConfigSpec, PathSpec, Scenario
from dcsim.scenario.outcome import Facts, Outcome, classify
from dcsim.scenario.world import World, build_world


@dataclass(frozen=True)
class CellResult:
    path: str
    config: str
    report: SessionReport
    outcome: Outcome
    capture_dir: Path | None
    wall_seconds: float
    calls: tuple[CallRecord, ...] = ()  # the fake modem's call log, for dial-up cells

    @property
    def virtual_seconds(self) -> float:
        return self.report.ended - self.report.started

    def to_json(self) -> dict[str, Any]:
        failed = self.report.failed_step
        return {
            "path": self.path,
            "config": self.config,
            "client": self.report.console,
            "outcome": self.outcome.code,
            "mechanism": self.outcome.mechanism,
            "failed_step": failed.kind.value if failed else None,
            "cause": int(self.report.cause) if self.report.cause else None,
            "cause_text": self.report.cause.text if self.report.cause else None,
            "detail": self.outcome.why if failed else self.report.detail,
            "virtual_seconds": round(self.virtual_seconds, 3),
            "captures": str(self.capture_dir) if self.capture_dir else None,
            "report": self.report.to_json(),
        }


def facts_of(world: World, console: Console) -> Facts:
    closes = tuple(
        event.reason
        for role, event in world.server_events
        if isinstance(event, Closed) and not event.by_peer and role == "login"
    )
    return Facts(
        frozenset(world.licence_addresses),
        frozenset(world.login_addresses),
        world.black_hole_drops(),
        closes,
        console.disc.profile.unpadded_v1_check,
        frozenset(world.lobby_names) | {console.disc.profile.name.decode("latin-1")},
    )


def run_cell(
    scenario: Scenario,
    path_name: str,
    config: ConfigSpec,
    *,
    data_dir: Path,
    capture_root: Path | None = None,
    rules: SegaRules | None = None,
) -> CellResult:
    path: PathSpec = scenario.paths[path_name]
    console_settings = config.consoles[path_name]
    capture_dir = capture_root / f"{path_name}-{config.name}" if capture_root else None
    seed = f"{scenario.info.seed}:{path_name}:{config.name}"
    started = time.perf_counter()
    clock = task.Clock()
    world = build_world(
        config.world,
        path.access,
        console_settings,
        data_dir=data_dir,
        seed=seed,
        capture_dir=capture_dir,
        clock=clock,
    )
    host = world.console_host
    assert host is not None
    console = Console(
        console_settings,
        host,
        rules=rules,
        check_chain=world.trust,
        seed=seed,
    )
    box: list[Any] = []
    world.run_console(console).addBoth(box.append)
    run_clock(clock, scenario.info.time_limit, until=lambda: bool(box))
    if not box:
        console.cancel()
        run_clock(clock, 60, until=lambda: bool(box))
    world.close()
    if not box:
        raise RuntimeError(f"{path_name} x {config.name}: no result in virtual time")
    report = box[0]
    if hasattr(report, "raiseException"):
        report.raiseException()
    outcome = classify(report, facts_of(world, console))
    return CellResult(
        path_name,
        config.name,
        report,
        outcome,
        capture_dir,
        time.perf_counter() - started,
        tuple(world.call_log.records),
    )


def run_scenario(
    scenario: Scenario,
    *,
    data_dir: Path | None = None,
    capture_root: Path | None = None,
    rules: SegaRules | None = None,
    progress: Callable[[CellResult], None] | None = None,
) -> list[CellResult]:
    """Every cell, configuration by configuration, path by path."""
    with tempfile.TemporaryDirectory(prefix="dcsim-scenario-") as tmp:
        directory = data_dir or Path(tmp)
        results = []
        for cfg in scenario.configs.values():
            for path_name in scenario.paths:
                result = run_cell(
                    scenario,
                    path_name,
                    cfg,
                    data_dir=directory,
                    capture_root=capture_root,
                    rules=rules,
                )
                results.append(result)
                if progress is not None:
                    progress(result)
        return results
