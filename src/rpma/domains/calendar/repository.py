"""Every query of the calendar: its own events, and read-only queries on the tasks,
users and clients tables.

The scheduled-task reads below (``ScheduledTaskReads``) are a read-only query on the
tasks table, kept here together: the tasks domain offers no range read by day and
technician, and the calendar never writes a task.
"""

from __future__ import annotations

from datetime import date
from typing import Final, cast

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rpma.domains.calendar.models import CalendarEvent
from rpma.domains.clients.models import Client
from rpma.domains.tasks.models import Task
from rpma.domains.tasks.status import CLOSED
from rpma.domains.users.models import User

# Events that hold nobody's time: a cancelled event, a reminder.
NOT_BOOKING_TYPES: Final = ("reminder",)


class CalendarRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    def get(self, event_id: str, *, lock: bool = False) -> CalendarEvent | None:
        query = select(CalendarEvent).where(
            CalendarEvent.id == event_id, CalendarEvent.deleted_at.is_(None)
        )
        if lock:
            query = query.with_for_update()
        return self.db.scalar(query)

    def add(self, event: CalendarEvent) -> CalendarEvent:
        self.db.add(event)
        self.db.flush()
        return event

    def in_range(
        self,
        start_ms: int,
        end_ms: int,
        *,
        technician_id: str | None = None,
        booking_only: bool = False,
        exclude_id: str | None = None,
    ) -> list[CalendarEvent]:
        """Live events (series included) that may have an occurrence in
        ``[start_ms, end_ms)``: started before its end and not over before its start."""
        query = select(*CalendarEvent.__table__.columns).where(
            CalendarEvent.deleted_at.is_(None),
            CalendarEvent.start_at < end_ms,
            or_(CalendarEvent.series_end_at.is_(None), CalendarEvent.series_end_at > start_ms),
        )
        if technician_id is not None:
            query = query.where(CalendarEvent.technician_id == technician_id)
        if booking_only:
            query = query.where(
                CalendarEvent.status != "cancelled",
                CalendarEvent.event_type.not_in(NOT_BOOKING_TYPES),
            )
        if exclude_id is not None:
            query = query.where(CalendarEvent.id != exclude_id)
        query = query.order_by(CalendarEvent.start_at, CalendarEvent.id)
        # Plain rows with the model's column names, not ORM objects: a month of the shop
        # is thousands of rows that are only read, and building tracked instances took
        # half the time of such a read. Callers only read attributes.
        return cast(list[CalendarEvent], list(self.db.execute(query)))

    # Other domains' rows, read only ----------------------------------------------------
    def user(self, user_id: str) -> User | None:
        user = self.db.get(User, user_id)
        return user if user is not None and user.deleted_at is None else None

    def client_exists(self, client_id: str) -> bool:
        found = self.db.scalar(
            select(Client.id).where(Client.id == client_id, Client.deleted_at.is_(None))
        )
        return found is not None

    @property
    def tasks(self) -> ScheduledTaskReads:
        return ScheduledTaskReads(self.db)


class ScheduledTaskReads:
    """Read-only: live tasks with a scheduled date, by day range and technician."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def get(self, task_id: str) -> Task | None:
        return self.db.scalar(select(Task).where(Task.id == task_id, Task.deleted_at.is_(None)))

    def on_days(
        self,
        first: date,
        last: date,
        *,
        technician_id: str | None = None,
        open_only: bool = False,
        exclude_id: str | None = None,
    ) -> list[Task]:
        query = select(*Task.__table__.columns).where(
            Task.deleted_at.is_(None), Task.scheduled_date.between(first, last)
        )
        if technician_id is not None:
            query = query.where(Task.technician_id == technician_id)
        if open_only:
            query = query.where(Task.status.not_in(sorted(CLOSED)))
        if exclude_id is not None:
            query = query.where(Task.id != exclude_id)
        query = query.order_by(Task.scheduled_date, Task.start_time, Task.id)
        # Plain rows, as for events (read only, attribute access only).
        return cast(list[Task], list(self.db.execute(query)))
