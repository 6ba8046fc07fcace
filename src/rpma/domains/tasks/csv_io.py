"""export_tasks_csv and import_tasks_bulk.

Export streams rows from the database (``yield_per``) and neutralises cells a
spreadsheet would run as a formula. Import reads the whole file first (it is capped at
20 MB), checks every row with the rules of ``task_crud`` Create, then writes the good
rows in batches; a batch that fails in the database is retried row by row, each row in
its own SAVEPOINT, so that a bad row is reported by its line and never half-stored.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from rpma.core.clock import from_ms
from rpma.core.db import note_statement_change
from rpma.core.errors import AppError, ValidationFailed
from rpma.domains.settings.service import shop_today
from rpma.domains.tasks import history
from rpma.domains.tasks.models import Task
from rpma.domains.tasks.numbers import number_space, reserve_numbers
from rpma.domains.tasks.schemas import (
    BulkImportResponse,
    TaskCreateData,
    TaskFields,
    TaskQuery,
    TaskUpdateData,
    is_overdue,
)
from rpma.domains.tasks.service import TaskService, created_fields

MAX_CSV_BYTES: Final = 20 * 1024 * 1024
EXPORT_COLUMNS: Final = (
    "task_number",
    "title",
    "status",
    "priority",
    "vehicle_plate",
    "vehicle_make",
    "vehicle_model",
    "vehicle_year",
    "vin",
    "vehicle_color",
    "ppf_zones",
    "film_type",
    "client_id",
    "technician_id",
    "scheduled_date",
    "start_time",
    "end_time",
    "estimated_duration",
    "actual_duration",
    "started_at",
    "completed_at",
    "is_overdue",
    "description",
    "notes",
    "tags",
    "created_at",
    "updated_at",
    "id",
)
CLIENT_COLUMNS: Final = ("client_name", "client_email", "client_phone", "client_company")
_INSTANTS: Final = frozenset({"started_at", "completed_at", "created_at", "updated_at"})
_LISTS: Final = frozenset({"ppf_zones", "tags"})
_INTEGERS: Final = frozenset({"vehicle_year", "estimated_duration"})
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_IMPORTABLE: Final = frozenset(TaskFields.model_fields) | {"vehicle_plate", "status", "task_number"}
_BATCH: Final = 500
# Never meaningful in a cell, and PostgreSQL refuses NUL; tab and line breaks stay.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_YIELD_PER: Final = 1000


# Export -------------------------------------------------------------------------------------
def neutralise(cell: str) -> str:
    """A leading single quote makes a spreadsheet show the text instead of running it."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in _INSTANTS:
        return from_ms(int(value)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return neutralise(";".join(str(v) for v in value))
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def export_csv(service: TaskService, query: TaskQuery | None, *, with_client: bool) -> str:
    columns = EXPORT_COLUMNS + (CLIENT_COLUMNS if with_client else ())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    statement = service.tasks.export_rows(query, with_client=with_client)
    today = shop_today(service.db)
    for row in service.db.execute(statement.execution_options(yield_per=_YIELD_PER)):
        values = row._mapping
        writer.writerow(
            [
                _cell(name, is_overdue(values["scheduled_date"], values["status"], today))
                if name == "is_overdue"
                else _cell(name, values[name])
                for name in columns
            ]
        )
    return buffer.getvalue()


# Import ---------------------------------------------------------------------------------------
@dataclass
class Row:
    line: int
    values: dict[str, Any]


@dataclass
class Outcome:
    imported: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def fail(self, line: int, reason: str) -> None:
        self.errors.append((line, reason))

    def answer(self) -> BulkImportResponse:
        ordered = sorted(self.errors, key=lambda e: e[0])
        return BulkImportResponse(
            imported=self.imported,
            updated=self.updated,
            failed=len(ordered),
            errors=[f"line {line}: {reason}" for line, reason in ordered],
        )


def _refuse(message: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        message=f"csv_data: {message}",
        fields=[{"field": "csv_data", "message": message}],
        **details,
    )


def _checked_text(csv_data: str) -> str:
    if len(csv_data) > MAX_CSV_BYTES:
        raise _refuse(f"the CSV exceeds {MAX_CSV_BYTES // (1024 * 1024)} MB")
    try:
        size = len(csv_data.encode("utf-8"))
    except UnicodeEncodeError as exc:
        line = csv_data.count("\n", 0, exc.start) + 1
        raise _refuse(f"not valid Unicode text (line {line}); save the file as UTF-8") from None
    if size > MAX_CSV_BYTES:
        raise _refuse(f"the CSV exceeds {MAX_CSV_BYTES // (1024 * 1024)} MB")
    return csv_data.removeprefix("\ufeff")


def _header_name(raw: str) -> str:
    return raw.strip().strip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def _unguard(cell: str) -> str:
    """Undo the export's formula guard, so that an exported file imports as it was."""
    cell = _CONTROL.sub("", cell)
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def _typed(name: str, cell: str) -> Any:
    if name in _LISTS:
        return [part.strip() for part in cell.split(";") if part.strip()]
    if name in _INTEGERS:
        try:
            return int(cell.strip())
        except ValueError:
            raise ValueError(f"{name}: {cell.strip()[:40]!r} is not a whole number") from None
    return cell


def read_rows(csv_data: str) -> tuple[list[Row], list[tuple[int, str]]]:
    """The data rows (line numbers counted from the header's line 1, a quoted newline
    included) and the rows that could not even be typed. A file the csv module cannot
    read, or without the required columns, is refused whole."""
    text = _checked_text(csv_data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [_header_name(h) for h in next(reader)]
    except StopIteration:
        raise _refuse("the CSV is empty; a header row is required") from None
    except csv.Error as exc:
        raise _refuse(f"line 1: unreadable header ({exc})") from None
    missing = [] if "vehicle_plate" in header else ["vehicle_plate"]
    if "title" not in header and "vehicle_model" not in header:
        missing.append("title or vehicle_model")
    if missing:
        raise _refuse(f"missing column(s): {', '.join(missing)}", missing_columns=missing)
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise _refuse(f"column(s) named twice: {', '.join(repeated)}", repeated_columns=repeated)
    rows: list[Row] = []
    problems: list[tuple[int, str]] = []
    last_line = reader.line_num
    while True:
        line = last_line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _refuse(f"line {line}: malformed CSV ({exc}); nothing was imported") from None
        last_line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            problems.append((line, f"{len(cells)} cells but the header has {len(header)}"))
            continue
        values: dict[str, Any] = {}
        try:
            for name, raw_cell in zip(header, cells, strict=False):
                cell = _unguard(raw_cell)
                if name in _IMPORTABLE and cell.strip():
                    values[name] = _typed(name, cell)
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        rows.append(Row(line, values))
    return rows, problems


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
        message = str(err["msg"])
        parts.append(message if not where or message.startswith(where) else f"{where}: {message}")
    return "; ".join(parts)


class Importer:
    def __init__(self, service: TaskService, update_existing: bool) -> None:
        self.service = service
        self.db = service.db
        self.update_existing = update_existing
        self.outcome = Outcome()

    def run(self, csv_data: str) -> BulkImportResponse:
        rows, problems = read_rows(csv_data)
        for line, reason in problems:
            self.outcome.fail(line, reason)
        numbers = [r.values["task_number"] for r in rows if "task_number" in r.values]
        existing = self.service.tasks.by_numbers(numbers) if numbers else {}
        clients = self.service.tasks.existing_clients(
            r.values["client_id"] for r in rows if "client_id" in r.values
        )
        creations: list[tuple[int, TaskCreateData, str | None]] = []
        for row in rows:
            task = existing.get(row.values.get("task_number", ""))
            if task is not None:
                self._update(row, task)
                continue
            checked = self._check_new(row, clients)
            if checked is not None:
                creations.append(checked)
        for start in range(0, len(creations), _BATCH):
            self._create(creations[start : start + _BATCH])
        return self.outcome.answer()

    def _check_new(
        self, row: Row, clients: set[str]
    ) -> tuple[int, TaskCreateData, str | None] | None:
        values = {k: v for k, v in row.values.items() if k not in ("task_number", "status")}
        try:
            data = TaskCreateData.model_validate(values)
            technician_id = self.service.creation_assignee(data.technician_id)
        except ValidationError as exc:
            self.outcome.fail(row.line, describe(exc))
            return None
        except AppError as exc:
            self.outcome.fail(row.line, exc.message)
            return None
        if data.client_id is not None and data.client_id not in clients:
            self.outcome.fail(row.line, f"client_id: no client {data.client_id}")
            return None
        if technician_id is not None:
            message = self.service.assignee_error(technician_id)
            if message is not None:
                self.outcome.fail(row.line, f"technician_id: {message}")
                return None
        return row.line, data, technician_id

    def _update(self, row: Row, task: Task) -> None:
        if not self.update_existing:
            self.outcome.fail(
                row.line,
                f"task {task.task_number} already exists (set update_existing to update it)",
            )
            return
        values = {k: v for k, v in row.values.items() if k != "task_number"}
        savepoint = self.db.begin_nested()
        try:
            data = TaskUpdateData.model_validate({**values, "id": task.id})
            version = task.version
            self.service.update(data)
        except ValidationError as exc:
            savepoint.rollback()
            self.outcome.fail(row.line, describe(exc))
            return
        except AppError as exc:
            savepoint.rollback()
            self.outcome.fail(row.line, exc.message)
            return
        savepoint.commit()
        if task.version != version:
            self.outcome.updated += 1

    def _create(self, batch: list[tuple[int, TaskCreateData, str | None]]) -> None:
        space = number_space(self.service.services.settings)
        numbers = reserve_numbers(self.db, len(batch), space=space)
        built = [
            (line, self.service.build(data, number, technician_id))
            for (line, data, technician_id), number in zip(batch, numbers, strict=True)
        ]
        savepoint = self.db.begin_nested()
        try:
            self._insert([task for _, task in built])
        except DBAPIError:
            savepoint.rollback()
            for line, task in built:  # find the row the database refuses
                one = self.db.begin_nested()
                try:
                    self._insert([task])
                except DBAPIError as exc:
                    one.rollback()
                    self.outcome.fail(line, f"refused by the database ({type(exc.orig).__name__})")
                    continue
                one.commit()
                self._created(task)
            return
        savepoint.commit()
        for _, task in built:
            self._created(task)

    def _insert(self, tasks: list[Task]) -> None:
        columns = [c.key for c in Task.__table__.columns]
        self.db.execute(insert(Task), [{c: getattr(t, c) for c in columns} for t in tasks])
        note_statement_change(self.db, Task, "create", [t.id for t in tasks])
        history.record_many(
            self.db,
            (
                {
                    "task_id": t.id,
                    "old_status": None,
                    "new_status": t.status,
                    "reason": "Task imported",
                    "changed_by": self.service.actor_id,
                }
                for t in tasks
            ),
        )

    def _created(self, task: Task) -> None:
        self.outcome.imported += 1
        self.service.emit(task.id, created_fields(task), bulk=True)


def import_csv(service: TaskService, csv_data: str, update_existing: bool) -> BulkImportResponse:
    return Importer(service, update_existing).run(csv_data)
