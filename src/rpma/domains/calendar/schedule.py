"""A technician's (or the shop's) schedule over a range: events, the occurrences of
series, and scheduled tasks, as CalendarEvent-shaped items and as bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from rpma.core.clock import from_ms
from rpma.domains.calendar.models import CalendarEvent
from rpma.domains.calendar.recurrence import Series
from rpma.domains.calendar.repository import CalendarRepository
from rpma.domains.calendar.timespan import at_minutes_ms, days_touched, iso, midnight_ms
from rpma.domains.tasks.assignment import booked_minutes, window
from rpma.domains.tasks.models import Task

TASK_PREFIX: Final = "task:"
Item = dict[str, Any]  # the fields of schemas.CalendarEventOut
# How a task's status reads on the calendar.
_TASK_STATUS: Final = {"cancelled": "cancelled", "draft": "tentative", "on_hold": "tentative"}


@dataclass(frozen=True)
class Booking:
    """One stretch of someone's time: an event (or occurrence) or a task."""

    kind: str  # "event" | "task"
    item_id: str
    title: str
    event_type: str
    start_ms: int
    end_ms: int
    all_day: bool
    task_id: str | None
    event_id: str | None
    # Tasks only: their day and the minutes the assignment check counts for them.
    day: date | None = None
    load_minutes: int = 0

    def overlaps(self, start_ms: int, end_ms: int) -> bool:
        """Half-open: one ending at 10:00 leaves 10:00 free for the next. A task
        without a time fills its day's load but clashes with nothing (as in the
        assignment check)."""
        if self.kind == "task" and self.all_day:
            return False
        return self.start_ms < end_ms and start_ms < self.end_ms


def occurrence_id(series_id: str, start_ms: int) -> str:
    return f"{series_id}:{from_ms(start_ms):%Y%m%dT%H%M%SZ}"


def spans(row: CalendarEvent, start_ms: int, end_ms: int) -> list[tuple[str, int, int]]:
    """``(item id, start, end)`` of the event, or of each occurrence of a series, that
    overlaps ``[start_ms, end_ms)``."""
    if row.rrule is None:
        if row.start_at < end_ms and start_ms < row.end_at:
            return [(row.id, row.start_at, row.end_at)]
        return []
    series = Series(row.rrule, row.start_at, row.end_at, row.timezone)
    return [(occurrence_id(row.id, s), s, e) for s, e in series.between(start_ms, end_ms)]


def task_span(task: Task, tz: ZoneInfo) -> tuple[int, int, bool] | None:
    """A task's time on its day (shop-local HH:MM), or its whole day without a time."""
    if task.scheduled_date is None:
        return None
    minutes = window(task)
    if minutes is not None:
        day = task.scheduled_date
        return at_minutes_ms(day, minutes[0], tz), at_minutes_ms(day, minutes[1], tz), False
    first = midnight_ms(task.scheduled_date, tz)
    return first, midnight_ms(task.scheduled_date + timedelta(days=1), tz), True


def event_item(row: CalendarEvent, item_id: str, start_ms: int, end_ms: int) -> Item:
    """A CalendarEventOut as a plain dict: the values come from the database, already
    valid, and a month of the shop is thousands of items (a model per item cost a
    third of the read)."""
    return {
        "id": item_id,
        "title": row.title,
        "description": row.description,
        "event_type": row.event_type,
        "start_datetime": iso(start_ms),
        "end_datetime": iso(end_ms),
        "all_day": row.all_day,
        "technician_id": row.technician_id,
        "task_id": row.task_id,
        "client_id": row.client_id,
        "location": row.location,
        "status": row.status,
        "color": row.color,
        "rrule": row.rrule,
        "series_id": row.id if row.rrule is not None else None,
        "timezone": row.timezone,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "created_by": row.created_by,
        "updated_by": row.updated_by,
        "version": row.version,
    }


def task_item(task: Task, span: tuple[int, int, bool], tz: ZoneInfo) -> Item:
    start_ms, end_ms, all_day = span
    return {
        "id": TASK_PREFIX + task.id,
        "title": task.title,
        "description": task.description,
        "event_type": "task",
        "start_datetime": iso(start_ms),
        "end_datetime": iso(end_ms),
        "all_day": all_day,
        "technician_id": task.technician_id,
        "task_id": task.id,
        "client_id": task.client_id,
        "location": None,
        "status": _TASK_STATUS.get(task.status, "confirmed"),
        "color": None,
        "rrule": None,
        "series_id": None,
        "timezone": tz.key,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "created_by": task.created_by,
        "updated_by": task.updated_by,
        "version": task.version,
    }


class Schedule:
    """Reads over one range, in the shop's zone ``tz``."""

    def __init__(self, repo: CalendarRepository, tz: ZoneInfo) -> None:
        self.repo = repo
        self.tz = tz

    def items(
        self, start_ms: int, end_ms: int, technician_id: str | None, *, with_tasks: bool
    ) -> list[Item]:
        """get_events: every event, occurrence and (optionally) scheduled task, in the
        shape of CalendarEventOut."""
        found: list[tuple[int, str, Item]] = []
        for row in self.repo.in_range(start_ms, end_ms, technician_id=technician_id):
            for item_id, s, e in spans(row, start_ms, end_ms):
                found.append((s, item_id, event_item(row, item_id, s, e)))
        if with_tasks:
            for task, span in self.tasks_in(start_ms, end_ms, technician_id, open_only=False):
                found.append((span[0], TASK_PREFIX + task.id, task_item(task, span, self.tz)))
        found.sort(key=lambda entry: (entry[0], entry[1]))
        return [item for _, _, item in found]

    def bookings(
        self,
        technician_id: str,
        start_ms: int,
        end_ms: int,
        *,
        exclude_task_id: str | None = None,
        exclude_event_id: str | None = None,
        with_tasks: bool = True,
    ) -> list[Booking]:
        """What takes the technician's time in the range: events that are not
        cancelled nor reminders, and open tasks (not completed, cancelled, archived)."""
        found: list[Booking] = []
        rows = self.repo.in_range(
            start_ms,
            end_ms,
            technician_id=technician_id,
            booking_only=True,
            exclude_id=exclude_event_id,
        )
        for row in rows:
            for item_id, s, e in spans(row, start_ms, end_ms):
                found.append(
                    Booking(
                        "event",
                        item_id,
                        row.title,
                        row.event_type,
                        s,
                        e,
                        row.all_day,
                        row.task_id,
                        row.id,
                    )
                )
        tasks = (
            self.tasks_in(
                start_ms, end_ms, technician_id, open_only=True, exclude_id=exclude_task_id
            )
            if with_tasks
            else []
        )
        for task, span in tasks:
            found.append(
                Booking(
                    kind="task",
                    item_id=TASK_PREFIX + task.id,
                    title=task.title,
                    event_type="task",
                    start_ms=span[0],
                    end_ms=span[1],
                    all_day=span[2],
                    task_id=task.id,
                    event_id=None,
                    day=task.scheduled_date,
                    load_minutes=booked_minutes(task),
                )
            )
        found.sort(key=lambda b: (b.start_ms, b.item_id))
        return found

    def tasks_in(
        self,
        start_ms: int,
        end_ms: int,
        technician_id: str | None,
        *,
        open_only: bool,
        exclude_id: str | None = None,
    ) -> list[tuple[Task, tuple[int, int, bool]]]:
        # A task's window may run past its day's midnight: look one day back too.
        first, last = days_touched(start_ms, end_ms, self.tz)
        tasks = self.repo.tasks.on_days(
            first - timedelta(days=1),
            last,
            technician_id=technician_id,
            open_only=open_only,
            exclude_id=exclude_id,
        )
        found = []
        for task in tasks:
            span = task_span(task, self.tz)
            if span is not None and span[0] < end_ms and start_ms < span[1]:
                found.append((task, span))
        return found
