"""What tasks look like on the wire, and the rules every task field obeys (DOMAIN.md
"Tasks"). The same models check the API's Create/Update and each row of a CSV import."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from rpma.core.clock import clock
from rpma.core.commands import ActionRequest, IpcRequest
from rpma.core.pagination import PageInfo, Pagination
from rpma.core.validation import (
    FieldValidationError,
    clean_text,
    encodable,
    invalid,
    record_id,
    text_field,
)
from rpma.domains.tasks.models import Task
from rpma.domains.tasks.status import CLOSED, TaskPriority, TaskStatus

ZONES: Final = (
    "hood",
    "front_bumper",
    "front_fenders",
    "headlights",
    "front_grille",
    "side_mirrors",
    "door_handles",
    "side_panels",
    "rocker_panels",
    "rear_bumper",
    "rear_fenders",
    "trunk_lid",
    "taillights",
    "roof",
    "a_pillars",
    "full_front",
    "full_vehicle",
)
CUSTOM_ZONE_PREFIX: Final = "custom:"
SORTABLE: Final = (
    "scheduled_date",
    "created_at",
    "updated_at",
    "priority",
    "status",
    "task_number",
    "title",
)
FilmType = Literal["standard", "premium", "matte", "colored"]

_VIN_RE: Final = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_TIME_RE: Final = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


# Field rules ---------------------------------------------------------------------------
def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        raise invalid("must be a date (YYYY-MM-DD)")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value.strip()):
        raise invalid("must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise invalid(f"{value.strip()} is not a calendar date") from None


def _day(value: Any) -> Any:
    """A date, or the date part of an ISO 8601 datetime (a JavaScript Date)."""
    if isinstance(value, str) and len(value.strip()) > 10:
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
        except ValueError:
            raise invalid("must be a date (YYYY-MM-DD) or an ISO 8601 datetime") from None
    return _date(value)


def _time(value: str) -> str:
    if not _TIME_RE.fullmatch(value):
        raise invalid("must be a time HH:MM (00:00 to 23:59)")
    return value


def _vin(value: str) -> str:
    vin = value.strip().upper()
    if not _VIN_RE.fullmatch(vin):
        raise invalid("a VIN is 17 letters and digits, without I, O or Q")
    return vin


def _year(value: int) -> int:
    latest = clock.now().year + 1
    if not 1900 <= value <= latest:
        raise invalid(f"must be between 1900 and {latest}")
    return value


def _zone(value: str) -> str:
    zone = encodable(value, "a zone").strip()
    if zone in ZONES:
        return zone
    if zone.startswith(CUSTOM_ZONE_PREFIX):
        label = zone[len(CUSTOM_ZONE_PREFIX) :].strip()
        if not label:
            raise invalid("a custom zone needs a name after 'custom:'")
        try:
            label = clean_text(label, 100, field="A custom zone name")
        except FieldValidationError as exc:
            raise invalid(exc.message) from None
        return CUSTOM_ZONE_PREFIX + label
    raise invalid(f"unknown zone {zone[:40]!r}: use {', '.join(ZONES)} or 'custom:<name>'")


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v))


Title = Annotated[str, text_field(200, "title")]
Plate = Annotated[str, text_field(20, "vehicle_plate", required=True)]
Make = Annotated[str, text_field(64, "vehicle_make")]
Model = Annotated[str, text_field(64, "vehicle_model")]
Color = Annotated[str, text_field(32, "vehicle_color")]
Description = Annotated[str, text_field(5000, "description")]
Notes = Annotated[str, text_field(10_000, "notes")]
Reason = Annotated[str, text_field(500, "reason", required=True)]
OptionalReason = Annotated[str, text_field(500, "reason")]
Vin = Annotated[str, AfterValidator(_vin)]
Year = Annotated[int, AfterValidator(_year)]
Zone = Annotated[str, AfterValidator(_zone)]
Tag = Annotated[str, text_field(50, "tag")]
Time = Annotated[str, AfterValidator(_time)]
Minutes = Annotated[int, Field(ge=1, le=1440)]
Day = Annotated[date, BeforeValidator(_date)]
AnyDay = Annotated[date, BeforeValidator(_day)]
Id = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(record_id)]
Zones = Annotated[list[Zone], Field(max_length=40), AfterValidator(_unique)]
Tags = Annotated[list[Tag], Field(max_length=30), AfterValidator(_unique)]


def check_window(start: str | None, end: str | None) -> None:
    if start and end and end <= start:
        raise invalid(f"end_time {end} must be after start_time {start}")


class TaskFields(IpcRequest):
    """Every field a caller may set; absent fields are left alone (Update) or take
    their default (Create)."""

    title: Title | None = None
    description: Description | None = None
    vehicle_make: Make | None = None
    vehicle_model: Model | None = None
    vehicle_year: Year | None = None
    vin: Vin | None = None
    vehicle_color: Color | None = None
    ppf_zones: Zones | None = None
    film_type: FilmType | None = None
    priority: TaskPriority | None = None
    client_id: Id | None = None
    technician_id: Id | None = None
    scheduled_date: Day | None = None
    start_time: Time | None = None
    end_time: Time | None = None
    estimated_duration: Minutes | None = None
    notes: Notes | None = None
    tags: Tags | None = None


class TaskCreateData(TaskFields):
    vehicle_plate: Plate

    @model_validator(mode="after")
    def _rules(self) -> TaskCreateData:
        if not self.title and not self.vehicle_model:
            raise invalid("title or vehicle_model is required")
        check_window(self.start_time, self.end_time)
        return self


class TaskUpdateData(TaskFields):
    """``expected_version`` guards against a lost update (409 when stale); ``reason``
    goes into the history row of a status change."""

    id: Id
    vehicle_plate: Plate | None = None
    status: TaskStatus | None = None
    expected_version: int | None = None
    reason: OptionalReason | None = None


class DateRange(IpcRequest):
    start: AnyDay
    end: AnyDay

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise invalid(f"date_range.end {self.end} is before date_range.start {self.start}")
        return self


class TaskQuery(IpcRequest):
    """The seed's TaskQuery. ``search`` is full text with prefix matching; without
    ``sort_by`` the newest tasks come first."""

    status: list[TaskStatus] | None = None
    priority: list[TaskPriority] | None = None
    technician_id: Id | None = None
    client_id: Id | None = None
    date_range: DateRange | None = None
    search: Annotated[str, Field(max_length=200)] | None = None
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None

    @field_validator("sort_by")
    @classmethod
    def _sortable(cls, value: str | None) -> str | None:
        if value is not None and value not in SORTABLE:
            raise invalid(f"sort_by must be one of: {', '.join(SORTABLE)}")
        return value


class IdData(IpcRequest):
    id: Id


# Requests --------------------------------------------------------------------------------
class TaskCrudRequest(ActionRequest):
    """``data`` is checked per action; ``List`` and ``Statistics`` take ``filters``,
    ``List`` also ``pagination``."""

    filters: TaskQuery | None = None
    pagination: Pagination | None = None


class EditTaskRequest(IpcRequest):
    task_id: Id
    data: dict[str, Any]


class DelayTaskRequest(IpcRequest):
    task_id: Id
    new_scheduled_date: Day
    reason: Reason
    additional_notes: Annotated[str, text_field(2000, "additional_notes")] | None = None


class TaskIdRequest(IpcRequest):
    task_id: Id


class ExportTasksCsvRequest(IpcRequest):
    filter: TaskQuery | None = None
    include_client_data: bool = False


class ImportTasksBulkRequest(IpcRequest):
    csv_data: str
    update_existing: bool = False


class CheckTaskAssignmentRequest(IpcRequest):
    task_id: Id
    user_id: Id


# Answers ---------------------------------------------------------------------------------
class TaskOut(BaseModel):
    id: str
    task_number: str
    title: str
    description: str | None
    vehicle_plate: str
    vehicle_make: str | None
    vehicle_model: str | None
    vehicle_year: int | None
    vin: str | None
    vehicle_color: str | None
    ppf_zones: list[str]
    film_type: str | None
    status: str
    priority: str
    client_id: str | None
    technician_id: str | None
    assigned_at: int | None
    assigned_by: str | None
    scheduled_date: date | None
    start_time: str | None
    end_time: str | None
    estimated_duration: int | None
    actual_duration: int | None
    started_at: int | None
    completed_at: int | None
    notes: str | None
    tags: list[str]
    is_overdue: bool
    created_at: int
    updated_at: int
    created_by: str | None
    updated_by: str | None
    version: int

    @classmethod
    def of(cls, task: Task, today: date) -> TaskOut:
        """``today`` is the shop's day (``settings.service.shop_today``): it decides
        ``is_overdue``."""
        return cls(
            **{name: getattr(task, name) for name in cls.model_fields if name != "is_overdue"},
            is_overdue=is_overdue(task.scheduled_date, task.status, today),
        )


def is_overdue(scheduled: date | None, status: str, today: date) -> bool:
    return scheduled is not None and scheduled < today and status not in CLOSED


class TaskStatistics(BaseModel):
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_technician: dict[str, int]
    overdue: int
    completed_this_week: int
    completed_this_month: int


class _DropsNone(BaseModel):
    # No return annotation on purpose: pydantic would take it as the answer's schema.
    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}


class TaskResponse(_DropsNone):
    """The seed's TaskResponse: ``{task}``, ``{tasks, pagination}``, ``{statistics}`` or
    ``{message}``; keys without a value are left out."""

    task: TaskOut | None = None
    tasks: list[TaskOut] | None = None
    pagination: PageInfo | None = None
    statistics: TaskStatistics | None = None
    message: str | None = None


class HistoryEntry(BaseModel):
    id: str
    task_id: str
    old_status: str | None
    new_status: str
    reason: str | None
    changed_by: str | None
    changed_at: int


class BulkImportResponse(BaseModel):
    imported: int
    updated: int
    failed: int
    errors: list[str]


class AssignmentCheckResponse(BaseModel):
    can_assign: bool
    conflicts: list[str]


class AvailabilityCheckResponse(_DropsNone):
    is_available: bool
    reason: str | None = None
    # The intervention (issue [4/8]) once that domain exists.
    active_intervention: dict[str, Any] | None = None
