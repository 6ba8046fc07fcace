"""Job book: the task commands on a workshop of 100,000 tasks and 10,000 clients.

`task_crud` List (two filters and a search; and no filter) and Statistics, the export
of every task (`export_tasks_csv`) and the import of a 10,000-row CSV
(`import_tasks_bulk`), each measured at four levels in one run:

* **SQL floor**: the same question asked of the same database file with the bare
  `sqlite3` module (bench/jobbook_sql.py);
* **in-process**: the command's handler called directly in this process, with a session
  and the JSON of its envelope, but no HTTP, no token check and no worker thread;
* **HTTP**: the real server (`rpma.asgi:app` under uvicorn, as bench/servers.py starts
  it) on that database, one request at a time, and for the queries also with a few
  connections at once.

The dataset is written before the server starts, in bulk through the models
(`rpma.demo.build_demo`), deterministic for its seed.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import re
import secrets
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from gzip import compress as gzip_compress
from pathlib import Path
from typing import Any, Final, cast

import httpx
from rich.console import Console
from sqlalchemy import event

from bench import loadgen
from bench.jobbook_sql import (
    Built,
    ListQuery,
    SqliteFloor,
    build_dataset,
    import_csv_text,
)
from bench.servers import HOST, Server, uvicorn_server
from rpma.app import build_services
from rpma.config import Settings as RpmaSettings
from rpma.core import envelope
from rpma.core.commands import registry
from rpma.core.context import ClientInfo, CommandContext, Principal
from rpma.core.permissions import Role
from rpma.core.services import Services
from rpma.demo import DemoSize

SECTION: Final = "jobbook"
OWNER: Final = {
    "email": "owner@jobbook.example",
    "first_name": "Olive",
    "last_name": "Owner",
    "password": "Workshop-Boss-2024",
}
FULL_SIZE: Final = DemoSize(
    technicians=20, clients=10_000, tasks=100_000, days_back=600, days_ahead=60, seed=42
)
QUICK_SIZE: Final = DemoSize(
    technicians=5, clients=500, tasks=5_000, days_back=600, days_ahead=60, seed=42
)
SEARCH_WORD: Final = "tesla"
OPEN_STATUSES: Final = ("scheduled", "in_progress")
HTTP_TIMEOUT_S: Final = 600.0


class BenchFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Options:
    size: DemoSize
    import_rows: int
    seconds: float  # measured seconds per query and level
    warmup: float
    connections: int  # the concurrent level of the queries
    bulk_runs: int  # runs of the export and the import per level
    profile_seconds: float


def options(*, quick: bool, seconds: float, connections: int, bulk_runs: int) -> Options:
    if quick:
        return Options(QUICK_SIZE, 1_000, 1.0, 0.3, connections, 1, 0.3)
    return Options(FULL_SIZE, 10_000, seconds, 1.0, connections, bulk_runs, 2.0)


# Figures ------------------------------------------------------------------------------------
@dataclass
class Timing:
    """Latencies in ms of one level; ``window_s`` is the wall time they were taken in."""

    samples_ms: list[float] = field(default_factory=list)
    window_s: float = 0.0
    server_cpu_s: float | None = None
    calls: int = 0  # warm-up included, for the server's CPU per call
    failed: int = 0  # failed answers among the samples
    errors: int = 0  # failed answers, warm-up included
    error_samples: list[str] = field(default_factory=list)
    cpu_runs_s: list[float | None] = field(default_factory=list)  # one a run (bulk)
    own_cpu_s: float = 0.0  # this thread's CPU over the measured calls (floor, in-process)

    def _sorted(self) -> list[float]:
        return sorted(self.samples_ms)

    @property
    def p50(self) -> float:
        return loadgen.percentile(self._sorted(), 0.50)

    @property
    def p99(self) -> float:
        return loadgen.percentile(self._sorted(), 0.99)

    @property
    def worst(self) -> float:
        return max(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def rate(self) -> float:
        """Successful answers per second."""
        ok = len(self.samples_ms) - self.failed
        return ok / self.window_s if self.window_s > 0 else float("nan")

    @property
    def cpu_ms(self) -> float | None:
        """CPU per call: this thread's for the floor and in-process, else the server's."""
        if self.own_cpu_s > 0 and self.samples_ms:
            return self.own_cpu_s / len(self.samples_ms) * 1000.0
        return self.server_cpu_ms

    @property
    def server_cpu_ms(self) -> float | None:
        if self.server_cpu_s is None or not self.calls:
            return None
        return self.server_cpu_s / self.calls * 1000.0


@dataclass(frozen=True)
class Query:
    key: str
    title: str
    short: str
    args: dict[str, Any]  # task_crud's arguments, without the token
    floor: Callable[[SqliteFloor], int]
    plan: ListQuery | None = None  # the List's filters, for the query plans


@dataclass(frozen=True)
class Profile:
    """Shares of the self time, by library and by the heaviest functions."""

    parts: list[tuple[str, float]]
    functions: list[tuple[str, float]]


NO_PROFILE: Final = Profile([], [])


@dataclass
class QueryFigures:
    query: Query
    floor: Timing
    inproc: Timing
    http: Timing
    concurrent: Timing
    rows: int
    total: int | None
    answer_bytes: int
    profile: Profile
    plans: dict[str, str]


@dataclass
class BulkFigures:
    key: str
    title: str
    rows: int
    floor: Timing
    inproc: Timing
    http: Timing
    http_bytes: int  # the answer (export) or the request (import) on the wire
    payload_bytes: int  # the CSV text, UTF-8
    profile: Profile
    note: str = ""


@dataclass(frozen=True)
class WhatIf:
    change: str
    before_ms: float
    after_ms: float
    note: str = ""


@dataclass
class Results:
    options: Options
    built: Built
    database_mb: float
    queries: list[QueryFigures]
    bulk: list[BulkFigures]
    task_crud_writes: bool
    workers: int
    what_if: list[WhatIf]
    load_after: float


# Measuring ----------------------------------------------------------------------------------
# A slow query (Statistics takes half a second) gets a longer window, not fewer samples.
MIN_SAMPLES: Final = 20


def _timed_loop(call: Callable[[], object], warmup: float, seconds: float) -> Timing:
    clock = time.perf_counter
    began = clock()
    while clock() - began < warmup:
        call()
    timing = Timing()
    start = clock()
    cpu_began = time.thread_time()
    while len(timing.samples_ms) < MIN_SAMPLES or clock() - start < seconds:
        t0 = clock()
        call()
        timing.samples_ms.append((clock() - t0) * 1000.0)
    timing.window_s = clock() - start
    timing.own_cpu_s = time.thread_time() - cpu_began
    return timing


def _timed_runs(call: Callable[[], object], runs: int, *, after: Callable[[], object]) -> Timing:
    """``runs`` timed calls, each followed by an untimed ``after`` (an undo)."""
    timing = Timing()
    for _ in range(runs):
        t0, cpu0 = time.perf_counter(), time.thread_time()
        call()
        elapsed = time.perf_counter() - t0
        timing.own_cpu_s += time.thread_time() - cpu0
        timing.samples_ms.append(elapsed * 1000.0)
        timing.window_s += elapsed
        after()
    return timing


_PARTS: Final = (
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/pydantic", "pydantic"),
    ("/json/", "json"),
    ("/rpma/", "rpma"),
    ("/csv.py", "csv"),
    ("/bench/", "bench"),
)


def _part(filename: str, function: str) -> str:
    """Which library a profiled function belongs to (C functions by their type)."""
    if filename == "~":
        for needle, name in (
            ("sqlite3", "sqlite3 (C)"),
            ("pydantic_core", "pydantic"),
            ("_json", "json"),
            ("_csv", "csv"),
        ):
            if needle in function:
                return name
        return "builtins"
    for needle, name in _PARTS:
        if needle in filename:
            return name
    return "other Python"


_C_METHOD: Final = re.compile(r"<method '(\w+)' of '([\w.]+)' objects>")
_C_FUNCTION: Final = re.compile(r"<built-in method ([\w.]+)>")


def _function_name(filename: str, function: str) -> str:
    """``module.function`` for Python code, ``type.method`` for C."""
    if filename == "~":
        method = _C_METHOD.fullmatch(function)
        if method:
            return f"{method.group(2)}.{method.group(1)}"
        builtin = _C_FUNCTION.fullmatch(function)
        return builtin.group(1) if builtin else function
    return f"{Path(filename).stem}.{function}"


def profile_parts(call: Callable[[], object], seconds: float) -> Profile:
    """Self time by library and by function over repeated calls, as shares of the total
    (cProfile)."""
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    try:
        call()
        while time.perf_counter() - began < seconds:
            call()
    finally:
        profiler.disable()
    raw = cast(
        dict[tuple[str, int, str], tuple[int, int, float, float, Any]],
        pstats.Stats(profiler).stats,  # type: ignore[attr-defined]
    )
    parts: dict[str, float] = defaultdict(float)
    functions: dict[str, float] = defaultdict(float)
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        if "_lsprof" in function or "disable" in function:
            continue
        parts[_part(filename, function)] += tottime
        functions[_function_name(filename, function)] += tottime
    total = sum(parts.values()) or 1.0

    def shares(times: dict[str, float], limit: int) -> list[tuple[str, float]]:
        ranked = sorted(times.items(), key=lambda item: -item[1])[:limit]
        return [(name, t / total) for name, t in ranked]

    return Profile(shares(parts, 10), shares(functions, 5))


class InProcess:
    """The command handlers called in this process on the server's database, as the
    dispatcher calls them (one session, BEGIN IMMEDIATE for a writing command), then the
    envelope's JSON; no token check, no worker thread, no HTTP."""

    def __init__(self, data_dir: Path, principal: Principal) -> None:
        self.services: Services = build_services(
            RpmaSettings(data_dir=data_dir, database_url=None), migrate=False
        )
        self.principal = principal

    def close(self) -> None:
        self.services.db.dispose()

    def call(self, name: str, args: dict[str, Any]) -> bytes:
        cmd = registry.get(name)
        if cmd is None:
            raise BenchFailed(f"no command {name}")
        with self.services.db.session(write=cmd.writes_for(args.get("action"))) as db:
            ctx = CommandContext(
                db=db,
                services=self.services,
                client=ClientInfo(transport="bench"),
                correlation_id="req_bench",
                principal=self.principal,
            )
            result = cmd.handler(ctx, cmd.request.model_validate(args))
            db.commit()
        body = envelope.success(envelope.to_plain(result), "req_bench")
        return envelope.dumps_json(envelope.json_safe(body))

    @contextmanager
    def statements(self) -> Iterator[list[tuple[str, Any]]]:
        """The SQL the handlers send, with its parameters, while inside the block."""
        seen: list[tuple[str, Any]] = []

        def record(*args: Any) -> None:
            seen.append((args[2], args[3]))

        engine = self.services.db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", record)


class Http:
    def __init__(self, server: Server, token: str) -> None:
        self.server = server
        self.token = token
        self.client = httpx.Client(timeout=HTTP_TIMEOUT_S)

    def close(self) -> None:
        self.client.close()

    def body(self, args: dict[str, Any]) -> bytes:
        return json.dumps({**args, "session_token": self.token}).encode()

    def post(
        self, command: str, content: bytes, *, gzip: bool = False
    ) -> tuple[float, httpx.Response, Any]:
        """(seconds to the last byte of the answer, the answer, its envelope's data)."""
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "gzip" if gzip else "identity",
        }
        url = f"{self.server.base_url}/ipc/{command}"
        began = time.perf_counter()
        answer = self.client.post(url, content=content, headers=headers)
        elapsed = time.perf_counter() - began
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or not body.get("success"):
            raise BenchFailed(f"{command} answered HTTP {answer.status_code}: {answer.text[:800]}")
        return elapsed, answer, body["data"]

    def runs(
        self,
        command: str,
        content: bytes,
        count: int,
        *,
        gzip: bool = False,
        check: Callable[[Any], None] = lambda _data: None,
        after: Callable[[], object] = lambda: None,
    ) -> tuple[Timing, httpx.Response]:
        """``count`` calls one after the other, each timed with the server's CPU for it,
        checked, then followed by an untimed ``after``."""
        timing = Timing(calls=count)
        answer: httpx.Response | None = None
        for _ in range(count):
            cpu_before = self.server.cpu_seconds()
            elapsed, answer, data = self.post(command, content, gzip=gzip)
            cpu_after = self.server.cpu_seconds()
            check(data)
            after()
            timing.samples_ms.append(elapsed * 1000.0)
            timing.window_s += elapsed
            cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
            timing.cpu_runs_s.append(cpu)
        spent = [c for c in timing.cpu_runs_s if c is not None]
        timing.server_cpu_s = sum(spent) if len(spent) == count else None
        assert answer is not None
        return timing, answer

    def load(
        self,
        command: str,
        args: dict[str, Any],
        opts: Options,
        connections: int,
        *,
        seconds: float,
        tolerate_errors: bool = False,
    ) -> Timing:
        """Latencies under load; with ``tolerate_errors`` failed answers are counted (and
        left out of the rate) instead of failing the run."""
        spec = loadgen.LoadSpec(
            host=HOST,
            port=self.server.port,
            request=loadgen.build_request(
                HOST, self.server.port, f"/ipc/{command}", self.body(args)
            ),
            connections=connections,
            warmup_s=opts.warmup,
            duration_s=seconds,
        )
        cpu_before = self.server.cpu_seconds()
        result = loadgen.measure(spec)
        cpu_after = self.server.cpu_seconds()
        if result.errors and not tolerate_errors:
            raise BenchFailed(f"{command}: {result.errors} failed: {result.error_samples[:3]}")
        timing = Timing(list(result.latencies_ms), result.elapsed_s, calls=result.total_requests)
        timing.failed = sum(n for status, n in result.statuses.items() if status != 200)
        timing.errors = result.errors
        timing.error_samples = result.error_samples
        if cpu_before is not None and cpu_after is not None:
            timing.server_cpu_s = cpu_after - cpu_before
        return timing


def _server_env(data_dir: Path) -> dict[str, str]:
    # Nothing RPMA_* from the caller's shell reaches the measured server.
    env = {key: value for key, value in os.environ.items() if not key.startswith("RPMA_")}
    return env | {
        "RPMA_DATA_DIR": str(data_dir),
        "RPMA_RATE_LIMITS_ENABLED": "false",
        "RPMA_SECRET_KEY": secrets.token_urlsafe(48),
    }


def _queries(technician_id: str) -> list[Query]:
    filtered = ListQuery(OPEN_STATUSES, technician_id, SEARCH_WORD)
    everything = ListQuery()
    page = {"page": 1, "page_size": 20}
    return [
        Query(
            "list_filtered",
            f"List: status {'+'.join(OPEN_STATUSES)}, one technician, search '{SEARCH_WORD}'",
            "the filtered List",
            {
                "action": "List",
                "filters": {
                    "status": list(OPEN_STATUSES),
                    "technician_id": technician_id,
                    "search": SEARCH_WORD,
                },
                "pagination": page,
            },
            lambda floor: floor.list_page(filtered)[1],
            filtered,
        ),
        Query(
            "list_all",
            "List: no filter (first page of all)",
            "the unfiltered List",
            {"action": "List", "pagination": page},
            lambda floor: floor.list_page(everything)[1],
            everything,
        ),
        Query(
            "statistics",
            "Statistics (no filter)",
            "Statistics",
            {"action": "Statistics"},
            lambda floor: floor.statistics(),
        ),
    ]


def _measure_query(
    query: Query,
    *,
    floor: SqliteFloor,
    inproc: InProcess,
    http: Http,
    opts: Options,
    console: Console,
) -> QueryFigures:
    console.print(f"  {query.title}")
    # One checked call first: the server and the floor must agree on what they answer.
    _, answer, data = http.post("task_crud", http.body(query.args))
    rows, total = 0, None
    if query.plan is not None:
        total = int(data["pagination"]["total"])
        rows = len(data["tasks"])
        floor_total, floor_rows = floor.list_page(query.plan)
        if (floor_total, floor_rows) != (total, rows):
            raise BenchFailed(
                f"{query.key}: the server answered {rows} of {total}, "
                f"the floor {floor_rows} of {floor_total}"
            )
    else:
        rows = int(data["statistics"]["total"])
    plans: dict[str, str] = {}
    if query.plan is not None:
        count_sql, page_sql, params = query.plan.sql(20)
        plans["floor: count"] = floor.plan(count_sql, params)
        plans["floor: page"] = floor.plan(page_sql, params)
    with inproc.statements() as seen:
        inproc.call("task_crud", query.args)
    selects = [(s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT")]
    for index, (statement, params_seen) in enumerate(selects, 1):
        if query.plan is not None and len(selects) == 2:
            label = "server: count" if "count(" in statement.lower() else "server: page"
        else:
            label = f"server: query {index}"
        plans[label] = floor.plan(statement, params_seen)
    floor_timing = _timed_loop(lambda: query.floor(floor), opts.warmup, opts.seconds)
    inproc_timing = _timed_loop(
        lambda: inproc.call("task_crud", query.args), opts.warmup, opts.seconds
    )
    profile = profile_parts(lambda: inproc.call("task_crud", query.args), opts.profile_seconds)
    # Long enough for MIN_SAMPLES answers one at a time (the in-process p50 says how long).
    window = max(opts.seconds, MIN_SAMPLES * inproc_timing.p50 / 1000.0)
    http_timing = http.load("task_crud", query.args, opts, 1, seconds=window)
    # Under concurrency a failed answer is a finding to report, not a reason to stop.
    concurrent = http.load(
        "task_crud", query.args, opts, opts.connections, seconds=window, tolerate_errors=True
    )
    if concurrent.errors:
        console.print(
            f"[red]  {concurrent.errors} failed answer(s) with {opts.connections} connections, "
            f"e.g. {concurrent.error_samples[0][:300]}[/]"
        )
    return QueryFigures(
        query,
        floor_timing,
        inproc_timing,
        http_timing,
        concurrent,
        rows,
        total,
        len(answer.content),
        profile,
        plans,
    )


def _export(
    floor: SqliteFloor, inproc: InProcess, http: Http, opts: Options, console: Console
) -> tuple[list[BulkFigures], bytes]:
    """The export's figures, and its answer as sent without gzip."""
    console.print("  export_tasks_csv, every task")
    expected = floor.count_tasks()
    content = http.body({})
    _, answer, data = http.post("export_tasks_csv", content)
    lines = data.count("\r\n") - 1
    if lines != expected:
        raise BenchFailed(f"export_tasks_csv gave {lines} rows, the database has {expected}")
    csv_bytes = len(data.encode())
    floor_timing = _timed_runs(floor.export_csv, opts.bulk_runs, after=lambda: None)
    inproc_timing = _timed_runs(
        lambda: inproc.call("export_tasks_csv", {}), opts.bulk_runs, after=lambda: None
    )
    profile = profile_parts(lambda: inproc.call("export_tasks_csv", {}), 0.0)
    plain, answer = http.runs("export_tasks_csv", content, opts.bulk_runs)
    gzipped, gzip_answer = http.runs("export_tasks_csv", content, opts.bulk_runs, gzip=True)
    wire = {False: answer.num_bytes_downloaded, True: gzip_answer.num_bytes_downloaded}
    figures = [
        BulkFigures(
            "export",
            f"export_tasks_csv: {expected:,} rows",
            expected,
            floor_timing,
            inproc_timing,
            plain,
            wire[False],
            csv_bytes,
            profile,
        ),
        BulkFigures(
            "export_gzip",
            f"export_tasks_csv: {expected:,} rows, Accept-Encoding: gzip",
            expected,
            floor_timing,
            inproc_timing,
            gzipped,
            wire[True],
            csv_bytes,
            NO_PROFILE,
            note=f"{wire[True] / 1e6:.1f} MB on the wire",
        ),
    ]
    return figures, answer.content


def _import(
    *,
    floor: SqliteFloor,
    inproc: InProcess,
    http: Http,
    built: Built,
    opts: Options,
    console: Console,
) -> BulkFigures:
    console.print(f"  import_tasks_bulk, {opts.import_rows:,} rows")
    csv_text = import_csv_text(opts.import_rows, built.clients, built.technicians)
    args = {"csv_data": csv_text, "update_existing": False}
    content = http.body(args)
    mark = floor.max_rowid()

    def undo() -> None:
        floor.remove_since(mark)

    floor_runs = iter(range(1, opts.bulk_runs + 1))
    floor_timing = _timed_runs(
        lambda: floor.import_csv(csv_text, next(floor_runs)), opts.bulk_runs, after=undo
    )
    inproc_timing = _timed_runs(
        lambda: inproc.call("import_tasks_bulk", args), opts.bulk_runs, after=undo
    )
    profile = profile_parts(lambda: inproc.call("import_tasks_bulk", args), 0.0)
    undo()

    def check(data: Any) -> None:
        if data["imported"] != opts.import_rows or data["failed"]:
            raise BenchFailed(
                f"import_tasks_bulk imported {data['imported']} of {opts.import_rows}, "
                f"failed {data['failed']}: {data['errors'][:5]}"
            )

    # Every run is taken out again: each one imports into the same dataset.
    timing, _ = http.runs("import_tasks_bulk", content, opts.bulk_runs, check=check, after=undo)
    return BulkFigures(
        "import",
        f"import_tasks_bulk: {opts.import_rows:,} rows",
        opts.import_rows,
        floor_timing,
        inproc_timing,
        timing,
        len(content),
        len(csv_text.encode()),
        profile,
    )


def _gzip_ms(body: bytes, level: int) -> tuple[float, int]:
    began = time.perf_counter()
    size = len(gzip_compress(body, compresslevel=level))
    return (time.perf_counter() - began) * 1000.0, size


def _what_if(
    floor: SqliteFloor, queries: list[QueryFigures], export_body: bytes, opts: Options
) -> list[WhatIf]:
    """Changes measured on the floor, after the server has stopped: a one-pass Statistics,
    a partial covering index, a lighter gzip level for the export's answer."""
    seconds = max(opts.seconds / 2, 0.5)
    stats = next(fig for fig in queries if fig.query.key == "statistics")
    four = stats.floor.p50
    one_pass = _timed_loop(floor.statistics_one_pass, 0.2, seconds).p50
    count_before = _timed_loop(floor.count_live, 0.2, seconds).p50
    index_s = floor.add_statistics_index()
    indexed = _timed_loop(floor.statistics_one_pass, 0.2, seconds).p50
    four_indexed = _timed_loop(floor.statistics, 0.2, seconds).p50
    count_after = _timed_loop(floor.count_live, 0.2, seconds).p50
    plan = floor.one_pass_plan()
    index = (
        "`(status, priority, technician_id, scheduled_date, completed_at) WHERE deleted_at IS NULL`"
    )
    changes = [
        WhatIf(
            "Statistics: one GROUP BY status, priority, technician_id pass (the time figures "
            "as SUMs in it), folded in Python, instead of four queries",
            four,
            one_pass,
        ),
        WhatIf(
            f"Statistics, four queries as now, with a partial covering index {index}",
            four,
            four_indexed,
            f"index built in {index_s:.1f} s",
        ),
        WhatIf(
            "Statistics: the one pass with that index",
            four,
            indexed,
            f"plan: {plan}",
        ),
        WhatIf(
            "List: COUNT(*) of the live tasks (no filter), with that index",
            count_before,
            count_after,
        ),
    ]
    level9_ms, level9_size = _gzip_ms(export_body, 9)
    for level in (6, 1):
        ms, size = _gzip_ms(export_body, level)
        changes.append(
            WhatIf(
                f"export answer ({len(export_body) / 1e6:.0f} MB of JSON) gzipped at level "
                f"{level} instead of 9 (Starlette's GZipMiddleware default)",
                level9_ms,
                ms,
                f"{level9_size / 1e6:.1f} MB → {size / 1e6:.1f} MB",
            )
        )
    return changes


def _login(server: Server) -> tuple[str, Principal]:
    """The owner's session over HTTP, and the same caller for the in-process level."""
    credentials = {"email": OWNER["email"], "password": OWNER["password"]}
    answer = httpx.post(f"{server.base_url}/ipc/auth_login", json=credentials, timeout=60.0)
    body = answer.json()
    if answer.status_code != 200 or not body.get("success"):
        raise BenchFailed(f"auth_login answered {answer.status_code}: {answer.text}")
    data = body["data"]
    user = data["user"]
    principal = Principal(
        user_id=user["id"],
        role=Role.ADMIN,
        session_id="bench",
        email=user["email"],
        expires_at_ms=int(data["expires_at"]),
    )
    return str(data["access_token"]), principal


def run(opts: Options, console: Console) -> Results:
    size = opts.size
    with tempfile.TemporaryDirectory(prefix="rpma-jobbook-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        console.print(
            f"Building the dataset: {size.tasks:,} tasks, {size.clients:,} clients, "
            f"{size.technicians} technicians over {size.days_back + size.days_ahead} days..."
        )
        built = build_dataset(data_dir, size, OWNER, lambda _name, _n: None)
        database_mb = built.database.stat().st_size / 1e6
        console.print(
            f"  built in {built.seconds:.1f} s, created_at spread in {built.spread_seconds:.1f} s; "
            f"the database file is {database_mb:.0f} MB"
        )
        floor = SqliteFloor(built.database)
        try:
            with uvicorn_server(
                "rpma", "rpma.asgi:app", "/ipc/health_check", _server_env(data_dir), workdir
            ) as server:
                token, principal = _login(server)
                http = Http(server, token)
                inproc = InProcess(data_dir, principal)
                try:
                    console.print("Queries (task_crud):")
                    queries = [
                        _measure_query(
                            q, floor=floor, inproc=inproc, http=http, opts=opts, console=console
                        )
                        for q in _queries(built.technicians[0])
                    ]
                    console.print("Bulk:")
                    bulk, export_body = _export(floor, inproc, http, opts, console)
                    bulk.append(
                        _import(
                            floor=floor,
                            inproc=inproc,
                            http=http,
                            built=built,
                            opts=opts,
                            console=console,
                        )
                    )
                    workers = inproc.services.settings.worker_threads
                finally:
                    inproc.close()
                    http.close()
                if server.process.poll() is not None:
                    raise BenchFailed(f"the server died:\n{server.log_tail()}")
            # The server is gone: the database is the benchmark's own to change.
            console.print("What would help (on this run's copy of the database):")
            what_if = _what_if(floor, queries, export_body, opts)
        finally:
            floor.close()
    cmd = registry.get("task_crud")
    return Results(
        opts,
        built,
        database_mb,
        queries,
        bulk,
        task_crud_writes=bool(cmd and cmd.writes),
        workers=workers,
        what_if=what_if,
        load_after=os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
    )


def today() -> str:
    return datetime.now(UTC).date().isoformat()
