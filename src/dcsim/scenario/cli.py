"""``dcsim scenario run FILE`` and ``dcsim repro 2006``: run a scenario's matrix in virtual
time and report it."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from dcsim.cli import EXIT_OK, UsageError
from dcsim.scenario.model import ROOT, Scenario, load_scenario
from dcsim.scenario.report import paragraphs, render
from dcsim.scenario.run import CellResult, run_cell, run_scenario
from dcsim.settings import Settings

REPROS = {"2006": ROOT / "configs" / "scenarios" / "2006.toml"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "scenario",
        help="run a scenario's matrix of user paths x server configurations",
        description="Run scenarios (configs/scenarios/*.toml) in virtual time.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        help="run every cell of a scenario file and report the matrix",
        description="Run every (path, configuration) cell of FILE in virtual time; print the "
        "matrix of outcome codes and one paragraph per failure mechanism with the packets "
        "that show it.",
    )
    run.add_argument("file", type=Path, metavar="FILE", help="the scenario (TOML)")
    _options(run)
    run.set_defaults(run=_run_file)
    repro = sub.add_parser(
        "repro",
        help="reproduce a documented failure (2006: the JP PSO connection failure)",
        description="Run a shipped scenario: 2006 is configs/scenarios/2006.toml.",
    )
    repro.add_argument("which", choices=sorted(REPROS), help="which failure")
    _options(repro)
    repro.set_defaults(run=_run_repro)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per cell instead of the report"
    )
    parser.add_argument(
        "--pcap",
        type=Path,
        metavar="DIR",
        help="write every cell's captures to DIR/PATH-CONFIG/ (one pcap per link)",
    )
    parser.add_argument(
        "--only-path", action="append", metavar="NAME", help="run only this path (repeatable)"
    )
    parser.add_argument(
        "--only-config",
        action="append",
        metavar="NAME",
        help="run only this server configuration (repeatable)",
    )


def _run_repro(args: argparse.Namespace, settings: Settings) -> int:
    return _run(REPROS[args.which], args, settings)


def _run_file(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args.file, args, settings)


def _select(scenario: Scenario, paths: list[str] | None, configs: list[str] | None) -> Scenario:
    for wanted, known, what in (
        (paths, scenario.paths, "path"),
        (configs, scenario.configs, "config"),
    ):
        for name in wanted or ():
            if name not in known:
                raise UsageError(f"no {what} named {name!r}; known: {', '.join(known)}")
    return replace(
        scenario,
        paths={k: v for k, v in scenario.paths.items() if not paths or k in paths},
        configs={k: v for k, v in scenario.configs.items() if not configs or k in configs},
    )


def _run(path: Path, args: argparse.Namespace, settings: Settings) -> int:
    scenario = _select(load_scenario(path), args.only_path, args.only_config)
    if args.pcap is not None:
        args.pcap.mkdir(parents=True, exist_ok=True)
    rules = settings.client.rules
    with tempfile.TemporaryDirectory(prefix="dcsim-scenario-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()

        def progress(result: CellResult) -> None:
            if not args.json:
                print(
                    f"  {result.path} x {result.config}: {result.outcome.code}",
                    file=sys.stderr,
                    flush=True,
                )

        results = run_scenario(
            scenario, data_dir=data_dir, capture_root=args.pcap, rules=rules, progress=progress
        )
        wall = time.perf_counter() - started
        if args.json:
            for result in results:
                print(json.dumps(result.to_json(), ensure_ascii=False))
            return EXIT_OK
        examples = Path(tmp) / "captures"

        def capture(cell: CellResult) -> Path | None:
            if cell.capture_dir is not None:
                return cell.capture_dir
            again = run_cell(
                scenario,
                cell.path,
                scenario.configs[cell.config],
                data_dir=data_dir,
                capture_root=examples,
                rules=rules,
            )
            return again.capture_dir

        notes = paragraphs(results, capture)
        text = render(scenario, results, notes, wall=wall)
        if args.pcap is None:
            text += (
                "\n\n(The captures named above were written to a temporary directory; "
                "run with --pcap DIR to keep them.)"
            )
        print(text)
    return EXIT_OK
