"""The job book benchmark's floors: the same questions asked of the same SQLite file with
the bare `sqlite3` module, plus the dataset and the CSV to import.

Every floor is hand-written SQL for the question the command answers (same WHERE, same
full-text match, same ORDER BY and LIMIT, same GROUP BY, same rows), run on a plain
connection with the server's pragmas. What the server spends above it is its own.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import text

from rpma.app import build_services
from rpma.config import Settings
from rpma.core.clock import clock, to_ms
from rpma.core.permissions import Role
from rpma.demo import CARS, COLORS, FILMS, SLOTS, ZONE_SETS, DemoSize, build_demo
from rpma.domains.auth.schemas import CreateAccountRequest
from rpma.domains.auth.service import AuthService
from rpma.domains.tasks.csv_io import EXPORT_COLUMNS
from rpma.domains.tasks.status import CLOSED

# Never a real task number (YYYYMMDD-NNN): the floor's own import rows.
FLOOR_NUMBER_PREFIX: Final = "FLOOR-"
_CLOSED: Final = tuple(sorted(CLOSED))
_CLOSED_MARKS: Final = ", ".join("?" for _ in _CLOSED)
_TASK_COLUMNS: Final = (
    "id",
    "task_number",
    "title",
    "description",
    "vehicle_plate",
    "vehicle_make",
    "vehicle_model",
    "vehicle_year",
    "vin",
    "vehicle_color",
    "ppf_zones",
    "film_type",
    "status",
    "priority",
    "client_id",
    "technician_id",
    "assigned_at",
    "assigned_by",
    "scheduled_date",
    "start_time",
    "end_time",
    "estimated_duration",
    "actual_duration",
    "started_at",
    "completed_at",
    "notes",
    "tags",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "version",
    "deleted_at",
)
IMPORT_COLUMNS: Final = (
    "title",
    "vehicle_plate",
    "vehicle_make",
    "vehicle_model",
    "vehicle_year",
    "vehicle_color",
    "ppf_zones",
    "film_type",
    "priority",
    "client_id",
    "technician_id",
    "scheduled_date",
    "start_time",
    "end_time",
    "estimated_duration",
    "notes",
)
_NOTES: Final = (
    "",
    "",
    "",
    'Client asks for a "matte" finish, call first',
    "Drop-off at 8:00; keys at the desk",
    "Repeat customer, check last year's film",
    "Fleet vehicle; invoice to the company",
)


# build_demo stamps every row with the same created_at (the moment it runs). The list's
# default order is newest first (created_at, then task_number), so with one shared
# created_at SQLite must sort the whole table for the tie-break (EXPLAIN: "USE TEMP B-TREE
# FOR RIGHT PART OF ORDER BY") where a real job book has a page read off the index. Each
# task gets an instant on the day its number was given (YYYYMMDD-NNN) at a deterministic
# time of day; one whose day is still to come (the demo books some jobs weeks ahead), an
# instant in the last 24 hours.
_SPREAD_CREATED_AT: Final = (
    """
    UPDATE tasks SET created_at = CAST(strftime('%s', substr(task_number, 1, 4) || '-'
        || substr(task_number, 5, 2) || '-' || substr(task_number, 7, 2)) AS INTEGER) * 1000
        + (rowid * 2654435761) % 86400000
    """,
    "UPDATE tasks SET created_at = :now - (rowid * 2654435761) % 86400000 WHERE created_at > :now",
)


STATISTICS_ONE_PASS: Final = (
    "SELECT status, priority, technician_id, count(*), "  # noqa: S608 - fixed text
    f"sum(CASE WHEN scheduled_date < ? AND status NOT IN ({_CLOSED_MARKS}) THEN 1 ELSE 0 END), "
    "sum(CASE WHEN completed_at >= ? THEN 1 ELSE 0 END), "
    "sum(CASE WHEN completed_at >= ? THEN 1 ELSE 0 END) "
    "FROM tasks WHERE deleted_at IS NULL GROUP BY status, priority, technician_id"
)
STATISTICS_INDEX: Final = (
    "CREATE INDEX bench_ix_tasks_live_stats ON tasks "
    "(status, priority, technician_id, scheduled_date, completed_at) WHERE deleted_at IS NULL"
)


@dataclass(frozen=True)
class Built:
    database: Path
    seconds: float  # build_demo, the first account and the migrations
    spread_seconds: float  # the created_at fix-up
    technicians: list[str]
    clients: list[str]
    tasks: int
    by_status: dict[str, int]


def build_dataset(
    data_dir: Path, size: DemoSize, owner: dict[str, str], progress: Callable[[str, int], None]
) -> Built:
    """Migrate a fresh SQLite database in ``data_dir``, create the first account (an
    admin, as `rpma demo` does: once the technicians exist, `auth_create_account` is no
    longer open) and write the demo workshop in bulk, before any server opens it."""
    settings = Settings(data_dir=data_dir, database_url=None)
    began = time.perf_counter()
    services = build_services(settings)
    try:
        with services.db.session(write=True) as db:
            request = CreateAccountRequest.model_validate(owner)
            admin = AuthService(db, services).create_user(request, role=Role.ADMIN, actor_id=None)
            result = build_demo(db, services.passwords, size, progress, admin.id)
            db.commit()
        demo_seconds = time.perf_counter() - began
        spread_began = time.perf_counter()
        with services.db.session(write=True) as db:
            now = clock.now_ms()
            for statement in _SPREAD_CREATED_AT:
                db.execute(text(statement), {"now": now})
            db.commit()
        spread_seconds = time.perf_counter() - spread_began
    finally:
        services.db.dispose()
    database = data_dir / "rpma.db"
    with sqlite3.connect(database) as conn:
        technicians = [
            row[0]
            for row in conn.execute("SELECT id FROM users WHERE role = 'technician' ORDER BY email")
        ]
        clients = [row[0] for row in conn.execute("SELECT id FROM clients ORDER BY id")]
    conn.close()
    return Built(
        database,
        demo_seconds,
        spread_seconds,
        technicians,
        clients,
        result.tasks,
        result.by_status,
    )


def import_csv_text(rows: int, clients: Sequence[str], technicians: Sequence[str]) -> str:
    """A deterministic CSV of upcoming jobs, in the columns `import_tasks_bulk` reads:
    real client and technician ids, zones separated by `;`, some quoted notes."""
    rng = random.Random(7)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(IMPORT_COLUMNS)
    today = clock.now().date()
    for index in range(rows):
        make, model = rng.choice(CARS)
        start, end, minutes = rng.choice(SLOTS)
        plate = f"IM-{index:05d}-{rng.choice('ABCDEFGHJKLMNPRSTVWXYZ')}"
        writer.writerow(
            [
                f"{make} {model} ({plate})",
                plate,
                make,
                model,
                rng.randint(2015, today.year),
                rng.choice(COLORS),
                ";".join(rng.choice(ZONE_SETS)),
                rng.choice(FILMS),
                rng.choices(["low", "medium", "high", "urgent"], [2, 6, 3, 1])[0],
                rng.choice(clients),
                rng.choice(technicians),
                (today + timedelta(days=rng.randint(1, 60))).isoformat(),
                start,
                end,
                minutes,
                rng.choice(_NOTES),
            ]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class ListQuery:
    """The filters of one `task_crud` List, as the floor's SQL takes them."""

    statuses: tuple[str, ...] = ()
    technician_id: str | None = None
    search: str | None = None  # one word, prefix-matched like the server does

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = ["deleted_at IS NULL"]
        params: list[Any] = []
        if self.statuses:
            clauses.append(f"status IN ({', '.join('?' for _ in self.statuses)})")
            params.extend(self.statuses)
        if self.technician_id:
            clauses.append("technician_id = ?")
            params.append(self.technician_id)
        if self.search:
            clauses.append("rowid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?)")
            params.append('"' + self.search.replace('"', '""') + '"*')
        return " AND ".join(clauses), params

    def sql(self, page_size: int) -> tuple[str, str, list[Any]]:
        """(count SQL, page SQL, parameters): newest first, the server's default order."""
        where, params = self.where()
        count = f"SELECT count(*) FROM tasks WHERE {where}"  # noqa: S608 - fixed names and placeholders
        page = (
            f"SELECT * FROM tasks WHERE {where} "  # noqa: S608 - fixed names and placeholders
            f"ORDER BY created_at DESC, task_number DESC LIMIT {int(page_size)} OFFSET 0"
        )
        return count, page, params


def _time_marks() -> tuple[str, int, int]:
    """Today, and the starts of this week and month in Unix ms, as Statistics has them."""
    today = clock.now().date()
    week = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time())
    month = datetime.combine(today.replace(day=1), datetime.min.time())
    return today.isoformat(), to_ms(week), to_ms(month)


class SqliteFloor:
    """A plain `sqlite3` connection on the server's database file, with its pragmas."""

    def __init__(self, database: Path) -> None:
        self.conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        for pragma in ("foreign_keys=ON", "busy_timeout=10000", "synchronous=NORMAL"):
            self.conn.execute(f"PRAGMA {pragma}")

    def close(self) -> None:
        self.conn.close()

    def count_tasks(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM tasks WHERE deleted_at IS NULL").fetchone()
        return int(row[0])

    # Reads ---------------------------------------------------------------------------
    def list_page(self, query: ListQuery, page_size: int = 20) -> tuple[int, int]:
        """The COUNT and the page in one read transaction, as the command does; answers
        (matching tasks, rows on the page)."""
        count_sql, page_sql, params = query.sql(page_size)
        self.conn.execute("BEGIN")
        try:
            total = self.conn.execute(count_sql, params).fetchone()[0]
            rows = self.conn.execute(page_sql, params).fetchall() if total else []
        finally:
            self.conn.execute("COMMIT")
        return int(total), len(rows)

    def statistics(self) -> int:
        """The GROUP BY queries of TaskStatistics and its one-pass time figures."""
        today, week_ms, month_ms = _time_marks()
        live = "deleted_at IS NULL"
        self.conn.execute("BEGIN")
        try:
            groups = 0
            for column in ("status", "priority", "technician_id"):
                groups += len(
                    self.conn.execute(
                        f"SELECT {column}, count(*) FROM tasks "  # noqa: S608 - fixed names and placeholders
                        f"WHERE {live} AND {column} IS NOT NULL GROUP BY {column}"
                    ).fetchall()
                )
            self.conn.execute(
                "SELECT "  # noqa: S608 - fixed names and placeholders
                f"coalesce(sum(CASE WHEN scheduled_date < ? AND status NOT IN ({_CLOSED_MARKS}) "
                "THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(CASE WHEN completed_at >= ? THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(CASE WHEN completed_at >= ? THEN 1 ELSE 0 END), 0) "
                f"FROM tasks WHERE {live}",
                [today, *_CLOSED, week_ms, month_ms],
            ).fetchone()
        finally:
            self.conn.execute("COMMIT")
        return groups

    # What would help (measured at the end of a run, on its throwaway copy) ------------------
    def statistics_one_pass(self) -> int:
        """TaskStatistics from one scan: GROUP BY status, priority and technician at once,
        the time figures as SUMs in the same pass, folded in Python."""
        today, week_ms, month_ms = _time_marks()
        self.conn.execute("BEGIN")
        try:
            rows = self.conn.execute(
                STATISTICS_ONE_PASS, [today, *_CLOSED, week_ms, month_ms]
            ).fetchall()
        finally:
            self.conn.execute("COMMIT")
        by_status: dict[str, int] = {}
        by_priority: dict[str, int] = {}
        by_technician: dict[str, int] = {}
        figures = [0, 0, 0]
        for status, priority, technician, count, overdue, week, month in rows:
            by_status[status] = by_status.get(status, 0) + count
            by_priority[priority] = by_priority.get(priority, 0) + count
            if technician is not None:
                by_technician[technician] = by_technician.get(technician, 0) + count
            figures = [figures[0] + overdue, figures[1] + week, figures[2] + month]
        return len(by_status) + len(by_priority) + len(by_technician)

    def one_pass_plan(self) -> str:
        return self.plan(STATISTICS_ONE_PASS, ["", *_CLOSED, 0, 0])

    def count_live(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM tasks WHERE deleted_at IS NULL").fetchone()
        return int(row[0])

    def add_statistics_index(self) -> float:
        """Build the partial covering index of STATISTICS_INDEX; answers its seconds."""
        began = time.perf_counter()
        self.conn.execute(STATISTICS_INDEX)
        return time.perf_counter() - began

    def export_csv(self) -> tuple[int, int]:
        """Every live task, newest first, in the export's columns (`is_overdue` computed
        in SQL, instants left as integers), written with the csv module. Answers (rows,
        bytes of UTF-8 text)."""
        today, _, _ = _time_marks()
        columns = [
            f"CASE WHEN scheduled_date < ? AND status NOT IN ({_CLOSED_MARKS}) "
            "THEN 'true' ELSE 'false' END"
            if name == "is_overdue"
            else name
            for name in EXPORT_COLUMNS
        ]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        rows = 0
        self.conn.execute("BEGIN")
        try:
            cursor = self.conn.execute(
                f"SELECT {', '.join(columns)} FROM tasks WHERE deleted_at IS NULL "  # noqa: S608 - fixed names and placeholders
                "ORDER BY created_at DESC, task_number DESC",
                [today, *_CLOSED],
            )
            while batch := cursor.fetchmany(1000):
                writer.writerows(batch)
                rows += len(batch)
        finally:
            self.conn.execute("COMMIT")
        return rows, len(buffer.getvalue().encode())

    # The import ------------------------------------------------------------------------
    def import_csv(self, csv_text: str, run: int) -> int:
        """Parse the CSV with the csv module and INSERT every row (tasks and their history
        row) with executemany in one transaction; the rows are numbered
        ``FLOOR-<run>-<n>``, apart from the real ones."""
        now = clock.now_ms()
        reader = csv.DictReader(io.StringIO(csv_text, newline=""))
        tasks: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        for index, cells in enumerate(reader):
            task_id = str(uuid.uuid4())
            values: dict[str, Any] = {
                **{name: cells[name] or None for name in IMPORT_COLUMNS},
                "id": task_id,
                "task_number": f"{FLOOR_NUMBER_PREFIX}{run}-{index:06d}",
                "ppf_zones": json.dumps(cells["ppf_zones"].split(";")),
                "tags": "[]",
                "status": "scheduled",
                "vehicle_year": int(cells["vehicle_year"]),
                "estimated_duration": int(cells["estimated_duration"]),
                "scheduled_date": date.fromisoformat(cells["scheduled_date"]).isoformat(),
                "assigned_at": now,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            tasks.append(tuple(values.get(name) for name in _TASK_COLUMNS))
            history.append(
                (str(uuid.uuid4()), task_id, None, "scheduled", "Task imported", None, now)
            )
        marks = ", ".join("?" for _ in _TASK_COLUMNS)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                f"INSERT INTO tasks ({', '.join(_TASK_COLUMNS)}) VALUES ({marks})",  # noqa: S608 - fixed names and placeholders
                tasks,
            )
            self.conn.executemany(
                "INSERT INTO task_history (id, task_id, old_status, new_status, reason, "
                "changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                history,
            )
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return len(tasks)

    def max_rowid(self) -> int:
        row = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM tasks").fetchone()
        return int(row[0])

    def remove_since(self, mark: int) -> None:
        """Take out the tasks written after ``mark`` (their history goes by cascade), so
        that every import run starts from the same dataset."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute("DELETE FROM tasks WHERE rowid > ?", [mark])
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # Plans -------------------------------------------------------------------------------
    def plan(self, sql: str, params: Sequence[Any]) -> str:
        """SQLite's query plan for a statement, one step per `;`."""
        rows = self.conn.execute("EXPLAIN QUERY PLAN " + sql, list(params)).fetchall()
        return "; ".join(str(row[3]) for row in rows)
