"""What reports take and answer on the wire (seed: Report Commands, ``ReportFilters``,
``analytics_get_summary``, ``get_entity_counts``; DOMAIN.md "Reports").

Dates are the shop's calendar days (``YYYY-MM-DD``), both ends included. A malformed
date, an end before the start or a range over five years is ``VALIDATION_ERROR`` naming
the field; an empty range (no work in it) is a valid, empty report.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rpma.core.commands import IpcRequest
from rpma.core.validation import invalid
from rpma.domains.tasks.status import TaskStatus

__all__ = [
    "MAX_RANGE_YEARS",
    "REPORT_TYPES",
    "AnalyticsSummaryRequest",
    "AnalyticsSummaryResponse",
    "ClientAnalyticsReport",
    "DateRange",
    "EntityCounts",
    "GeographicCount",
    "MaterialUsageStats",
    "ReportFilterOptions",
    "ReportFilters",
    "TaskCompletionReport",
    "TechnicianPerformance",
    "TechnicianPerformanceReport",
    "TechnicianPerformanceStats",
    "TopClientFigures",
    "TrendPoint",
    "add_years",
]

# The seed's ReportType, spelled as the seed spells it.
REPORT_TYPES: Final = (
    "TaskCompletion",
    "TechnicianPerformance",
    "ClientAnalytics",
    "QualityCompliance",
    "MaterialUsage",
    "Geographic",
    "Overview",
)
MAX_RANGE_YEARS: Final = 5
_ID_MAX: Final = 64


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _calendar_day(value: Any) -> Any:
    """``YYYY-MM-DD`` to a date; anything else is refused with a message people read."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise invalid("must be a date string YYYY-MM-DD")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise invalid("'{value}' is not a date YYYY-MM-DD", {"value": value[:40]}) from None


CalendarDay = Annotated[date, BeforeValidator(_calendar_day)]


class DateRange(BaseModel):
    """Inclusive days in the shop's time zone."""

    model_config = ConfigDict(strict=True)

    start: CalendarDay
    end: CalendarDay

    @model_validator(mode="after")
    def _ordered_and_bounded(self) -> DateRange:
        if self.end < self.start:
            raise invalid(
                "the end ({end}) is before the start ({start})",
                {"start": self.start.isoformat(), "end": self.end.isoformat()},
            )
        if self.end >= add_years(self.start, MAX_RANGE_YEARS):
            raise invalid(
                "a report covers at most {years} years",
                {"years": MAX_RANGE_YEARS},
            )
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class ReportFilterOptions(BaseModel):
    """The seed's optional ``filters`` of a report."""

    model_config = ConfigDict(strict=True)

    technician_id: Annotated[str, Field(min_length=1, max_length=_ID_MAX)] | None = None
    client_id: Annotated[str, Field(min_length=1, max_length=_ID_MAX)] | None = None
    status: Annotated[list[TaskStatus], Field(max_length=8)] | None = None


class ReportFilters(IpcRequest):
    """The seed's ``ReportFilters``: a date range and optional narrower filters."""

    date_range: DateRange
    filters: ReportFilterOptions | None = None


# Responses ------------------------------------------------------------------------------
class TrendPoint(BaseModel):
    date: str
    count: int


class TaskCompletionReport(BaseModel):
    total_tasks: int
    completed_tasks: int
    completion_rate: float
    average_duration: float
    by_status: dict[str, int]
    by_technician: dict[str, int]
    trend: list[TrendPoint]


class TechnicianPerformance(BaseModel):
    technician_id: str
    technician_name: str
    tasks_completed: int
    average_duration: float
    quality_score: float
    customer_satisfaction: float
    on_time_rate: float


class TechnicianPerformanceReport(BaseModel):
    technicians: list[TechnicianPerformance]


class TopClientFigures(BaseModel):
    client_id: str
    client_name: str
    task_count: int
    total_value: float


class GeographicCount(BaseModel):
    location: str
    count: int


class ClientAnalyticsReport(BaseModel):
    total_clients: int
    new_clients: int
    retention_rate: float
    top_clients: list[TopClientFigures]
    geographic_distribution: list[GeographicCount]


class AnalyticsSummaryRequest(IpcRequest):
    date_range: DateRange | None = None


class MaterialUsageStats(BaseModel):
    material_id: str
    material_name: str
    unit_of_measure: str
    quantity_used: float
    waste_quantity: float
    total_cost: float


class TechnicianPerformanceStats(BaseModel):
    technician_id: str
    technician_name: str
    tasks_completed: int
    interventions_completed: int
    average_duration: float
    quality_score: float


class AnalyticsSummaryResponse(BaseModel):
    tasks_completed: int
    tasks_in_progress: int
    interventions_completed: int
    average_duration: float
    quality_score_average: float
    customer_satisfaction_average: float
    material_usage: list[MaterialUsageStats]
    technician_performance: list[TechnicianPerformanceStats]


class EntityCounts(BaseModel):
    tasks: int
    interventions: int
    clients: int
    users: int
    materials: int
    photos: int
