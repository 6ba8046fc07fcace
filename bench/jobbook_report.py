"""The job book benchmark's figures: the console tables and its docs/PERFORMANCE.md
section."""

from __future__ import annotations

import statistics
import textwrap

from rich.console import Console
from rich.table import Table

from bench.foundation import machine
from bench.jobbook import (
    OPEN_STATUSES,
    SEARCH_WORD,
    BulkFigures,
    QueryFigures,
    Results,
    Timing,
    WhatIf,
    today,
)


def _ratio(value: float, floor: float) -> float:
    return value / floor if floor > 0 else float("nan")


def _median_s(timing: Timing) -> float:
    return statistics.median(timing.samples_ms) / 1000.0 if timing.samples_ms else float("nan")


def _worst_s(timing: Timing) -> float:
    return timing.worst / 1000.0


def _cpu(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _answer(fig: QueryFigures) -> str:
    size = f"{fig.answer_bytes / 1024:,.0f} KB"
    if fig.total is None:
        return f"{fig.rows:,} tasks counted, {size}"
    return f"{fig.rows} of {fig.total:,}, {size}"


QUERY_HEADERS = (
    "scenario",
    "answer",
    "SQL floor p50 ms",
    "in-process p50 ms",
    "HTTP p50 ms",
    "HTTP p99 ms",
    "HTTP req/s, 1 conn",
    "HTTP req/s, {n} conn",
    "failed, {n} conn",
    "floor CPU ms",
    "server CPU ms/req",
    "HTTP ÷ floor, p50",
    "HTTP ÷ floor, CPU",
)
BULK_HEADERS = (
    "scenario",
    "CSV MB",
    "SQL floor s",
    "in-process s",
    "HTTP s",
    "HTTP worst s",
    "HTTP rows/s",
    "HTTP MB/s",
    "floor CPU s",
    "server CPU s",
    "HTTP ÷ floor",
    "HTTP ÷ floor, CPU",
)


WHAT_IF_HEADERS = ("change", "now ms", "with it ms", "speed-up", "note")


def what_if_cells(change: WhatIf) -> list[str]:
    return [
        change.change,
        f"{change.before_ms:,.1f}",
        f"{change.after_ms:,.1f}",
        f"{_ratio(change.before_ms, change.after_ms):.1f}x",
        change.note,
    ]


def query_cells(fig: QueryFigures) -> list[str]:
    return [
        fig.query.title,
        _answer(fig),
        f"{fig.floor.p50:.2f}",
        f"{fig.inproc.p50:.2f}",
        f"{fig.http.p50:.2f}",
        f"{fig.http.p99:.2f}",
        f"{fig.http.rate:,.0f}",
        f"{fig.concurrent.rate:,.0f}",
        f"{fig.concurrent.errors} of {fig.concurrent.calls:,}",
        _cpu(fig.floor.cpu_ms),
        _cpu(fig.http.server_cpu_ms),
        f"{_ratio(fig.http.p50, fig.floor.p50):.1f}",
        _cpu_ratio(fig.http.server_cpu_ms, fig.floor.cpu_ms),
    ]


def _cpu_ratio(server: float | None, floor: float | None) -> str:
    return "n/a" if server is None or floor is None else f"{_ratio(server, floor):.1f}"


def bulk_cells(fig: BulkFigures) -> list[str]:
    http_s = _median_s(fig.http)
    cpu = (
        fig.http.server_cpu_s / fig.http.calls if fig.http.server_cpu_s and fig.http.calls else None
    )
    return [
        fig.title,
        f"{fig.payload_bytes / 1e6:.1f}",
        f"{_median_s(fig.floor):.2f}",
        f"{_median_s(fig.inproc):.2f}",
        f"{http_s:.2f}",
        f"{_worst_s(fig.http):.2f}",
        f"{fig.rows / http_s:,.0f}",
        f"{fig.http_bytes / 1e6 / http_s:.1f}",
        _cpu(_seconds(fig.floor.cpu_ms)),
        _cpu(cpu),
        f"{_ratio(http_s, _median_s(fig.floor)):.1f}",
        _cpu_ratio(cpu, _seconds(fig.floor.cpu_ms)),
    ]


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


def print_tables(console: Console, results: Results) -> None:
    n = results.options.connections
    queries = Table(title="Job book: task_crud queries", title_justify="left")
    for name in QUERY_HEADERS:
        queries.add_column(name.format(n=n), justify="left" if name == "scenario" else "right")
    for fig in results.queries:
        queries.add_row(*query_cells(fig))
    console.print(queries)
    bulk = Table(title="Job book: export and import", title_justify="left")
    for name in BULK_HEADERS:
        bulk.add_column(name, justify="left" if name == "scenario" else "right")
    for bfig in results.bulk:
        bulk.add_row(*bulk_cells(bfig))
    console.print(bulk)
    what_if = Table(title="Job book: what would help (SQL floor)", title_justify="left")
    for name in WHAT_IF_HEADERS:
        what_if.add_column(name, justify="left" if name in ("change", "note") else "right")
    for change in results.what_if:
        what_if.add_row(*what_if_cells(change))
    console.print(what_if)
    for fig in results.queries:
        console.print(
            f"[bold]{fig.query.title}[/]: {_parts(fig.profile.parts)}; "
            f"{_parts(fig.profile.functions)}"
        )
        for label, plan in fig.plans.items():
            console.print(f"  {label}: {plan}", markup=False)
    for bfig in results.bulk:
        if bfig.profile.parts:
            console.print(
                f"[bold]{bfig.title}[/]: {_parts(bfig.profile.parts)}; "
                f"{_parts(bfig.profile.functions)}"
            )


def _markdown(headers: tuple[str, ...], rows: list[list[str]], n: int) -> str:
    """Text columns (the first, and a note) to the left, figures to the right."""
    align = ["---" if i == 0 or h == "note" else "--:" for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(h.format(n=n) for h in headers) + " |",
        "|" + "|".join(align) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _parts(parts: list[tuple[str, float]], limit: int = 5, *, code: bool = False) -> str:
    shown = [
        f"`{name}` {share:.0%}" if code else f"{name} {share:.0%}"
        for name, share in parts[:limit]
        if share >= 0.01
    ]
    return ", ".join(shown) if shown else "n/a"


def _fill(paragraph: str) -> str:
    return textwrap.fill(
        " ".join(paragraph.split()), width=88, break_long_words=False, break_on_hyphens=False
    )


def _query_reading(fig: QueryFigures) -> str:
    floor, inproc, http = fig.floor.p50, fig.inproc.p50, fig.http.p50
    floor_cpu, server_cpu = fig.floor.cpu_ms, fig.http.server_cpu_ms
    text = (
        f"*{fig.query.title}*: the SQL takes {floor:.2f} ms, the handler in-process "
        f"{inproc:.2f} ms ({_ratio(inproc, floor):.1f}x) and the call over HTTP {http:.2f} ms "
        f"({_ratio(http, floor):.1f}x); the token check, the worker thread and HTTP add "
        f"{http - inproc:.2f} ms."
    )
    if floor_cpu is not None and server_cpu is not None:
        text += (
            f" In CPU time, the server spends {server_cpu:.2f} ms per call against the "
            f"floor's {floor_cpu:.2f} ms ({_ratio(server_cpu, floor_cpu):.1f}x)."
        )
    text += (
        f" In-process self time: {_parts(fig.profile.parts, 4)}; the heaviest functions: "
        f"{_parts(fig.profile.functions, 3, code=True)}."
    )
    if floor_cpu is not None and server_cpu is not None and _ratio(server_cpu, floor_cpu) < 2.0:
        text += (
            " The server adds little to this query: what time there is, is the SQL's "
            "(see its plan below, and what would help)."
        )
    uncovered = [
        plan
        for label, plan in fig.plans.items()
        if label.startswith("server")
        and "SCAN tasks USING INDEX" in plan
        and "COVERING" not in plan
    ]
    if uncovered and fig.query.plan is None:
        text += (
            f" {len(uncovered)} of its queries walk a whole index in order (`SCAN tasks USING "
            "INDEX`, not COVERING) and fetch the table row of every entry to test "
            "`deleted_at IS NULL`, which costs more than scanning the table."
        )
    return text


def _concurrency_reading(results: Results) -> str:
    n = results.options.connections
    scaling = [
        f"{fig.query.short} {_ratio(fig.concurrent.rate, fig.http.rate):.2f}x"
        for fig in results.queries
    ]
    text = (
        f"With {n} connections instead of one, the rate changes by "
        f"{', '.join(scaling)} (one server process, {results.workers} worker threads, "
        f"on a machine whose cores the load generator shares)."
    )
    if results.task_crud_writes:
        text += (
            " `task_crud` is registered as a writing command for all its actions, so on "
            "SQLite every List and Statistics opens its transaction with BEGIN IMMEDIATE "
            "and holds the database's write lock while it reads: concurrent reads queue "
            "behind each other, and behind any writer, where WAL would let them run side "
            "by side."
        )
    for fig in results.queries:
        if not fig.concurrent.errors:
            continue
        sample = fig.concurrent.error_samples[0] if fig.concurrent.error_samples else "?"
        text += (
            f" **{fig.concurrent.errors} of {fig.concurrent.calls:,} {fig.query.title} calls "
            f"failed with {n} connections** (`{sample[:120]}`)."
        )
        if results.task_crud_writes:
            text += (
                f" Each call holds the write lock for about {fig.http.p50:.0f} ms; the "
                "others wait in SQLite's busy handler, which polls rather than queues, and "
                "one that has not had the lock within the busy timeout (5 s by default) "
                "gets `database is locked`, which the dispatcher answers as a 500 "
                "`DATABASE_CONNECTION` (reproduced in-process with four threads)."
            )
    return text


def _bulk_reading(fig: BulkFigures) -> str:
    floor, inproc, http = _median_s(fig.floor), _median_s(fig.inproc), _median_s(fig.http)
    text = (
        f"*{fig.title}*: the floor takes {floor:.2f} s, the handler in-process "
        f"{inproc:.2f} s ({_ratio(inproc, floor):.1f}x) and HTTP {http:.2f} s "
        f"({_ratio(http, floor):.1f}x, {fig.rows / http:,.0f} rows/s)."
    )
    if fig.key == "export":
        text += (
            f" The CSV is {fig.payload_bytes / 1e6:.1f} MB and travels as one JSON string "
            f"in the envelope, {fig.http_bytes / 1e6:.1f} MB on the wire without gzip."
        )
    if fig.key == "import":
        text += f" The request carries {fig.http_bytes / 1e6:.1f} MB of JSON."
    if fig.note:
        text += f" {fig.note}."
    slow = [
        (ms / 1000.0, cpu)
        for ms, cpu in zip(fig.http.samples_ms, fig.http.cpu_runs_s, strict=False)
        if cpu is not None and ms / 1000.0 > 1.5 * http and ms / 1000.0 > cpu + 1.0
    ]
    for wall, cpu in slow:
        text += (
            f" One run took {wall:.1f} s while the server spent {cpu:.1f} s of CPU on it: "
            "it waited (for the disk or for a core of a busy machine), it did not compute."
        )
    if fig.profile.parts:
        text += (
            f" In-process self time: {_parts(fig.profile.parts, 5)}; the heaviest "
            f"functions: {_parts(fig.profile.functions, 3, code=True)}."
        )
    return text


def section(results: Results, load: float) -> str:
    opts, built, info = results.options, results.built, machine()
    n = opts.connections
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(built.by_status.items()))
    machine_line = f"""
        Measured {today()} on {info["cpus"]} CPUs ({info["cpu"]}), {info["os"]}, Python
        {info["python"]}; {info["stack"]}; SQLite. One-minute load average before the run:
        {load:.2f}, after it: {results.load_after:.2f}.
    """
    if load > 1.0:  # after the run, the load counts the benchmark's own processes
        machine_line += """
            Something else kept the machine busy during the run: the wall-clock figures
            (latencies, rates, seconds) suffer from it, the CPU columns much less.
        """
    dataset = f"""
        **Dataset.** {built.tasks:,} tasks, {len(built.clients):,} clients and
        {len(built.technicians)} technicians spread over {opts.size.days_back} days back and
        {opts.size.days_ahead} ahead ({statuses}), written by `rpma.demo.build_demo` (seed
        {opts.size.seed}) in bulk through the models into a freshly migrated SQLite database
        before the server starts: {built.seconds:.1f} s (migrations and the first account
        included), {results.database_mb:.0f} MB. `build_demo` stamps every task with the
        same `created_at`, the instant it runs; the list's default order is newest first
        (`created_at`, then `task_number`), and with one shared `created_at` SQLite would
        sort the whole table for the tie-break on every unfiltered page. So the benchmark
        then gives each task an instant on the day of its task number (one UPDATE,
        {built.spread_seconds:.1f} s, most of it the FTS5 trigger re-indexing every row),
        as a real job book has.
    """
    method = f"""
        **Method.** `python -m bench jobbook` measures each scenario at four levels on the
        same database file in one run. *SQL floor*: the same question as hand-written SQL
        on a bare `sqlite3` connection with the server's pragmas (bench/jobbook_sql.py):
        for List the COUNT and the page (same WHERE, the FTS5 match `tasks_fts MATCH
        '"{SEARCH_WORD}"*'` for the search, ORDER BY created_at DESC, task_number DESC,
        LIMIT 20) in one read transaction; for Statistics the three GROUP BY queries and
        the one-pass time figures; for the export a plain SELECT of the same rows and
        columns written with the csv module into memory; for the import the CSV parsed
        with the csv module and executemany INSERTs of the tasks and their history rows
        in one transaction. *in-process*: the command's handler called in the benchmark's
        process with a session as the dispatcher opens it, then the envelope's JSON (no
        token check, no worker thread, no HTTP). *HTTP*: the real server (`rpma.asgi:app`,
        uvicorn with the options of bench/servers.py, rate limits off) with the first
        account's admin token, loaded by bench/loadgen.py with one connection and then
        with {n} ({opts.warmup:g} s warm-up, {opts.seconds:g} s measured each, longer for
        a query too slow for 20 answers in that time); the
        export and the import are sent {opts.bulk_runs} time(s) each with httpx and timed
        to the last byte of the answer (*HTTP s* is the median). *floor CPU* is the
        benchmark thread's CPU time per floor call (`time.thread_time`), *server CPU* the
        server process's CPU time (all its threads, from /proc) per HTTP call, and *HTTP ÷
        floor, CPU* divides the two: on a busy machine, where wall-clock figures move by up
        to 2x from one run to the next, it is the steadier ratio. Every import run is taken
        out again, so each one starts from the same dataset. The server's answer is
        checked against the floor's (same total and page size; every row exported; every
        row imported). The List scenario
        is a technician's open jobs: status {" + ".join(OPEN_STATUSES)}, one technician,
        search "{SEARCH_WORD}", 20 per page. Self time by library comes from cProfile
        around the in-process call (it inflates Python against C, so read the shares
        loosely). SQLite only: PostgreSQL is not measured here.
    """  # noqa: S608 - prose, not SQL
    what_if = f"""
        **What would help.** Measured at the end of the run on the SQL floor, on the run's
        own copy of the database once the server has stopped ({opts.seconds / 2:g} s
        each, p50; the gzip rows one call each on the export's answer). These are
        candidates for the tasks domain, not changes the server has.
    """
    parts = [
        "## Job book: task commands on a large workshop",
        _fill(machine_line),
        _fill(dataset),
        _fill(method),
        _markdown(QUERY_HEADERS, [query_cells(f) for f in results.queries], n),
        _markdown(BULK_HEADERS, [bulk_cells(f) for f in results.bulk], n),
        "**Reading.**",
        *(_fill(_query_reading(f)) for f in results.queries),
        _fill(_concurrency_reading(results)),
        *(_fill(_bulk_reading(f)) for f in results.bulk),
        _fill(what_if),
        _markdown(WHAT_IF_HEADERS, [what_if_cells(c) for c in results.what_if], n),
        "**Query plans** (SQLite's EXPLAIN QUERY PLAN of the floor's statements and of the "
        "ones the server sent):",
        "\n".join(
            f"* {fig.query.title}, {label}: `{plan}`"
            for fig in results.queries
            for label, plan in fig.plans.items()
        ),
    ]
    return "\n\n".join(parts) + "\n"
