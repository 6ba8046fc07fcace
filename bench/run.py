"""The `python -m bench` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from bench import foundation
from bench.report import DOC_PATH, print_table, rows, write_section
from bench.servers import ServerFailed

BENCHMARKS = ("foundation", "jobbook")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="HTTP benchmarks of RPMA, each against its floor measured in the same "
        "run: `foundation` (command overhead against a bare FastAPI endpoint) and `jobbook` "
        "(the task commands on 100,000 tasks against the same SQL on sqlite3). Without a "
        "name, all of them.",
    )
    parser.add_argument(
        "benchmarks", nargs="*", metavar="BENCHMARK", help=f"one of {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--only", choices=BENCHMARKS, action="append", help="run only this benchmark"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="measured seconds per round (foundation), per query and level (jobbook)",
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, scenario order rotating")
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent connections (foundation)"
    )
    parser.add_argument(
        "--jobbook-connections",
        type=int,
        default=4,
        help="concurrent connections of the job book's queries",
    )
    parser.add_argument(
        "--bulk-runs", type=int, default=5, help="runs of the job book's export and import"
    )
    parser.add_argument(
        "--max-requests", type=int, default=2_000_000, help="cap on measured requests per round"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one round of 1 s per scenario, a job book of 5,000 tasks; "
        "does not touch the docs",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update the docs")
    parser.add_argument("--output", type=Path, default=DOC_PATH, help="the document to update")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.rounds, args.no_write = 1.0, 0.5, 1, True
    if args.seconds <= 0 or args.warmup < 0 or args.rounds < 1 or args.connections < 1:
        parser.error("--seconds and --rounds and --connections must be positive")
    if args.jobbook_connections < 1 or args.bulk_runs < 1:
        parser.error("--jobbook-connections and --bulk-runs must be positive")
    unknown = [name for name in args.benchmarks if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}: use {', '.join(BENCHMARKS)}")
    wanted = set(args.benchmarks) | set(args.only or ())
    args.selected = [name for name in BENCHMARKS if name in wanted] or list(BENCHMARKS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:
        # Piped into a log, rich would fold the table into 80 columns.
        console = Console(width=170)
    runners = {"foundation": run_foundation, "jobbook": run_jobbook}
    failed = 0
    for name in args.selected:
        if len(args.selected) > 1:
            console.rule(name)
        failed += runners[name](args, console)
    return 1 if failed else 0


def run_jobbook(args: argparse.Namespace, console: Console) -> int:
    # Imported here: it builds a whole workshop, which `foundation` alone does not need.
    from bench import jobbook, jobbook_report

    opts = jobbook.options(
        quick=args.quick,
        seconds=args.seconds,
        connections=args.jobbook_connections,
        bulk_runs=args.bulk_runs,
    )
    load = foundation.load_average()
    try:
        results = jobbook.run(opts, console)
    except (ServerFailed, jobbook.BenchFailed) as exc:
        console.print(f"[bold red]Job book benchmark failed:[/] {exc}")
        return 1
    jobbook_report.print_tables(console, results)
    if args.no_write:
        console.print("Docs left alone (--quick / --no-write).")
        return 0
    write_section(jobbook.SECTION, jobbook_report.section(results, load), args.output)
    console.print(f"Wrote the {jobbook.SECTION} section of {args.output}.")
    return 0


def run_foundation(args: argparse.Namespace, console: Console) -> int:
    settings = foundation.Settings(
        seconds=args.seconds,
        warmup=args.warmup,
        rounds=args.rounds,
        connections=args.connections,
        max_requests=args.max_requests,
    )
    load = foundation.load_average()
    if load > 1.0:
        console.print(
            f"[yellow]Load average {load:.2f} before the run: something else is busy, and the "
            "absolute figures will suffer (the ratios less so).[/]"
        )
    try:
        figures = foundation.run(settings, console)
    except (ServerFailed, foundation.BenchFailed) as exc:
        console.print(f"[bold red]Benchmark failed:[/] {exc}")
        return 1
    table = rows(figures)
    print_table(
        console, table, f"Foundation: HTTP command overhead, {args.connections} connections"
    )
    for fig in figures:
        if fig.client_busy > foundation.CLIENT_SATURATED:
            console.print(
                f"[yellow]The load generator used {fig.client_busy:.0%} of a core for "
                f"{fig.scenario.title}: it may have been the bottleneck.[/]"
            )
    errors = sum(fig.errors for fig in figures)
    if errors:
        console.print(f"[bold red]{errors} request(s) failed; the figures are not written.[/]")
        for fig in figures:
            for sample in fig.error_samples:
                console.print(f"  {fig.scenario.title}: {sample}", markup=False)
        return 1
    if args.no_write:
        console.print("Docs left alone (--quick / --no-write).")
        return 0
    write_section(
        foundation.SECTION, foundation.section(settings, figures, table, load), args.output
    )
    console.print(f"Wrote the {foundation.SECTION} section of {args.output}.")
    return 0
