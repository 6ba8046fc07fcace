"""What the calendar commands take and answer (seed: Calendar Commands; DOMAIN.md
"Calendar"; CONTRACT.md section 8 "Calendar").

Text is stored as typed: control characters dropped, ends trimmed, refused (never cut)
over its limit; blank optional text is null. Dates and datetimes are strings checked
here and resolved in the shop's time zone by the service (timespan.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from rpma.core.commands import IpcRequest
from rpma.core.validation import encodable, invalid, record_id, text_field
from rpma.domains.calendar.timespan import MAX_MOMENT_LENGTH, hhmm_minutes, moment_problem

EventType = Literal["appointment", "task", "meeting", "reminder", "time_off", "other"]
EventStatus = Literal["confirmed", "tentative", "cancelled"]
ConflictType = Literal["time_overlap", "technician_overload"]
EVENT_TYPES: Final = ("appointment", "task", "meeting", "reminder", "time_off", "other")
_COLOR_RE: Final = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})|[a-zA-Z]{3,20}")
_ID_MAX: Final = 64


def _moment(value: str) -> str:
    problem = moment_problem(encodable(value, "the date"))
    if problem is not None:
        raise invalid(problem)
    return value.strip()


def _hhmm(value: str) -> str:
    if hhmm_minutes(value) is None:
        raise invalid("must be a time HH:MM (00:00 to 23:59)")
    return value


def _color(value: str) -> str | None:
    if not value.strip():
        return None
    if not _COLOR_RE.fullmatch(value.strip()):
        raise invalid("must be #RGB, #RRGGBB or a colour name of letters")
    return value.strip()


def _rrule(value: str) -> str | None:
    # Checked for real by recurrence.canonical, which needs the event's start.
    return encodable(value, "the RRULE").strip() or None


Id = Annotated[str, Field(min_length=1, max_length=_ID_MAX), AfterValidator(record_id)]
MomentText = Annotated[
    str, Field(min_length=1, max_length=MAX_MOMENT_LENGTH), AfterValidator(_moment)
]
Title = Annotated[str, text_field(200, "title", required=True)]
Description = Annotated[str, text_field(5000, "description")]
Location = Annotated[str, text_field(200, "location")]
Color = Annotated[str, Field(max_length=32), AfterValidator(_color)]
RRule = Annotated[str, Field(max_length=600), AfterValidator(_rrule)]
HhMm = Annotated[str, Field(max_length=5), AfterValidator(_hhmm)]


# Requests -------------------------------------------------------------------------------
class GetEventsRequest(IpcRequest):
    """The seed's GetEventsRequest, plus ``include_tasks``."""

    start_date: MomentText
    end_date: MomentText
    technician_id: Id | None = None
    include_tasks: bool = True


class EventFields(IpcRequest):
    """The fields shared by create and update. The seed's create names the bounds
    ``start_date``/``end_date``; DOMAIN.md's event names them ``start_datetime``/
    ``end_datetime``: either spelling is accepted (not both)."""

    description: Description | None = None
    start_date: MomentText | None = None
    end_date: MomentText | None = None
    start_datetime: MomentText | None = None
    end_datetime: MomentText | None = None
    all_day: bool | None = None
    technician_id: Id | None = None
    task_id: Id | None = None
    client_id: Id | None = None
    location: Location | None = None
    color: Color | None = None
    rrule: RRule | None = None


class EventCreateData(EventFields):
    title: Title
    event_type: EventType = "other"
    status: EventStatus = "confirmed"


class EventUpdateData(EventFields):
    """Partial<CalendarEvent>: a field left out stays; null clears an optional one.
    Read-only fields a client sends back (id, version, created_at...) are ignored."""

    title: Title | None = None
    event_type: EventType | None = None
    status: EventStatus | None = None


class CreateEventRequest(IpcRequest):
    event_data: EventCreateData


class UpdateEventRequest(IpcRequest):
    id: Id
    event_data: EventUpdateData
    expected_version: int | None = Field(default=None, ge=1)


class EventIdRequest(IpcRequest):
    id: Id


class CheckConflictsRequest(IpcRequest):
    """The seed's CheckConflictsRequest plus ``technician_id`` (CONTRACT.md section 8)
    and ``exclude_event_id`` (checking an event's own move)."""

    task_id: Id | None = None
    technician_id: Id | None = None
    new_date: Annotated[str, Field(min_length=10, max_length=10), AfterValidator(_moment)]
    new_start: HhMm | None = None
    new_end: HhMm | None = None
    exclude_event_id: Id | None = None


class ExportIcsRequest(IpcRequest):
    start_date: MomentText
    end_date: MomentText
    technician_id: Id | None = None
    include_tasks: bool = True


# Answers ---------------------------------------------------------------------------------
class CalendarEventOut(BaseModel):
    """DOMAIN.md's CalendarEvent. An occurrence of a series has ``id``
    ``<series_id>:<its UTC start, YYYYMMDDTHHMMSSZ>`` and ``series_id``; a scheduled
    task has ``id`` ``task:<task_id>``, ``event_type`` ``task`` and ``task_id``."""

    id: str
    title: str
    description: str | None
    event_type: str
    start_datetime: str
    end_datetime: str
    all_day: bool
    technician_id: str | None
    task_id: str | None
    client_id: str | None
    location: str | None
    status: str
    color: str | None
    rrule: str | None
    series_id: str | None
    timezone: str
    created_at: int
    updated_at: int
    created_by: str | None
    updated_by: str | None
    version: int


class ConflictEntry(BaseModel):
    """One entry of the seed's ConflictDetection. ``task_id``/``task_title`` name the
    clashing task (or, for an overload, the task being checked); ``event_id``/
    ``event_title``/``event_type`` the clashing event; ``message`` says it in words."""

    task_id: str | None = None
    task_title: str | None = None
    conflict_type: ConflictType
    event_id: str | None = None
    event_title: str | None = None
    event_type: str | None = None
    start_datetime: str | None = None
    end_datetime: str | None = None
    message: str


class ConflictDetection(BaseModel):
    has_conflicts: bool
    conflicts: list[ConflictEntry]


class SavedEvent(CalendarEventOut):
    """create_event and update_event: the event, and the bookings of the same
    technician it overlaps (allowed; shown so the client can warn)."""

    conflicts: list[ConflictEntry]


class IcsFile(BaseModel):
    filename: str
    content_type: str
    content: str
    event_count: int
