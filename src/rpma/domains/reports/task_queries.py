"""Aggregate SQL over tasks: every figure is a GROUP BY in the database; Python only
adds up the handful of groups that come back.

A task belongs to the range by its ``scheduled_date``, or by the shop-local day it was
created when it has none. "Done" means completed or archived (archiving only files a
completed task away).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from rpma.domains.reports.scope import ReportScope, count_if, epoch_day
from rpma.domains.tasks.models import Task

DONE: Final = ("completed", "archived")


def task_in_range(scope: ReportScope, *, with_status: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE of "the tasks of this report": range, subjects, statuses, not deleted."""
    conditions: list[ColumnElement[bool]] = [
        Task.deleted_at.is_(None),
        or_(
            and_(Task.scheduled_date >= scope.start, Task.scheduled_date <= scope.end),
            and_(
                Task.scheduled_date.is_(None),
                Task.created_at >= scope.start_ms,
                Task.created_at < scope.end_ms,
            ),
        ),
    ]
    conditions.extend(task_subjects(scope))
    if with_status and scope.statuses:
        conditions.append(Task.status.in_(scope.statuses))
    return conditions


def task_subjects(scope: ReportScope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if scope.technician_id is not None:
        conditions.append(Task.technician_id == scope.technician_id)
    if scope.client_id is not None:
        conditions.append(Task.client_id == scope.client_id)
    return conditions


def task_before_range(scope: ReportScope) -> ColumnElement[bool]:
    return or_(
        Task.scheduled_date < scope.start,
        and_(Task.scheduled_date.is_(None), Task.created_at < scope.start_ms),
    )


def task_day(scope: ReportScope) -> ColumnElement[int]:
    """The task's day (days since 1970-01-01): its scheduled date, else its creation day."""
    return case(
        (Task.scheduled_date.is_not(None), epoch_day(Task.scheduled_date)),
        else_=scope.local_day(Task.created_at),
    )


def _is_done() -> ColumnElement[bool]:
    return Task.status.in_(DONE)


@dataclass(frozen=True)
class StatusTechnicianGroup:
    status: str
    technician_id: str | None
    tasks: int
    duration_sum: float  # minutes, over tasks with an actual duration
    duration_count: int


def tasks_by_status_and_technician(db: Session, scope: ReportScope) -> list[StatusTechnicianGroup]:
    rows = db.execute(
        select(
            Task.status,
            Task.technician_id,
            func.count(),
            func.coalesce(func.sum(Task.actual_duration), 0),
            func.count(Task.actual_duration),
        )
        .where(*task_in_range(scope))
        .group_by(Task.status, Task.technician_id)
    )
    return [
        StatusTechnicianGroup(row[0], row[1], int(row[2]), float(row[3] or 0), int(row[4]))
        for row in rows
    ]


@dataclass(frozen=True)
class DayGroup:
    day_number: int
    tasks: int
    done: int


def tasks_by_day(db: Session, scope: ReportScope) -> list[DayGroup]:
    """Tasks and done tasks per day of the range (days without tasks are absent)."""
    day = task_day(scope).label("day")
    rows = db.execute(
        select(day, func.count(), count_if(_is_done()))
        .where(*task_in_range(scope))
        .group_by(day)
        .order_by(day)
    )
    return [DayGroup(int(row[0]), int(row[1]), int(row[2])) for row in rows]


@dataclass(frozen=True)
class TechnicianTaskFigures:
    technician_id: str
    done: int
    duration_sum: float
    duration_count: int
    on_time: int


def done_tasks_by_technician(db: Session, scope: ReportScope) -> list[TechnicianTaskFigures]:
    """Done tasks per technician, with the on-time ones: finished on or before the
    scheduled day in the shop's calendar (a task without a date, or without a recorded
    finish, has nothing to be late against)."""
    on_time = or_(
        Task.scheduled_date.is_(None),
        Task.completed_at.is_(None),
        scope.local_day(Task.completed_at) <= epoch_day(Task.scheduled_date),
    )
    rows = db.execute(
        select(
            Task.technician_id,
            func.count(),
            func.coalesce(func.sum(Task.actual_duration), 0),
            func.count(Task.actual_duration),
            count_if(on_time),
        )
        .where(*task_in_range(scope), _is_done(), Task.technician_id.is_not(None))
        .group_by(Task.technician_id)
    )
    return [
        TechnicianTaskFigures(str(row[0]), int(row[1]), float(row[2]), int(row[3]), int(row[4]))
        for row in rows
    ]


@dataclass(frozen=True)
class ClientTaskFigures:
    client_id: str
    tasks: int
    done: int


def top_clients_by_tasks(db: Session, scope: ReportScope, limit: int) -> list[ClientTaskFigures]:
    count = func.count().label("tasks")
    rows = db.execute(
        select(Task.client_id, count, count_if(_is_done()))
        .where(*task_in_range(scope), Task.client_id.is_not(None))
        .group_by(Task.client_id)
        .order_by(count.desc(), Task.client_id)
        .limit(limit)
    )
    return [ClientTaskFigures(str(row[0]), int(row[1]), int(row[2])) for row in rows]


def clients_with_work(db: Session, scope: ReportScope) -> tuple[int, int]:
    """(clients with tasks in the range, those of them who also had tasks before it)."""
    in_range = (
        select(Task.client_id.label("client_id"))
        .where(*task_in_range(scope), Task.client_id.is_not(None))
        .distinct()
        .subquery()
    )
    earlier = Task.__table__.alias("earlier")
    before = (
        select(literal(1))
        .select_from(earlier)
        .where(
            earlier.c.client_id == in_range.c.client_id,
            earlier.c.deleted_at.is_(None),
            or_(
                earlier.c.scheduled_date < scope.start,
                and_(earlier.c.scheduled_date.is_(None), earlier.c.created_at < scope.start_ms),
            ),
            *_alias_subjects(earlier.c, scope),
        )
        .exists()
    )
    row = db.execute(select(func.count(), count_if(before)).select_from(in_range)).one()
    return int(row[0]), int(row[1])


def _alias_subjects(columns: Any, scope: ReportScope) -> Sequence[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if scope.technician_id is not None:
        conditions.append(columns.technician_id == scope.technician_id)
    if scope.statuses:
        conditions.append(columns.status.in_(scope.statuses))
    return conditions


def count_tasks(db: Session, scope: ReportScope, statuses: Sequence[str]) -> int:
    query = select(func.count()).select_from(Task).where(*task_in_range(scope))
    if statuses:
        query = query.where(Task.status.in_(statuses))
    return int(db.scalar(query) or 0)
