"""The scenario report: the matrix of outcome codes, then one paragraph per distinct
failure mechanism naming the packets that show it (capture file and frame numbers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dcsim.client.report import DnsEvidence, PsoEvidence, StepKind, TcpEvidence
from dcsim.scenario.captures import Shown, address_of, evidence
from dcsim.scenario.model import Scenario
from dcsim.scenario.run import CellResult

# What each mechanism is, in words (failure2006.md §5 and §6.2); the specifics of a
# cell come from its run.
MECHANISMS: dict[str, str] = {
    "D-NX": "The name does not exist where the console's query ended up: its resolver "
    "follows the public delegation of the zone, and the special records live only on "
    "Sega's island, which nothing delegates to (M1).",
    "D-REF": "The DNS server the console asked refused the question: it serves its own "
    "zones only and recurses for nobody.",
    "D-FAIL": "A resolver between the console and Sega's DNS got no usable answer from "
    "its upstream and said SERVFAIL; the packets show why (TCP to a server that does "
    "not listen on TCP, M2, or an upstream that refuses the name).",
    "D-TO": "No DNS answer at all within the stub's tries: the queries (or their answers) "
    "were dropped on the way.",
    "D-STALE": "DNS gave an address where the service no longer runs; the connection "
    "there fails (M1, a stale public record).",
    "D-NONE": "The console had no DNS server to ask.",
    "S-ALG": "TCP came up, but the SSL handshake ended with an alert: the server and the "
    "console's SSL library have no algorithm, or no certificate, in common.",
    "BH": "TCP came up, then the first full-size segment from Sega's side was dropped by "
    "a router in front of a smaller-MTU hop that sends no ICMP fragmentation-needed; the "
    "sender retransmits it until the console gives up (the PMTUD black hole, M3).",
    "P-4B": "The PSO client decrypts each received TCP segment in whole 4-byte words; a "
    "segment that is not whole words leaves the keystream two bytes off, and everything "
    "after it decrypts to garbage that nobody detects (M4a).",
    "P-V1": "JP v1 sends its 90 as 0x26 bytes; a login server that decrypts exactly the "
    "bytes on the wire is out of step from the next command on, and the login dies "
    "right after the licence check (M4b).",
    "N/A": "The remedy needs a connection first (a download from Sega's side) and that "
    "connection cannot be made on this path, so the remedy cannot be applied.",
}


@dataclass(frozen=True)
class Paragraph:
    code: str
    cells: tuple[CellResult, ...]
    example: CellResult
    packets: tuple[Shown, ...]
    capture_dir: Path | None

    def render(self) -> str:
        family = _family(self.code)
        where = _cell_list(self.cells)
        text = MECHANISMS.get(family, "A failure reported by Sega's cause.")
        example = self.example
        count = f"{len(self.cells)} cell{'s' if len(self.cells) != 1 else ''}"
        line = (
            f"{self.code} ({count}: {where}). {text} "
            f"In {example.path} x {example.config}: {example.outcome.why}."
        )
        if self.packets:
            where_files = f" in {self.capture_dir}" if self.capture_dir else ""
            line += f" Packets{where_files}: " + "; ".join(str(s) for s in self.packets) + "."
        elif self.capture_dir is not None:
            line += " (No packet in the captures shows it.)"
        return line


def _family(code: str) -> str:
    return code.split("@", 1)[0]


def _cell_list(cells: Sequence[CellResult]) -> str:
    by_path: dict[str, list[str]] = {}
    for c in cells:
        by_path.setdefault(c.path, []).append(c.config)
    return "; ".join(f"{p} under {', '.join(configs)}" for p, configs in by_path.items())


def matrix(scenario: Scenario, results: Sequence[CellResult]) -> str:
    table = {(r.path, r.config): r.outcome.code for r in results}
    configs = [c for c in scenario.configs if any(r.config == c for r in results)]
    paths = [p for p in scenario.paths if any(r.path == p for r in results)]
    width = max([len(code) for code in table.values()] + [len(c) for c in configs]) + 2
    first = max(len(p) for p in [*paths, "path"]) + 2
    head = "path".ljust(first) + "".join(c.ljust(width) for c in configs)
    lines = [head.rstrip(), "-" * len(head.rstrip())]
    for p in paths:
        row = p.ljust(first) + "".join(table.get((p, c), "").ljust(width) for c in configs)
        lines.append(row.rstrip())
    return "\n".join(lines)


def legend(scenario: Scenario) -> str:
    lines = ["Paths:"]
    width = max(len(n) for n in [*scenario.paths, *scenario.configs])
    lines += [f"  {name:{width}} {path.text}" for name, path in scenario.paths.items()]
    lines.append("Configurations:")
    lines += [f"  {name:{width}} {cfg.text}" for name, cfg in scenario.configs.items()]
    return "\n".join(lines)


def paragraphs(
    results: Sequence[CellResult],
    capture: Callable[[CellResult], Path | None],
) -> list[Paragraph]:
    """One paragraph per distinct failure code, in order of first appearance; *capture*
    gives the capture directory of a cell (running it again with captures if needed)."""
    order: dict[str, list[CellResult]] = {}
    for r in results:
        if r.outcome.code != "OK":
            order.setdefault(r.outcome.code, []).append(r)
    out = []
    for code, cells in order.items():
        example = cells[0]
        directory = capture(example)
        shown = tuple(_first(evidence(directory, code, _detail(example)))) if directory else ()
        out.append(Paragraph(code, tuple(cells), example, shown, directory))
    return out


SHOWN_PER_PARAGRAPH = 4


def _first(shown: list[Shown]) -> list[Shown]:
    """The console's own link first, then Sega's side, then the rest; at most a few."""

    def rank(s: Shown) -> int:
        if s.file.startswith(("ppp-", "console-")):
            return 0
        if s.file.startswith(("sega-edge-", "core-public-dns", "home-isp")):
            return 1
        return 2

    return sorted(shown, key=rank)[:SHOWN_PER_PARAGRAPH]


def _detail(cell: CellResult) -> dict[str, str]:
    step = cell.report.failed_step or cell.outcome.step
    detail: dict[str, str] = {}
    for s in cell.report.steps_of(StepKind.DNS):
        dns = s.find(DnsEvidence)
        if dns is not None:
            detail["name"] = dns.name
    if step is None:
        return detail
    tcp = step.find(TcpEvidence)
    pso = step.find(PsoEvidence)
    if tcp is not None:
        detail["address"] = tcp.address
    elif pso is not None and pso.ship is not None and cell.outcome.code == "P-4B":
        detail["address"] = pso.ship
    elif step.kind in (StepKind.LOGIN, StepKind.LOBBY):
        login = cell.report.steps_of(StepKind.LOGIN)
        detail["address"] = address_of(login[0].target) if login else ""
    return detail


def render(
    scenario: Scenario,
    results: Sequence[CellResult],
    notes: Sequence[Paragraph],
    *,
    wall: float,
) -> str:
    virtual = sum(r.virtual_seconds for r in results)
    out = [
        scenario.info.title or scenario.source,
        f"{scenario.source}: {len(scenario.paths)} paths x {len(scenario.configs)} "
        f"configurations, {len(results)} cells in {wall:.1f} s "
        f"({virtual / 3600:.1f} h of virtual time)",
        "",
        matrix(scenario, results),
        "",
        legend(scenario),
    ]
    if notes:
        out += ["", "Mechanisms:"]
        for note in notes:
            out += ["", note.render()]
    return "\n".join(out)
