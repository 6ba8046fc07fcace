"""Export formats on a large report: `python -m bench.exports` (`--help` for the knobs).

A synthetic ReportDocument shaped like a year of a busy shop (a line chart over 365
days, bars for 25 technicians, a status pie, a technician table and one row per task)
is rendered to PDF, CSV and Excel in this process, each several times; the figures are
the median wall time, the peak memory the renderer allocated (tracemalloc) and the file
size. The floor is the cheapest way to write the same rows: `csv.writer` over `str()` of
each value, no formatting, no neutralisation. Results go to the console and to the
"exports" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import BinaryIO

from rich.console import Console
from rich.table import Table as RichTable

from bench.report import write_section
from rpma.domains.reports.document import (
    CellValue,
    Chart,
    Column,
    Metric,
    ReportDocument,
    Series,
    Table,
)
from rpma.domains.reports.render_csv import render_csv
from rpma.domains.reports.render_pdf import render_pdf
from rpma.domains.reports.render_xlsx import render_xlsx

SECTION = "exports"
STATUSES = ("completed", "completed", "completed", "in_progress", "scheduled", "cancelled")
TITLES = ("Full front PPF", "Hood and fenders", "Full body satin", "Headlights", "Rocker panels")


def busy_year(rows: int, seed: int = 7) -> ReportDocument:
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    days = [start + timedelta(days=i) for i in range(365)]
    techs = [f"Technician {i:02d}" for i in range(25)]
    tasks: list[list[CellValue]] = [
        [
            f"2025{i:07d}",
            rng.choice(TITLES),
            f"Client {rng.randint(1, 5000):05d}",
            rng.choice(techs),
            rng.choice(days),
            rng.choice(STATUSES),
            rng.randint(30, 900),
            round(rng.uniform(150, 4500), 2),
        ]
        for i in range(rows)
    ]
    return ReportDocument(
        report_type="TaskCompletion",
        title="Task completion",
        company="Benchmark PPF Studio",
        period_start=days[0],
        period_end=days[-1],
        generated_at=datetime(2026, 1, 1, tzinfo=UTC),
        summary=[
            Metric("Tasks", rows),
            Metric("Completion rate", 66.7, "percent"),
            Metric("Average duration", 465, "minutes"),
            Metric("Value", 23_000_000.0, "money"),
        ],
        charts=[
            Chart(
                "Tasks per day",
                "line",
                [d.strftime("%d %b") for d in days],
                [Series("Tasks", [float(rng.randint(100, 400)) for _ in days])],
            ),
            Chart(
                "Completed by technician",
                "bar",
                techs,
                [Series("Completed", [float(rng.randint(2000, 4000)) for _ in techs])],
            ),
            Chart(
                "Tasks by status",
                "pie",
                list(dict.fromkeys(STATUSES)),
                [Series("Tasks", [66.0, 17.0, 10.0, 7.0])],
            ),
        ],
        tables=[
            Table(
                "By technician",
                [
                    Column("t", "Technician"),
                    Column("n", "Completed", "int"),
                    Column("r", "On-time rate", "percent"),
                ],
                [[t, rng.randint(2000, 4000), rng.uniform(70, 99)] for t in techs],
            ),
            Table(
                "Tasks",
                [
                    Column("number", "Task"),
                    Column("title", "Title"),
                    Column("client", "Client"),
                    Column("technician", "Technician"),
                    Column("date", "Scheduled", "date"),
                    Column("status", "Status"),
                    Column("duration", "Duration", "minutes"),
                    Column("value", "Value", "money"),
                ],
                tasks,
            ),
        ],
    )


def floor_csv(document: ReportDocument, target: BinaryIO) -> None:
    text = io.TextIOWrapper(target, encoding="utf-8", newline="")
    writer = csv.writer(text)
    for table in document.tables:
        writer.writerow([c.title for c in table.columns])
        writer.writerows([str(v) for v in row] for row in table.rows)
    text.flush()
    text.detach()


@dataclass(frozen=True)
class Measured:
    name: str
    rows: int
    median_s: float
    peak_mib: float
    size_bytes: int


def measure(
    name: str,
    render: Callable[[ReportDocument, BinaryIO], None],
    document: ReportDocument,
    repeat: int,
) -> Measured:
    times = []
    peak = size = 0
    for round_number in range(repeat):
        buffer = io.BytesIO()
        if round_number == 0:  # memory once (tracemalloc slows the run it watches)
            tracemalloc.start()
            render(document, buffer)
            peak = tracemalloc.get_traced_memory()[1] - len(buffer.getbuffer())
            tracemalloc.stop()
            size = len(buffer.getvalue())
            continue
        started = time.perf_counter()
        render(document, buffer)
        times.append(time.perf_counter() - started)
    rows = sum(len(t.rows) for t in document.tables)
    return Measured(name, rows, statistics.median(times), max(peak, 0) / 2**20, size)


def section(results: list[Measured], repeat: int) -> str:
    lines = [
        "## Exports",
        "",
        "`python -m bench.exports` renders a synthetic year of a busy shop (365-day line "
        "chart, 25 technicians, one row per task) in this process; median of "
        f"{repeat - 1} timed runs after one run measured for memory. Floor: `csv.writer` "
        "over `str()` of the same rows. Peak memory is what the renderer allocated beyond "
        "the finished file (tracemalloc).",
        "",
        "| Format | Rows | Median | Ratio to floor | Rows/s | Peak memory | File size |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    floors = {m.rows: m.median_s for m in results if m.name == "floor (csv module)"}
    for m in results:
        ratio = m.median_s / floors[m.rows] if m.rows in floors else float("nan")
        lines.append(
            f"| {m.name} | {m.rows:,} | {m.median_s * 1000:,.0f} ms | {ratio:,.1f} | "
            f"{m.rows / m.median_s:,.0f} | {m.peak_mib:,.1f} MiB | "
            f"{m.size_bytes / 2**20:,.2f} MiB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="task rows for every format")
    parser.add_argument(
        "--large-rows", type=int, default=100_000, help="task rows for CSV and Excel only (0: skip)"
    )
    parser.add_argument("--repeat", type=int, default=4, help="runs per format (first: memory)")
    parser.add_argument("--no-write", action="store_true", help="leave PERFORMANCE.md alone")
    args = parser.parse_args()
    formats: list[tuple[str, Callable[[ReportDocument, BinaryIO], None]]] = [
        ("floor (csv module)", floor_csv),
        ("CSV", render_csv),
        ("Excel", render_xlsx),
        ("PDF", render_pdf),
    ]
    results = []
    console = Console()
    for rows, chosen in ((args.rows, formats), (args.large_rows, formats[:3])):
        if rows <= 0:
            continue
        document = busy_year(rows)
        for name, render in chosen:
            console.print(f"{name}: {rows:,} rows…")
            results.append(measure(name, render, document, max(args.repeat, 2)))
    table = RichTable("Format", "Rows", "Median", "Peak MiB", "Size MiB")
    for m in results:
        table.add_row(
            m.name,
            f"{m.rows:,}",
            f"{m.median_s * 1000:,.0f} ms",
            f"{m.peak_mib:,.1f}",
            f"{m.size_bytes / 2**20:,.2f}",
        )
    console.print(table)
    if not args.no_write:
        write_section(SECTION, section(results, max(args.repeat, 2)))


if __name__ == "__main__":
    main()
