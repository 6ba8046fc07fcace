"""Reports: each report command over HTTP, and each report document, on one year of a
busy shop (100,000 tasks, 60,000 interventions), against the floor of its main
aggregate query in raw `sqlite3`.

`python -m bench.reports` (`--quick`: 5,000 tasks, leaves docs/PERFORMANCE.md alone).

* **HTTP, computed**: the real server (`rpma.asgi:app` under uvicorn) answering a report
  it has not cached: each call asks for a range ending on a different day, so every
  call misses the cache and runs its queries.
* **HTTP, cached**: the same range again (a cache hit: token check, one settings read,
  the envelope).
* **Document**: `builders.build_document` in this process for each of the seven report
  types (what an export renders; never cached).
* **Floor**: the report's main GROUP BY, hand-written, on a plain `sqlite3` connection
  to the same file (page cache warm).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import sqlalchemy
from rich.console import Console

from bench.report import write_section
from bench.reports_data import FLOORS, OWNER, Dataset, dataset, time_floor
from bench.servers import uvicorn_server
from rpma.app import build_services
from rpma.config import Settings
from rpma.core.context import Principal
from rpma.core.permissions import Role
from rpma.domains.reports.builders import build_document
from rpma.domains.reports.schemas import ReportFilters

SECTION: Final = "reports"
COLD_RUNS: Final = 5
WARM_RUNS: Final = 20
DOCUMENT_RUNS: Final = 3
FLOOR_RUNS: Final = 10

# command, title, its main query's floor
COMMANDS: Final = (
    ("get_task_completion_report", "Task completion", "tasks_by_status"),
    ("get_technician_performance_report", "Technician performance", "done_by_technician"),
    ("get_client_analytics_report", "Client analytics", "top_clients"),
    ("analytics_get_summary", "Analytics summary", "tasks_by_status"),
    ("get_entity_counts", "Entity counts", "count_tasks"),
)
DOCUMENTS: Final = (
    ("TaskCompletion", "tasks_by_status"),
    ("TechnicianPerformance", "done_by_technician"),
    ("ClientAnalytics", "top_clients"),
    ("QualityCompliance", "steps_by_type"),
    ("MaterialUsage", "usage_by_material"),
    ("Geographic", "tasks_by_city"),
    ("Overview", "tasks_by_status"),
)


@dataclass(frozen=True)
class Row:
    title: str
    name: str
    floor_key: str
    floor_ms: float
    computed_ms: float
    cached_ms: float | None = None
    answer_bytes: int = 0


def _median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def _body(command: str, start: date, end: date) -> dict[str, Any]:
    if command == "get_entity_counts":
        return {}
    return {"date_range": {"start": start.isoformat(), "end": end.isoformat()}}


class Http:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(timeout=600.0)
        answer = self.client.post(
            f"{base_url}/ipc/auth_login",
            json={"email": OWNER["email"], "password": OWNER["password"]},
        ).json()
        if not answer.get("success"):
            raise RuntimeError(f"auth_login failed: {answer}")
        self.token = answer["data"]["access_token"]

    def timed(self, command: str, body: dict[str, Any]) -> tuple[float, int]:
        began = time.perf_counter()
        answer = self.client.post(
            f"{self.base_url}/ipc/{command}", json={**body, "session_token": self.token}
        )
        elapsed = (time.perf_counter() - began) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"{command}: HTTP {answer.status_code} {answer.text[:300]}")
        return elapsed, len(answer.content)


def measure_commands(http: Http, data: Dataset, start: date, end: date) -> list[Row]:
    rows = []
    for command, title, floor_key in COMMANDS:
        first, _size = http.timed(command, _body(command, start - timedelta(days=30), end))
        cold = [first] if command == "get_entity_counts" else []
        for shift in range(COLD_RUNS if not cold else 0):
            # A range never asked before: the server computes it. Entity counts have no
            # range: their first call is their only miss, and the one measured.
            elapsed, _size = http.timed(
                command, _body(command, start - timedelta(days=shift + 1), end)
            )
            cold.append(elapsed)
        warm, size = [], 0
        for _ in range(WARM_RUNS):
            elapsed, size = http.timed(command, _body(command, start, end))
            warm.append(elapsed)
        floor = time_floor(data.database, floor_key, start, end, FLOOR_RUNS)
        rows.append(
            Row(title, command, floor_key, _median(floor), _median(cold), _median(warm), size)
        )
    return rows


def measure_documents(work: Path, start: date, end: date, data: Dataset) -> list[Row]:
    services = build_services(Settings(data_dir=work, database_url=None), migrate=False)
    viewer = Principal("bench", Role.ADMIN, "bench", OWNER["email"], 0)
    filters = ReportFilters.model_validate(
        {"date_range": {"start": start.isoformat(), "end": end.isoformat()}}
    )
    rows = []
    try:
        for report_type, floor_key in DOCUMENTS:
            samples = []
            for _ in range(DOCUMENT_RUNS):
                began = time.perf_counter()
                with services.db.session(write=False) as db:
                    build_document(db, report_type, filters, viewer)
                samples.append((time.perf_counter() - began) * 1000)
            floor = time_floor(data.database, floor_key, start, end, FLOOR_RUNS)
            rows.append(Row(report_type, report_type, floor_key, _median(floor), _median(samples)))
    finally:
        services.db.dispose()
    return rows


def _ratio(value: float | None, floor: float) -> str:
    if value is None or floor <= 0:
        return "n/a"
    ratio = value / floor
    return f"{ratio:,.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def section(data: Dataset, commands: list[Row], documents: list[Row], seconds: float) -> str:
    lines = [
        "## Reports",
        "",
        "`python -m bench.reports` (bench/reports.py, bench/reports_data.py). Each report "
        "command over HTTP on one year of a busy shop, and each report document built "
        "in-process, against the **floor**: the report's main GROUP BY hand-written and run "
        "with the bare `sqlite3` module on the same file. Medians in ms.",
        "",
        f"**Dataset.** {data.tasks:,} tasks ({data.first_day} to {data.last_day}), "
        f"{data.interventions:,} interventions with {data.steps:,} steps, "
        f"{data.consumptions:,} material consumptions, {data.clients:,} clients, "
        f"{data.technicians} technicians; SQLite, {data.size_mb:.0f} MB; built in bulk in "
        f"{data.build_seconds:.0f} s (kept in the temporary folder between runs). "
        f"The whole run took {seconds:.0f} s on {platform.machine()} "
        f"({os.cpu_count()} CPUs), Python {platform.python_version()}, "
        f"SQLAlchemy {sqlalchemy.__version__}.",
        "",
        "**Commands over HTTP**, the range being the dataset's whole year. *Computed*: "
        f"{COLD_RUNS} calls, each with a range the cache has not seen (entity counts: the "
        f"first call); *cached*: {WARM_RUNS} calls of the same range.",
        "",
        "| Command | Floor query | Floor | Computed | Cached | Computed / floor "
        "| Cached / floor | Answer |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in commands:
        lines.append(
            f"| `{row.name}` | {FLOORS[row.floor_key][0]} | {row.floor_ms:.1f} "
            f"| {row.computed_ms:.1f} | {row.cached_ms or 0:.1f} "
            f"| {_ratio(row.computed_ms, row.floor_ms)} | {_ratio(row.cached_ms, row.floor_ms)} "
            f"| {row.answer_bytes:,} B |"
        )
    lines += [
        "",
        f"**Documents** (`build_document`, what the exports render; median of "
        f"{DOCUMENT_RUNS}, never cached):",
        "",
        "| Report type | Floor query | Floor | Document | Document / floor |",
        "|---|---|--:|--:|--:|",
    ]
    for row in documents:
        lines.append(
            f"| {row.title} | {FLOORS[row.floor_key][0]} | {row.floor_ms:.1f} "
            f"| {row.computed_ms:.1f} | {_ratio(row.computed_ms, row.floor_ms)} |"
        )
    lines += [
        "",
        "A report runs several GROUP BYs (by status and technician, by day, the on-time "
        "count, the names), so *computed / floor* counts them all against the main one; "
        "the cached answer costs what any small command costs.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="5,000 tasks; no docs update")
    args = parser.parse_args(argv)
    console = Console()
    began = time.perf_counter()
    data, work = dataset(args.quick, console.print)
    end = date.fromisoformat(data.last_day)
    start = end - timedelta(days=364)
    env = {key: value for key, value in os.environ.items() if not key.startswith("RPMA_")}
    env |= {
        "RPMA_DATA_DIR": str(work),
        "RPMA_RATE_LIMITS_ENABLED": "false",
        "RPMA_SECRET_KEY": secrets.token_urlsafe(48),
    }
    try:
        with uvicorn_server("rpma", "rpma.asgi:app", "/ipc/health_check", env, work) as server:
            http = Http(server.base_url)
            console.print("measuring the commands over HTTP")
            commands = measure_commands(http, data, start, end)
            http.client.close()
        console.print("measuring the documents in-process")
        documents = measure_documents(work, start, end, data)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the working copy; the dataset stays
    text = section(data, commands, documents, time.perf_counter() - began)
    console.print(text)
    if not args.quick:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
