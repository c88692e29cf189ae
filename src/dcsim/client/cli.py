"""``dcsim check``: judge a client's dialling, from the fake modem's call log."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dcsim.cli import EXIT_FAILED, EXIT_OK, UsageError
from dcsim.client.check import SESSION_GAP, check, render
from dcsim.modem.calllog import CallRecord
from dcsim.settings import Settings

MAX_LOG_LINE = 1 << 20  # a call record is a few hundred bytes; a longer line is not one


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "check",
        help="judge a client's dialling against Sega's rules, from a modem call log",
        description="Read the fake modem's call log (JSON lines, `dcsim modem --call-log`) "
        "and judge each modem's client against Sega's rules: redial interval, giving up "
        "in time, numbers in order, tone/pulse honoured, hang-up on reset, idle "
        "disconnect. The rule values are the [client.rules] settings. Exit 1 if a rule "
        "is broken.",
    )
    parser.add_argument("call_log", type=Path, metavar="CALL_LOG", help="the call log file")
    parser.add_argument("--json", action="store_true", help="one JSON object per modem")
    parser.add_argument(
        "--session-gap",
        type=float,
        default=SESSION_GAP,
        metavar="SECONDS",
        help=f"a pause longer than this starts a new dialling run (default {SESSION_GAP:g})",
    )
    parser.set_defaults(run=run)


def read_call_log(path: Path) -> list[CallRecord]:
    """Every record of *path*; a line that is not a record is a usage error naming it."""
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if len(line) > MAX_LOG_LINE:
                    raise UsageError(
                        f"{path}:{n}: a line of {len(line)} characters is no call record"
                    )
                if not line.strip():
                    continue
                try:
                    records.append(CallRecord.from_json(json.loads(line)))
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise UsageError(f"{path}:{n}: not a call log record ({e})") from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a call log") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    return records


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.session_gap <= 0:
        raise UsageError("--session-gap must be positive")
    records = read_call_log(args.call_log)
    if not records:
        raise UsageError(f"{args.call_log}: no calls in the log")
    reports = check(records, settings.client.rules, session_gap=args.session_gap)
    if args.json:
        for report in reports:
            print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(render(reports))
    return EXIT_OK if all(r.passed for r in reports) else EXIT_FAILED
