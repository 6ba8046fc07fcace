"""A report as a document: what every export format renders.

The report queries (``reports.builders``) answer one ``ReportDocument`` per report type;
the renderers (``reports.render_*``) turn any document into PDF, CSV or Excel without
knowing which report it is. Values stay typed (ints, floats, dates) so that Excel gets
number and date cells and the PDF formats them for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

# How a value is shown: a percent is 0-100, money is in the shop's currency, minutes
# are a duration.
ValueKind = Literal["text", "int", "decimal", "percent", "money", "date", "datetime", "minutes"]
CellValue = str | int | float | date | datetime | None


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: ValueKind = "text"


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[Column]
    rows: list[list[CellValue]]


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]


@dataclass(frozen=True)
class Chart:
    """A line (a trend over days), bar (a figure per technician, per client) or pie (a
    share per status). ``categories`` label the x axis or the pie's slices; a pie uses
    only the first series."""

    title: str
    kind: Literal["line", "bar", "pie"]
    categories: list[str]
    series: list[Series]


@dataclass(frozen=True)
class Metric:
    """A headline figure on the summary page (completion rate, total value...)."""

    label: str
    value: CellValue
    kind: ValueKind = "int"


@dataclass(frozen=True)
class ReportDocument:
    report_type: str  # the seed's ReportType: TaskCompletion, TechnicianPerformance...
    title: str
    company: str
    period_start: date
    period_end: date
    generated_at: datetime
    summary: list[Metric] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
