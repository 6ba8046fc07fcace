"""Every query on tasks. Lists filter, count and page in SQL (never a whole table in
memory); statistics are GROUP BY queries; search uses the full-text index of migration
0003 (FTS5 on SQLite, a GIN index over a tsvector expression on PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, case, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression

from rpma.domains.clients.models import Client
from rpma.domains.tasks.models import Task
from rpma.domains.tasks.schemas import TaskQuery
from rpma.domains.tasks.status import CLOSED, PRIORITIES, STATUSES

# Exactly the expression of the GIN index ix_tasks_search (migration 0003), so that
# PostgreSQL's planner recognises it; columns qualified, which the planner ignores.
_TS_COLUMNS: Final = (
    "task_number",
    "title",
    "vehicle_plate",
    "vehicle_make",
    "vehicle_model",
    "vin",
    "notes",
)
TSVECTOR_SQL: Final = "to_tsvector('simple', {})".format(
    " || ' ' || ".join(f"coalesce(tasks.{c}, '')" for c in _TS_COLUMNS)
)
_SEARCH_TOKEN: Final = re.compile(r"\S+")
_HAS_WORD: Final = re.compile(r"[^\W_]")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_MAX_SEARCH_TOKENS: Final = 16
_IN_CHUNK: Final = 500


def search_tokens(search: str | None) -> list[str]:
    """Whitespace-separated words that hold at least one letter or digit; anything else
    (punctuation, operators) cannot match a word anyway and is dropped."""
    # No control character (PostgreSQL refuses NUL) nor lone surrogate reaches SQL.
    usable = _CONTROL.sub(" ", (search or "").encode("utf-8", "replace").decode("utf-8"))
    tokens = [t for t in _SEARCH_TOKEN.findall(usable) if _HAS_WORD.search(t)]
    return tokens[:_MAX_SEARCH_TOKENS]


def fts5_query(tokens: list[str]) -> str:
    """Each word an FTS5 string (quotes doubled) with a prefix star, all required: no
    input can reach FTS5's query syntax (AND, NEAR, column filters, ...)."""
    return " ".join('"' + t.replace('"', '""') + '"*' for t in tokens)


def tsquery(tokens: list[str]) -> str:
    """Each word a quoted tsquery lexeme with prefix matching, all required. PostgreSQL
    splits a quoted word with the same parser as to_tsvector (``ABC-123`` becomes
    ``'abc':* <-> '-123':*``), so plates and task numbers match as typed."""
    quoted = ("'" + t.replace("\\", "\\\\").replace("'", "''") + "':*" for t in tokens)
    return " & ".join(quoted)


class TaskRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    @property
    def dialect(self) -> str:
        return self.db.get_bind().dialect.name

    # One task --------------------------------------------------------------------------
    def get(self, task_id: str, *, lock: bool = False) -> Task | None:
        query = select(Task).where(Task.id == task_id, Task.deleted_at.is_(None))
        if lock:  # PostgreSQL: FOR UPDATE; SQLite writers are serialized already
            query = query.with_for_update()
        return self.db.scalar(query)

    def by_numbers(self, numbers: Iterable[str]) -> dict[str, Task]:
        found: dict[str, Task] = {}
        wanted = sorted(set(numbers))
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            for task in self.db.scalars(select(Task).where(Task.task_number.in_(chunk))):
                found[task.task_number] = task
        return found

    def add(self, task: Task) -> Task:
        self.db.add(task)
        self.db.flush()
        return task

    # Other domains' rows, read only -----------------------------------------------------
    def existing_clients(self, client_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(client_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            found.update(
                self.db.scalars(
                    select(Client.id).where(Client.id.in_(chunk), Client.deleted_at.is_(None))
                )
            )
        return found

    def client_exists(self, client_id: str) -> bool:
        return bool(self.existing_clients([client_id]))

    # Lists --------------------------------------------------------------------------------
    def conditions(self, query: TaskQuery | None) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [Task.deleted_at.is_(None)]
        if query is None:
            return conditions
        if query.status:
            conditions.append(Task.status.in_(sorted(set(query.status))))
        if query.priority:
            conditions.append(Task.priority.in_(sorted(set(query.priority))))
        if query.technician_id:
            conditions.append(Task.technician_id == query.technician_id)
        if query.client_id:
            conditions.append(Task.client_id == query.client_id)
        if query.date_range:
            conditions.append(
                Task.scheduled_date.between(query.date_range.start, query.date_range.end)
            )
        tokens = search_tokens(query.search)
        if tokens:
            conditions.append(self._search(tokens))
        return conditions

    def _search(self, tokens: list[str]) -> ColumnElement[bool]:
        if self.dialect == "postgresql":
            clause = text(f"{TSVECTOR_SQL} @@ to_tsquery('simple', :task_search)")
            return clause.bindparams(task_search=tsquery(tokens))  # type: ignore[return-value]
        clause = text(
            "tasks.rowid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH :task_search)"
        )
        return clause.bindparams(task_search=fts5_query(tokens))  # type: ignore[return-value]

    @staticmethod
    def order_by(query: TaskQuery | None) -> list[UnaryExpression[Any]]:
        sort_by = query.sort_by if query else None
        descending = (query.sort_order if query and query.sort_order else None) == "desc"
        if sort_by is None:
            sort_by = "created_at"
            descending = not (query and query.sort_order == "asc")
        column: Any
        if sort_by == "priority":  # by urgency, not alphabetically
            column = case({p: i for i, p in enumerate(PRIORITIES)}, value=Task.priority)
        elif sort_by == "status":  # by the life of a task
            column = case({s: i for i, s in enumerate(STATUSES)}, value=Task.status)
        else:
            column = getattr(Task, sort_by)
        first = column.desc() if descending else column.asc()
        if sort_by == "scheduled_date":  # undated tasks last, on both databases
            first = first.nulls_last()
        if sort_by == "task_number":
            return [first]
        # Ties in creation order (task numbers are unique and grow day by day).
        tiebreak = Task.task_number.desc() if descending else Task.task_number.asc()
        return [first, tiebreak]

    def list_statement(self, query: TaskQuery | None, offset: int, limit: int) -> Select[Any]:
        return (
            select(Task)
            .where(*self.conditions(query))
            .order_by(*self.order_by(query))
            .offset(offset)
            .limit(limit)
        )

    def page(self, query: TaskQuery | None, offset: int, limit: int) -> tuple[list[Task], int]:
        total = int(
            self.db.scalar(select(func.count()).select_from(Task).where(*self.conditions(query)))
            or 0
        )
        if total == 0 or offset >= total:
            return [], total
        return list(self.db.scalars(self.list_statement(query, offset, limit))), total

    def export_rows(self, query: TaskQuery | None, *, with_client: bool) -> Select[Any]:
        """The export's statement: plain columns (no ORM objects), clients outer-joined
        when asked; the caller streams it."""
        columns: list[Any] = list(Task.__table__.columns)
        statement = select(*columns)
        if with_client:
            statement = select(
                *columns,
                Client.name.label("client_name"),
                Client.email.label("client_email"),
                Client.phone.label("client_phone"),
                Client.company_name.label("client_company"),
            ).outerjoin(Client, Client.id == Task.client_id)
        return statement.where(*self.conditions(query)).order_by(*self.order_by(query))

    # Statistics ----------------------------------------------------------------------------
    def statistics_groups(
        self, query: TaskQuery | None, today: date, week_start_ms: int, month_start_ms: int
    ) -> list[tuple[str, str, str | None, int, int, int, int]]:
        """One pass over the matching tasks, grouped by (status, priority, technician):
        (status, priority, technician_id, count, overdue, completed this week, completed
        this month). With ``ix_tasks_live_stats`` the pass reads only that index."""

        def counted(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        overdue = and_(Task.scheduled_date < today, Task.status.not_in(sorted(CLOSED)))
        rows = self.db.execute(
            select(
                Task.status,
                Task.priority,
                Task.technician_id,
                func.count(),
                counted(overdue),
                counted(Task.completed_at >= week_start_ms),
                counted(Task.completed_at >= month_start_ms),
            )
            .where(*self.conditions(query))
            .group_by(Task.status, Task.priority, Task.technician_id)
        )
        return [(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows]

    # Assignment ---------------------------------------------------------------------------
    def open_tasks_of(self, user_id: str, day: date, *, except_id: str) -> list[Task]:
        """A person's tasks on a day that still take their time."""
        return list(
            self.db.scalars(
                select(Task)
                .where(
                    Task.technician_id == user_id,
                    Task.scheduled_date == day,
                    Task.status.not_in(sorted(CLOSED)),
                    Task.deleted_at.is_(None),
                    Task.id != except_id,
                )
                .order_by(Task.start_time.asc().nulls_last(), Task.task_number)
            )
        )
