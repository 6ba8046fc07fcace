"""check_task_assignment and check_task_availability (DOMAIN.md "Tasks", CONTRACT.md
section 8 "Assignment check"). Overlaps and overload are reported, never enforced: a
supervisor may overbook knowingly. Time off in the person's calendar is the exception:
someone away cannot take the task (``can_assign`` false, the time off in ``conflicts``)."""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy.orm import Session

from rpma.core.errors import NotFound
from rpma.domains.settings.service import WORKING_HOURS_START_KEY, get_setting
from rpma.domains.settings.service import working_hours as settings_working_hours
from rpma.domains.tasks.models import Task
from rpma.domains.tasks.schemas import AssignmentCheckResponse, AvailabilityCheckResponse
from rpma.domains.tasks.service import TaskService
from rpma.domains.tasks.status import CLOSED

WORKING_HOURS_KEY: Final = "general.working_hours"
DEFAULT_WORKING_HOURS: Final = (8 * 60, 18 * 60)  # 08:00 to 18:00
_ASSIGNABLE: Final = frozenset({"technician", "supervisor"})
_TIME: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def minutes(hhmm: str | None) -> int | None:
    match = _TIME.fullmatch(hhmm or "")
    return int(match[1]) * 60 + int(match[2]) if match else None


def hhmm(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def window(task: Task) -> tuple[int, int] | None:
    """The task's half-open time window [start, end) in minutes of its day: the end
    given, else the start plus the estimated duration; None without a start."""
    start = minutes(task.start_time)
    if start is None:
        return None
    end = minutes(task.end_time)
    if end is None and task.estimated_duration:
        end = start + task.estimated_duration
    return (start, end) if end is not None and end > start else None


def booked_minutes(task: Task) -> int:
    span = window(task)
    if span is not None:
        return span[1] - span[0]
    return task.estimated_duration or 0


def working_hours(db: Session) -> tuple[int, int]:
    """The shop's working day in minutes, the same for this check and the calendar's:
    the settings domain's ``general.working_hours_start``/``_end`` when set, else the
    setting ``general.working_hours`` (``{"start": "08:00", "end": "18:00"}``,
    ``["08:00", "18:00"]`` or ``"08:00-18:00"``), else 08:00 to 18:00."""
    if get_setting(db, WORKING_HOURS_START_KEY) is not None:
        start_time, end_time = settings_working_hours(db)
        return start_time.hour * 60 + start_time.minute, end_time.hour * 60 + end_time.minute
    value: Any = get_setting(db, WORKING_HOURS_KEY)
    pair: tuple[Any, Any] | None = None
    if isinstance(value, dict):
        pair = (value.get("start"), value.get("end"))
    elif isinstance(value, list | tuple) and len(value) == 2:
        pair = (value[0], value[1])
    elif isinstance(value, str) and "-" in value:
        first, _, second = value.partition("-")
        pair = (first.strip(), second.strip())
    if pair is not None:
        start = minutes(pair[0] if isinstance(pair[0], str) else None)
        end = minutes(pair[1] if isinstance(pair[1], str) else None)
        if start is not None and end is not None and end > start:
            return start, end
    return DEFAULT_WORKING_HOURS


def check_assignment(service: TaskService, task_id: str, user_id: str) -> AssignmentCheckResponse:
    task = service.get(task_id)
    user = service.users.get(user_id)
    if user is None:
        raise NotFound("NOT_FOUND_USER", "User not found", user_id=user_id)
    who = user.full_name or user.email
    if not user.is_active:
        return AssignmentCheckResponse(can_assign=False, conflicts=[f"{who} is inactive"])
    if user.role not in _ASSIGNABLE:
        return AssignmentCheckResponse(
            can_assign=False,
            conflicts=[
                f"{who} has the {user.role} role; only technicians and supervisors take tasks"
            ],
        )
    if task.scheduled_date is None:
        return AssignmentCheckResponse(can_assign=True, conflicts=[])
    # Imported here: the calendar domain builds on the tasks domain, not the reverse.
    from rpma.domains.calendar.conflicts import for_assignment

    conflicts: list[str] = []
    others = service.tasks.open_tasks_of(user.id, task.scheduled_date, except_id=task.id)
    mine = window(task)
    for other in others:
        theirs = window(other)
        # Half-open intervals: one ending at 10:00 leaves 10:00 free for the next.
        if mine and theirs and mine[0] < theirs[1] and theirs[0] < mine[1]:
            conflicts.append(
                f"Overlaps task {other.task_number} ({other.title}) from "
                f"{hhmm(theirs[0])} to {hhmm(theirs[1])} on {task.scheduled_date}"
            )
    # The person's calendar: overlapping events are conflicts, time off makes them
    # unavailable, events fill the day (clipped to the working hours).
    calendar, on_time_off, event_minutes = for_assignment(
        service.db, user.id, who, task.scheduled_date, mine
    )
    conflicts += calendar
    start, end = working_hours(service.db)
    booked = booked_minutes(task) + sum(booked_minutes(o) for o in others) + event_minutes
    if booked > end - start:
        conflicts.append(
            f"Day overloaded: {booked} minutes booked on {task.scheduled_date}, over the "
            f"working hours {hhmm(start)}-{hhmm(end)} ({end - start} minutes)"
        )
    return AssignmentCheckResponse(can_assign=not on_time_off, conflicts=conflicts)


def active_intervention(db: Session, task_id: str) -> dict[str, Any] | None:
    """The task's active intervention (pending, in_progress or paused), as the
    interventions domain answers it."""
    # Imported here: the interventions domain builds on the tasks domain, not the reverse.
    from rpma.domains.interventions.repository import InterventionRepository
    from rpma.domains.interventions.schemas import InterventionOut

    row = InterventionRepository(db).active_for_task(task_id)
    return InterventionOut.of(row).model_dump(mode="json") if row is not None else None


def check_availability(service: TaskService, task_id: str) -> AvailabilityCheckResponse:
    task = service.get(task_id)
    if task.status in CLOSED:
        return AvailabilityCheckResponse(is_available=False, reason=f"The task is {task.status}")
    active = active_intervention(service.db, task.id)
    if active is not None:
        return AvailabilityCheckResponse(
            is_available=False,
            reason="The task already has an active intervention",
            active_intervention=active,
        )
    return AvailabilityCheckResponse(is_available=True)
