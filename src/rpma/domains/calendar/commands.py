"""The seed's Calendar Commands and calendar_export_ics. Thin: call the service,
answer. Every command counts against the ``calendar`` rate limit."""

from __future__ import annotations

from typing import Any

from rpma.core.commands import RateClass, command
from rpma.core.context import CommandContext
from rpma.core.errors import NotFound
from rpma.domains.calendar import ics
from rpma.domains.calendar.schemas import (
    CalendarEventOut,
    CheckConflictsRequest,
    ConflictDetection,
    CreateEventRequest,
    EventIdRequest,
    ExportIcsRequest,
    GetEventsRequest,
    IcsFile,
    SavedEvent,
    UpdateEventRequest,
)
from rpma.domains.calendar.service import CalendarService
from rpma.domains.settings.service import company_name

COMMON_ERRORS = ["VALIDATION_ERROR", "AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "RATE_LIMIT"]
REFERENCE_ERRORS = ["NOT_FOUND_USER", "NOT_FOUND_TASK", "NOT_FOUND_CLIENT"]


def service_for(ctx: CommandContext) -> CalendarService:
    return CalendarService(ctx.db, ctx.user, ctx.publish_after_commit)


@command(
    "get_events",
    request=GetEventsRequest,
    response=list[CalendarEventOut],
    permission="calendar.read",
    limit=RateClass.CALENDAR,
    writes=False,
    errors=[*COMMON_ERRORS, "NOT_FOUND_USER"],
)
def get_events(ctx: CommandContext, req: GetEventsRequest) -> list[dict[str, Any]]:
    """The calendar between `start_date` and `end_date` (a day `YYYY-MM-DD`, the end
    day included, or an ISO 8601 datetime, the end excluded; a datetime without offset
    is shop time; at most 366 days), optionally of one `technician_id`: events, each
    occurrence of a recurring event (`id` `<series_id>:<UTC start>`, `series_id` set)
    and, unless `include_tasks` is false, the scheduled tasks (`event_type` `task`,
    `id` `task:<task_id>`), ordered by start. Instants are UTC (`...Z`)."""
    return service_for(ctx).events(
        req.start_date, req.end_date, req.technician_id, with_tasks=req.include_tasks
    )


@command(
    "create_event",
    request=CreateEventRequest,
    response=SavedEvent,
    permission="calendar.write",
    limit=RateClass.CALENDAR,
    errors=[*COMMON_ERRORS, *REFERENCE_ERRORS],
)
def create_event(ctx: CommandContext, req: CreateEventRequest) -> SavedEvent:
    """Create an event from `event_data`: `title` (required, at most 200 characters),
    `start_date`/`end_date` (or `start_datetime`/`end_datetime`; required), `all_day`
    (default: true when both bounds are days; the end day is included), `event_type`
    (appointment, task, meeting, reminder, time_off, other; default other), `status`
    (confirmed, tentative, cancelled; default confirmed), `description`, `location`,
    `color`, `technician_id`, `task_id`, `client_id`, `rrule` (RFC 5545, e.g.
    `FREQ=WEEKLY;BYDAY=MO;COUNT=10`; the start must be its first occurrence). The end
    must be after the start. A technician creates events only for themselves (the
    default). Answers the event with `conflicts`: the technician's bookings it overlaps
    (allowed, reported)."""
    return service_for(ctx).create(req.event_data)


@command(
    "update_event",
    request=UpdateEventRequest,
    response=SavedEvent,
    permission="calendar.write",
    limit=RateClass.CALENDAR,
    errors=[*COMMON_ERRORS, *REFERENCE_ERRORS, "NOT_FOUND_EVENT", "CONFLICT"],
)
def update_event(ctx: CommandContext, req: UpdateEventRequest) -> SavedEvent:
    """Change the event `id` with `event_data` (any field of create_event; null clears
    an optional one; a series changes as a whole). `expected_version`, when given, must
    be the stored version (else 409 `CONFLICT`). A technician changes only their own
    events and cannot give one away. Answers the event with its `conflicts`."""
    return service_for(ctx).update(req.id, req.event_data, req.expected_version)


@command(
    "delete_event",
    request=EventIdRequest,
    response=bool,
    permission="calendar.write",
    limit=RateClass.CALENDAR,
    errors=[*COMMON_ERRORS, "NOT_FOUND_EVENT"],
)
def delete_event(ctx: CommandContext, req: EventIdRequest) -> bool:
    """Delete the event (or whole series) `id` (a soft delete); answers true. A
    technician deletes only their own events."""
    return service_for(ctx).delete(req.id)


@command(
    "calendar_check_conflicts",
    request=CheckConflictsRequest,
    response=ConflictDetection,
    permission="calendar.read",
    limit=RateClass.CALENDAR,
    writes=False,
    errors=[*COMMON_ERRORS, "NOT_FOUND_USER", "NOT_FOUND_TASK"],
)
def calendar_check_conflicts(ctx: CommandContext, req: CheckConflictsRequest) -> ConflictDetection:
    """Whether a slot clashes with a technician's schedule. The technician is
    `technician_id`, else the assignee of `task_id`. The slot is `new_date`
    (YYYY-MM-DD) from `new_start` to `new_end` (HH:MM, shop time; without `new_end`,
    `new_start` plus the task's estimated duration); without times, the task's own
    times moved to `new_date`; without either, the whole day, where only time off
    clashes. The task itself and `exclude_event_id` are left out. Answers
    `{has_conflicts, conflicts: [{conflict_type (time_overlap | technician_overload),
    task_id, task_title, event_id, event_title, event_type, start_datetime,
    end_datetime, message}]}`; overload is the day's booked minutes, the slot included,
    over the working hours."""
    return service_for(ctx).check_conflicts(req)


@command(
    "calendar_export_ics",
    request=ExportIcsRequest,
    response=IcsFile,
    permission="calendar.read",
    limit=RateClass.CALENDAR,
    writes=False,
    errors=[*COMMON_ERRORS, "NOT_FOUND_USER"],
)
def calendar_export_ics(ctx: CommandContext, req: ExportIcsRequest) -> IcsFile:
    """A technician's (`technician_id`) or the shop's schedule between `start_date` and
    `end_date` (as get_events) as an iCalendar file: `{filename, content_type
    (text/calendar), content, event_count}`. Series keep their RRULE, tasks are
    events, UIDs are stable, times carry the shop's time zone."""
    service = service_for(ctx)
    name = company_name(ctx.db)
    if req.technician_id is not None:
        user = service.repo.user(req.technician_id)
        if user is None:
            raise NotFound("NOT_FOUND_USER", "User not found", user_id=req.technician_id)
        name = f"{name} - {user.full_name or user.email}"
    return ics.export(
        service.repo,
        service.tz,
        req.start_date,
        req.end_date,
        req.technician_id,
        with_tasks=req.include_tasks,
        calendar_name=name,
    )
