"""Scheduling conflicts (DOMAIN.md "Calendar"; seed: calendar_check_conflicts).

``time_overlap``: a half-open overlap ``[start, end)`` with another booking of the same
technician (an event that is not cancelled nor a reminder, an occurrence of a series,
time off, an open task with a time). ``technician_overload``: the day's booked minutes
(open tasks as the assignment check counts them, events clipped to the working hours,
plus the slot being checked) exceed the working hours. Conflicts are reported, never
enforced: a supervisor may overbook knowingly.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from rpma.core.errors import NotFound
from rpma.domains.calendar.repository import CalendarRepository
from rpma.domains.calendar.schedule import Booking, Schedule
from rpma.domains.calendar.schemas import CheckConflictsRequest, ConflictDetection, ConflictEntry
from rpma.domains.calendar.timespan import (
    MS_PER_DAY,
    MS_PER_MINUTE,
    at_minutes_ms,
    hhmm_minutes,
    invalid,
    iso,
    local_text,
    midnight_ms,
)
from rpma.domains.tasks.assignment import booked_minutes, hhmm, window, working_hours
from rpma.domains.tasks.models import Task

# Saved events are checked over their first weeks: enough to warn, bounded in cost.
SAVED_CHECK_DAYS: Final = 90
MAX_REPORTED: Final = 50


def overlap_entry(booking: Booking, tz: ZoneInfo) -> ConflictEntry:
    is_task = booking.kind == "task"
    what = "task" if is_task else booking.event_type.replace("_", " ")
    return ConflictEntry(
        conflict_type="time_overlap",
        task_id=booking.task_id,
        task_title=booking.title if is_task else None,
        event_id=None if is_task else booking.item_id,
        event_title=None if is_task else booking.title,
        event_type=booking.event_type,
        start_datetime=iso(booking.start_ms),
        end_datetime=iso(booking.end_ms),
        message=f"Overlaps {what} '{booking.title}' from {local_text(booking.start_ms, tz)} "
        f"to {local_text(booking.end_ms, tz)}",
    )


def clipped_minutes(booking: Booking, start_ms: int, end_ms: int) -> int:
    overlap = min(booking.end_ms, end_ms) - max(booking.start_ms, start_ms)
    return max(0, overlap) // MS_PER_MINUTE


def day_load(bookings: list[Booking], day: date, work: tuple[int, int], tz: ZoneInfo) -> int:
    """Minutes booked on ``day``: its open tasks as the assignment check counts them,
    events clipped to the working hours."""
    work_start, work_end = at_minutes_ms(day, work[0], tz), at_minutes_ms(day, work[1], tz)
    total = 0
    for booking in bookings:
        if booking.kind == "task":
            total += booking.load_minutes if booking.day == day else 0
        else:
            total += clipped_minutes(booking, work_start, work_end)
    return total


class ConflictChecker:
    def __init__(self, db: Session, repo: CalendarRepository, tz: ZoneInfo) -> None:
        self.db = db
        self.repo = repo
        self.tz = tz
        self.schedule = Schedule(repo, tz)

    def check(self, req: CheckConflictsRequest) -> ConflictDetection:
        day = date.fromisoformat(req.new_date)
        task = None
        if req.task_id is not None:
            task = self.repo.tasks.get(req.task_id)
            if task is None:
                raise NotFound("NOT_FOUND_TASK", "Task not found", task_id=req.task_id)
        technician_id = req.technician_id or (task.technician_id if task else None)
        if technician_id is None:
            raise invalid("technician_id", "name a technician_id, or a task_id of an assigned task")
        if self.repo.user(technician_id) is None:
            raise NotFound("NOT_FOUND_USER", "User not found", user_id=technician_id)
        slot = self._slot(req, task)
        day_start, day_end = (
            midnight_ms(day, self.tz),
            midnight_ms(day + timedelta(days=1), self.tz),
        )
        slot_ms = None
        if slot is not None:
            slot_ms = at_minutes_ms(day, slot[0], self.tz), at_minutes_ms(day, slot[1], self.tz)
        bookings = self.schedule.bookings(
            technician_id,
            min(day_start, slot_ms[0] if slot_ms else day_start),
            max(day_end, slot_ms[1] if slot_ms else day_end),
            exclude_task_id=task.id if task else None,
            exclude_event_id=req.exclude_event_id,
        )
        work = working_hours(self.db)
        conflicts: list[ConflictEntry] = []
        if slot_ms is not None:
            clashes = [b for b in bookings if b.overlaps(*slot_ms)]
        else:  # no time to clash with: only time off during the working day counts
            work_ms = at_minutes_ms(day, work[0], self.tz), at_minutes_ms(day, work[1], self.tz)
            clashes = [b for b in bookings if b.event_type == "time_off" and b.overlaps(*work_ms)]
        conflicts += [overlap_entry(b, self.tz) for b in clashes]
        own = 0
        if slot is not None:
            own = slot[1] - slot[0]
        elif task is not None:
            own = booked_minutes(task)
        booked = own + day_load(bookings, day, work, self.tz)
        if booked > work[1] - work[0]:
            conflicts.append(
                ConflictEntry(
                    conflict_type="technician_overload",
                    task_id=task.id if task else None,
                    task_title=task.title if task else None,
                    message=f"Day overloaded: {booked} minutes booked on {day}, over the "
                    f"working hours {hhmm(work[0])}-{hhmm(work[1])} "
                    f"({work[1] - work[0]} minutes)",
                )
            )
        return ConflictDetection(has_conflicts=bool(conflicts), conflicts=conflicts)

    def _slot(self, req: CheckConflictsRequest, task: Task | None) -> tuple[int, int] | None:
        """The minutes ``[start, end)`` to check on ``new_date``: the given times (the
        end defaults to the start plus the task's estimated duration), else the task's
        own times moved to that day, else none (the whole day)."""
        if req.new_start is None:
            if req.new_end is not None:
                raise invalid("new_start", "required with new_end")
            return window(task) if task is not None else None
        start = hhmm_minutes(req.new_start) or 0
        if req.new_end is not None:
            end = hhmm_minutes(req.new_end) or 0
        elif task is not None and task.estimated_duration:
            end = start + task.estimated_duration
        else:
            raise invalid("new_end", "required (the task has no estimated_duration)")
        if end <= start:
            raise invalid("new_end", f"{req.new_end} must be after new_start {req.new_start}")
        return start, end

    def for_event(
        self, technician_id: str | None, spans: list[tuple[int, int]], exclude_event_id: str | None
    ) -> list[ConflictEntry]:
        """A saved event's overlaps with the technician's other bookings."""
        if technician_id is None or not spans:
            return []
        start_ms, end_ms = min(s for s, _ in spans), max(e for _, e in spans)
        bookings = self.schedule.bookings(
            technician_id, start_ms, end_ms, exclude_event_id=exclude_event_id
        )
        seen: dict[str, ConflictEntry] = {}
        for booking in bookings:
            if booking.item_id not in seen and any(booking.overlaps(s, e) for s, e in spans):
                seen[booking.item_id] = overlap_entry(booking, self.tz)
                if len(seen) >= MAX_REPORTED:
                    break
        return list(seen.values())


def saved_check_window(start_ms: int) -> tuple[int, int]:
    return start_ms, start_ms + SAVED_CHECK_DAYS * MS_PER_DAY


def for_assignment(
    db: Session, user_id: str, who: str, day: date, minutes: tuple[int, int] | None
) -> tuple[list[str], bool, int]:
    """The assignment check's view of a person's calendar on a task's day: messages for
    overlapping events, whether time off makes them unavailable (it overlaps the task's
    time, or the working hours of a task without one), and the events' minutes within
    the working hours."""
    from rpma.domains.settings.service import shop_timezone

    tz = shop_timezone(db)
    work = working_hours(db)
    repo = CalendarRepository(db)
    bookings = Schedule(repo, tz).bookings(
        user_id, midnight_ms(day, tz), midnight_ms(day + timedelta(days=1), tz), with_tasks=False
    )
    span = minutes or work
    span_ms = at_minutes_ms(day, span[0], tz), at_minutes_ms(day, span[1], tz)
    messages: list[str] = []
    unavailable = False
    for booking in bookings:
        if not booking.overlaps(*span_ms):
            continue
        when = f"from {local_text(booking.start_ms, tz)} to {local_text(booking.end_ms, tz)}"
        if booking.event_type == "time_off":
            unavailable = True
            messages.append(f"{who} is on time off ({booking.title}) {when}")
        elif minutes is not None:
            kind = booking.event_type.replace("_", " ")
            messages.append(f"Overlaps {kind} '{booking.title}' {when}")
    return messages, unavailable, day_load(bookings, day, work, tz)
