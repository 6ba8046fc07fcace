"""Calendar: `get_events` over a month of a busy workshop (50 technicians, 5,000 events
of which some are weekly series, plus the month's scheduled tasks) and
`calendar_check_conflicts` over the same load (issue 6, "Performance").

`python -m bench.calendar` writes the dataset in bulk into a fresh SQLite database
(`rpma.demo.build_demo` for the technicians, clients and tasks, then the events), starts
the real server on it (`rpma.asgi:app` under uvicorn, as bench/servers.py starts it) and
times, one request at a time on a keep-alive connection:

* `get_events` for the whole month (every event, occurrence and task), and for one
  technician's month;
* `calendar_check_conflicts` for one technician, a day and a slot;

each against a **floor**: the same rows read from the same database file with the bare
`sqlite3` module (the range query of the events and of the tasks), plus one HTTP round
trip (`health_check`). Ratios are to that floor. `--quick` is a smoke run that leaves
docs/PERFORMANCE.md alone.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from bench.loadgen import percentile
from bench.report import write_section
from bench.servers import Server, ServerFailed, uvicorn_server
from rpma.app import build_services
from rpma.config import Settings
from rpma.core.clock import clock
from rpma.core.permissions import Role
from rpma.demo import DemoSize, build_demo
from rpma.domains.auth.schemas import CreateAccountRequest
from rpma.domains.auth.service import AuthService
from rpma.domains.calendar.models import CalendarEvent
from rpma.domains.calendar.recurrence import Series, canonical
from rpma.domains.calendar.timespan import at_minutes_ms, midnight_ms
from rpma.domains.settings.service import shop_timezone

SECTION: Final = "calendar"
OWNER: Final = {
    "email": "owner@calendar.example",
    "first_name": "Olive",
    "last_name": "Owner",
    "password": "Workshop-Boss-2024",
}
TECHNICIANS: Final = 50
EVENTS: Final = 5_000
SERIES_SHARE: Final = 0.1  # a tenth of the events are weekly series
TASKS: Final = 1_500
TYPES: Final = ("appointment", "meeting", "reminder", "other")


class BenchFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Options:
    month_calls: int
    technician_calls: int
    conflict_calls: int
    write_doc: bool


@dataclass
class Dataset:
    database: Path
    technicians: list[str]
    first: date
    last: date
    events: int
    series: int
    tasks_in_month: int
    seconds: float


@dataclass
class Scenario:
    title: str
    http_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    items: int = 0
    body_bytes: int = 0

    def p50(self, values: list[float]) -> float:
        return percentile(sorted(values), 0.5)


# The dataset ------------------------------------------------------------------------------
def build(data_dir: Path, console: Console) -> Dataset:
    began = time.perf_counter()
    services = build_services(Settings(data_dir=data_dir, database_url=None))
    today = clock.now().date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    size = DemoSize(technicians=TECHNICIANS, clients=300, tasks=TASKS, days_back=today.day - 1,
                    days_ahead=(last - today).days, seed=42)  # fmt: skip
    try:
        with services.db.session(write=True) as db:
            request = CreateAccountRequest.model_validate(OWNER)
            admin = AuthService(db, services).create_user(request, role=Role.ADMIN, actor_id=None)
            build_demo(db, services.passwords, size, lambda *_: None, admin.id)
            db.commit()
        with services.db.session(write=True) as db:
            tz = shop_timezone(db)
            database = data_dir / "rpma.db"
            with sqlite3.connect(database) as conn:
                technicians = [r[0] for r in conn.execute(
                    "SELECT id FROM users WHERE role = 'technician' ORDER BY email")]  # fmt: skip
                existing = conn.execute("SELECT count(*) FROM calendar_events").fetchone()[0]
            conn.close()
            rows, series = _events(
                EVENTS - int(existing), technicians, first, last, tz=tz, actor=admin.id
            )
            for start in range(0, len(rows), 2000):
                db.execute(insert(CalendarEvent), rows[start : start + 2000])
            db.commit()
    finally:
        services.db.dispose()
    with sqlite3.connect(database) as conn:
        events = conn.execute("SELECT count(*) FROM calendar_events").fetchone()[0]
        series = conn.execute(
            "SELECT count(*) FROM calendar_events WHERE rrule IS NOT NULL"
        ).fetchone()[0]
        tasks = conn.execute(
            "SELECT count(*) FROM tasks WHERE scheduled_date BETWEEN ? AND ?",
            (first.isoformat(), last.isoformat()),
        ).fetchone()[0]
    conn.close()
    seconds = time.perf_counter() - began
    console.print(f"  {events:,} events ({series:,} series), {tasks:,} tasks in {first:%B %Y}, "
                  f"{len(technicians)} technicians, built in {seconds:.1f} s")  # fmt: skip
    return Dataset(database, technicians, first, last, int(events), int(series), int(tasks),
                   seconds)  # fmt: skip


def _events(
    count: int, technicians: list[str], first: date, last: date, *, tz: Any, actor: str
) -> tuple[list[dict[str, Any]], int]:
    rng = random.Random(6)
    now = clock.now_ms()
    days = [first + timedelta(days=d) for d in range((last - first).days + 1)]
    rows, series = [], 0
    for index in range(count):
        day = rng.choice(days[:7] if index % 10 == 0 else days)
        begin = rng.randrange(7 * 60, 17 * 60, 15)
        start, end = at_minutes_ms(day, begin, tz), at_minutes_ms(day, begin + 45, tz)
        rule: str | None = None
        series_end: int | None = end
        if rng.random() < SERIES_SHARE:
            weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[day.weekday()]
            rule = canonical(f"FREQ=WEEKLY;BYDAY={weekday};COUNT=5", start, tz)
            series_end = Series(rule, start, end, tz.key).last_end_ms()
            series += 1
        rows.append(
            {
                "id": str(uuid.uuid4()), "title": f"Event {index}", "description": None,
                "event_type": rng.choice(TYPES), "start_at": start, "end_at": end,
                "all_day": False, "timezone": tz.key, "technician_id": rng.choice(technicians),
                "task_id": None, "client_id": None, "location": None, "status": "confirmed",
                "color": None, "rrule": rule, "series_end_at": series_end, "created_at": now,
                "updated_at": now, "created_by": actor, "updated_by": actor, "version": 1,
                "deleted_at": None,
            }
        )  # fmt: skip
    return rows, series


# The floor: the same reads in bare sqlite3 -------------------------------------------------
class SqliteFloor:
    def __init__(self, database: Path, tz: Any) -> None:
        self.conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self.tz = tz

    def schedule(self, first: date, last: date, technician_id: str | None) -> int:
        """The events that may fall in the days and the tasks on them, in one read
        transaction; answers the rows read."""
        start, end = midnight_ms(first, self.tz), midnight_ms(last + timedelta(days=1), self.tz)
        events_sql = ("SELECT * FROM calendar_events WHERE deleted_at IS NULL AND start_at < ? "
                      "AND (series_end_at IS NULL OR series_end_at > ?)")  # fmt: skip
        tasks_sql = (
            "SELECT * FROM tasks WHERE deleted_at IS NULL AND scheduled_date BETWEEN ? AND ?"
        )
        events_args: list[Any] = [end, start]
        tasks_args: list[Any] = [(first - timedelta(days=1)).isoformat(), last.isoformat()]
        if technician_id is not None:
            events_sql += " AND technician_id = ?"
            tasks_sql += " AND technician_id = ?"
            events_args.append(technician_id)
            tasks_args.append(technician_id)
        self.conn.execute("BEGIN")
        try:
            rows = self.conn.execute(events_sql, events_args).fetchall()
            rows += self.conn.execute(tasks_sql, tasks_args).fetchall()
        finally:
            self.conn.execute("COMMIT")
        return len(rows)

    def close(self) -> None:
        self.conn.close()


# Measuring -------------------------------------------------------------------------------
class Http:
    def __init__(self, server: Server) -> None:
        self.client = httpx.Client(base_url=server.base_url, timeout=120.0)
        answer = self.call("auth_login", {"email": OWNER["email"], "password": OWNER["password"]})
        self.client.headers["Authorization"] = f"Bearer {answer['access_token']}"

    last_bytes = 0

    def call(self, command: str, args: dict[str, Any]) -> Any:
        response = self.client.post(f"/ipc/{command}", json=args)
        self.last_bytes = len(response.content)
        body = response.json()
        if response.status_code != 200 or not body.get("success"):
            raise BenchFailed(f"{command} answered {response.status_code}: {response.text[:300]}")
        return body["data"]

    def timed(self, command: str, args: dict[str, Any]) -> tuple[float, Any]:
        began = time.perf_counter()
        data = self.call(command, args)
        return (time.perf_counter() - began) * 1000, data


def measure(
    scenario: Scenario,
    calls: int,
    request: Callable[[int], tuple[str, dict[str, Any]]],
    floor: Callable[[int], int],
    http: Http,
) -> Scenario:
    http.timed(*request(0))  # warm-up, not timed
    for index in range(1, calls + 1):
        elapsed, data = http.timed(*request(index))
        scenario.http_ms.append(elapsed)
        answered = len(data) if isinstance(data, list) else len(data["conflicts"])
        scenario.items = max(scenario.items, answered)
        scenario.body_bytes = max(scenario.body_bytes, http.last_bytes)
        began = time.perf_counter()
        floor(index)
        scenario.floor_ms.append((time.perf_counter() - began) * 1000)
    return scenario


def run(opts: Options, console: Console) -> tuple[Dataset, list[Scenario], list[float], float]:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rpma-bench-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        data_dir.mkdir()
        console.print("Building the dataset...")
        data = build(data_dir, console)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RPMA_")} | {
            "RPMA_DATA_DIR": str(data_dir),
            "RPMA_RATE_LIMITS_ENABLED": "false",
            "RPMA_SECRET_KEY": secrets.token_urlsafe(48),
        }
        with uvicorn_server("rpma", "rpma.asgi:app", "/ipc/health_check", env, workdir) as server:
            http = Http(server)
            tz = _server_timezone(data_dir)
            floor = SqliteFloor(data.database, tz)
            try:
                health = [http.timed("health_check", {})[0] for _ in range(200)]
                rng = random.Random(11)
                month = {"start_date": data.first.isoformat(), "end_date": data.last.isoformat()}
                techs = data.technicians
                days = [data.first + timedelta(days=d) for d in range(28)]
                picks = [(rng.choice(techs), rng.choice(days), rng.randrange(8, 16))
                         for _ in range(opts.conflict_calls + 1)]  # fmt: skip
                console.print("get_events, the whole month...")
                whole = measure(
                    Scenario("get_events: the shop's month"),
                    opts.month_calls,
                    lambda _i: ("get_events", month),
                    lambda _i: floor.schedule(data.first, data.last, None),
                    http,
                )
                console.print("get_events, one technician's month...")
                one = measure(
                    Scenario("get_events: one technician's month"),
                    opts.technician_calls,
                    lambda i: ("get_events", month | {"technician_id": techs[i % len(techs)]}),
                    lambda i: floor.schedule(data.first, data.last, techs[i % len(techs)]),
                    http,
                )
                console.print("calendar_check_conflicts...")

                def check(i: int) -> tuple[str, dict[str, Any]]:
                    tech, day, hour = picks[i]
                    return "calendar_check_conflicts", {
                        "technician_id": tech, "new_date": day.isoformat(),
                        "new_start": f"{hour:02d}:00", "new_end": f"{hour + 1:02d}:30",
                    }  # fmt: skip

                conflicts = measure(
                    Scenario("calendar_check_conflicts: one technician, one day"),
                    opts.conflict_calls,
                    check,
                    lambda i: floor.schedule(picks[i][1], picks[i][1], picks[i][0]),
                    http,
                )
            finally:
                floor.close()
                http.client.close()
            if server.process.poll() is not None:
                raise BenchFailed(f"the server died:\n{server.log_tail()}")
    return data, [whole, one, conflicts], health, time.perf_counter() - began


def _server_timezone(data_dir: Path) -> Any:
    services = build_services(Settings(data_dir=data_dir, database_url=None))
    try:
        with services.db.session(write=False) as db:
            return shop_timezone(db)
    finally:
        services.db.dispose()


# Reporting -------------------------------------------------------------------------------
def rows(scenarios: list[Scenario], health: list[float]) -> list[list[str]]:
    round_trip = percentile(sorted(health), 0.5)
    out = []
    for s in scenarios:
        http, floor = s.p50(s.http_ms), s.p50(s.floor_ms)
        out.append([
            s.title, f"{s.items:,}", f"{len(s.http_ms)}", f"{http:.2f}",
            f"{percentile(sorted(s.http_ms), 0.99):.2f}", f"{floor:.2f}",
            f"{http / (floor + round_trip):.1f}", f"{http - floor - round_trip:.2f}",
        ])  # fmt: skip
    return out


HEADERS: Final = ("scenario", "items", "calls", "p50 ms", "p99 ms", "sqlite3 floor p50 ms",
                  "÷ (floor + round trip)", "added ms")  # fmt: skip


def print_results(console: Console, scenarios: list[Scenario], health: list[float]) -> None:
    table = Table(title="Calendar (one request at a time)", title_justify="left")
    for name in HEADERS:
        table.add_column(name, justify="left" if name == "scenario" else "right")
    for row in rows(scenarios, health):
        table.add_row(*row)
    console.print(table)
    console.print(f"HTTP round trip (health_check) p50: {percentile(sorted(health), 0.5):.2f} ms")


def markdown(data: Dataset, scenarios: list[Scenario], health: list[float], seconds: float) -> str:
    lines = [
        "## Calendar",
        "",
        "`python -m bench.calendar` (`--quick` for a smoke run): a fresh SQLite database "
        f"with {TECHNICIANS} technicians, **{data.events:,} calendar events** "
        f"({data.series:,} of them weekly series of 5) and {data.tasks_in_month:,} tasks "
        f"scheduled in the month ({data.first:%B %Y}); the real server, one request at a "
        "time on a keep-alive connection. The floor is the same rows read with the bare "
        "`sqlite3` module from the same file (events that may fall in the range, tasks on "
        "its days) plus one HTTP round trip (`health_check` p50 "
        f"{percentile(sorted(health), 0.5):.2f} ms). `items` is the most one call "
        "answered (items, or conflict entries).",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|---|" + "--:|" * (len(HEADERS) - 1),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(scenarios, health)]
    whole_mb = scenarios[0].body_bytes / 1e6
    lines += [
        "",
        "What the server adds over the floor is building the answer: expanding each series "
        "with dateutil in the shop's time zone, turning rows into CalendarEvent items, the "
        f"envelope's walk and JSON ({whole_mb:.1f} MB for the shop's month; core/envelope.py) "
        "and the client's parse of it. One technician's month and a conflict check read one "
        "person's rows (events, occurrences, open tasks) and answer little, so the round "
        "trip dominates.",
        "",
        f"Run took {seconds:.0f} s (dataset built in {data.seconds:.0f} s).",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.calendar",
        description="get_events and calendar_check_conflicts on a month of 5,000 events.",
    )
    parser.add_argument("--quick", action="store_true", help="few calls; leaves the docs alone")
    parser.add_argument("--no-write", action="store_true", help="leave docs/PERFORMANCE.md alone")
    args = parser.parse_args(argv)
    if args.quick:
        return Options(3, 10, 10, write_doc=False)
    return Options(30, 200, 300, write_doc=not args.no_write)


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    console = Console()
    try:
        data, scenarios, health, seconds = run(opts, console)
    except (BenchFailed, ServerFailed) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    print_results(console, scenarios, health)
    if opts.write_doc:
        write_section(SECTION, markdown(data, scenarios, health, seconds))
        console.print(f"Wrote the {SECTION!r} section of docs/PERFORMANCE.md.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
