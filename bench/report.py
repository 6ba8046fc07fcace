"""Figures from the load runs: the console table and docs/PERFORMANCE.md."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.loadgen import LoadResult, percentile

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"

DOC_INTRO = """\
# Performance

Run `make bench` (or `.venv/bin/python -m bench`; `--quick` for a one-second smoke run
that leaves this file alone, `--help` for the knobs). It starts the servers it needs as
subprocesses, loads them over real HTTP, prints a table and rewrites its own section
below.

Absolute figures depend on the machine, so every benchmark also measures a *floor* in
the same run (the cheapest FastAPI endpoint, served by the same uvicorn with the same
options and loaded by the same client) and states its results as ratios to that floor.
The ratios are what to compare from one run, or one machine, to the next.

Each benchmark owns one section, between its own `<!-- bench:NAME:start -->` and
`<!-- bench:NAME:end -->` markers; a run replaces only its section and keeps the rest of
this file. A later benchmark adds a section of its own.
"""


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    server: str  # "floor" or "rpma"
    path: str
    body: bytes


@dataclass
class Figures:
    """One scenario, pooled over its rounds."""

    scenario: Scenario
    rounds: list[LoadResult] = field(default_factory=list)
    server_cpu_s: float | None = 0.0
    _sorted: list[float] | None = None

    def add(self, result: LoadResult, server_cpu_s: float | None) -> None:
        self.rounds.append(result)
        self._sorted = None
        if server_cpu_s is None or self.server_cpu_s is None:
            self.server_cpu_s = None
        else:
            self.server_cpu_s += server_cpu_s

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def error_samples(self) -> list[str]:
        return [sample for r in self.rounds for sample in r.error_samples]

    @property
    def rps(self) -> float:
        elapsed = sum(r.elapsed_s for r in self.rounds)
        return self.requests / elapsed if elapsed > 0 else 0.0

    @property
    def rps_by_round(self) -> list[float]:
        return [r.requests / r.elapsed_s if r.elapsed_s > 0 else 0.0 for r in self.rounds]

    def _latencies(self) -> list[float]:
        if self._sorted is None:
            self._sorted = sorted(x for r in self.rounds for x in r.latencies_ms)
        return self._sorted

    @property
    def p50(self) -> float:
        return percentile(self._latencies(), 0.50)

    @property
    def p99(self) -> float:
        return percentile(self._latencies(), 0.99)

    @property
    def _total_requests(self) -> int:
        return sum(r.total_requests for r in self.rounds)

    @property
    def server_cpu_us(self) -> float | None:
        """Server CPU per answered request, warm-up included (the CPU clock cannot tell)."""
        if self.server_cpu_s is None or not self._total_requests:
            return None
        return self.server_cpu_s / self._total_requests * 1e6

    @property
    def client_cpu_us(self) -> float:
        total = self._total_requests
        return sum(r.client_cpu_s for r in self.rounds) / total * 1e6 if total else 0.0

    @property
    def client_busy(self) -> float:
        """Share of one core the load generator used: near 1.0 it would be the bottleneck."""
        wall = sum(r.wall_s for r in self.rounds)
        return sum(r.client_cpu_s for r in self.rounds) / wall if wall else 0.0

    @property
    def server_busy(self) -> float | None:
        wall = sum(r.wall_s for r in self.rounds)
        return self.server_cpu_s / wall if self.server_cpu_s is not None and wall else None


@dataclass(frozen=True)
class Row:
    title: str
    rps: float
    p50: float
    p99: float
    rps_ratio: float
    p50_ratio: float
    added_us: float
    server_cpu_us: float | None
    server_busy: float | None
    client_cpu_us: float
    rps_by_round: list[float]
    errors: int


def rows(figures: list[Figures]) -> list[Row]:
    """The first scenario is the floor every other one is compared with."""
    floor = figures[0]
    result = []
    for fig in figures:
        rps, p50 = fig.rps, fig.p50
        result.append(
            Row(
                title=fig.scenario.title,
                rps=rps,
                p50=p50,
                p99=fig.p99,
                rps_ratio=rps / floor.rps if floor.rps else float("nan"),
                p50_ratio=p50 / floor.p50 if floor.p50 else float("nan"),
                added_us=(1e6 / rps - 1e6 / floor.rps) if rps and floor.rps else float("nan"),
                server_cpu_us=fig.server_cpu_us,
                server_busy=fig.server_busy,
                client_cpu_us=fig.client_cpu_us,
                rps_by_round=fig.rps_by_round,
                errors=fig.errors,
            )
        )
    return result


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _cores(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_table(console: Console, table_rows: list[Row], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name in ("scenario", "req/s", "p50 ms", "p99 ms", "req/s ÷ floor", "p50 ÷ floor"):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    for name in ("added µs/req", "server CPU µs/req", "server cores", "client CPU µs/req"):
        table.add_column(name, justify="right")
    table.add_column("errors", justify="right")
    for row in table_rows:
        table.add_row(
            row.title,
            f"{row.rps:,.0f}",
            f"{row.p50:.2f}",
            f"{row.p99:.2f}",
            f"{row.rps_ratio:.2f}",
            f"{row.p50_ratio:.2f}",
            f"{row.added_us:,.0f}",
            _us(row.server_cpu_us),
            _cores(row.server_busy),
            f"{row.client_cpu_us:,.0f}",
            f"[red]{row.errors}[/]" if row.errors else "0",
        )
    console.print(table)


def markdown_table(table_rows: list[Row]) -> str:
    lines = [
        "| scenario | req/s | p50 ms | p99 ms | req/s ÷ floor | p50 ÷ floor "
        "| added µs/req | server CPU µs/req | server cores | client CPU µs/req | req/s by round |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in table_rows:
        by_round = " / ".join(f"{x:,.0f}" for x in row.rps_by_round)
        lines.append(
            f"| {row.title} | {row.rps:,.0f} | {row.p50:.2f} | {row.p99:.2f} "
            f"| {row.rps_ratio:.2f} | {row.p50_ratio:.2f} | {row.added_us:,.0f} "
            f"| {_us(row.server_cpu_us)} | {_cores(row.server_busy)} "
            f"| {row.client_cpu_us:,.0f} | {by_round} |"
        )
    return "\n".join(lines)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def replace_section(document: str, name: str, section: str) -> str:
    """The document with the named section replaced (or appended), the rest untouched."""
    start, end = _markers(name)
    block = f"{start}\n{section.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _match: block, document, count=1)
    return document.rstrip("\n") + "\n\n" + block + "\n"


def write_section(name: str, section: str, path: Path = DOC_PATH) -> None:
    document = path.read_text() if path.exists() else DOC_INTRO
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_section(document, name, section))
