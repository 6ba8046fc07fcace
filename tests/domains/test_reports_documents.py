"""The report documents the exports render (``builders.build_document``), on the known
workshop of report_fixtures.py: every report type, exact figures, typed cells."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from rpma.core.context import Principal
from rpma.core.errors import AuthorizationError, ValidationFailed
from rpma.core.permissions import Role
from rpma.domains.reports.builders import build_document
from rpma.domains.reports.document import ReportDocument
from rpma.domains.reports.schemas import ReportFilters
from tests.domains.report_fixtures import MARCH, Shop, frozen_clock, known_shop  # noqa: F401

SUPERVISOR = Principal("supervisor-id", Role.SUPERVISOR, "session", "s@shop.example", 0)


def build(shop: Shop, report_type: str, viewer: Principal = SUPERVISOR, **extra: Any) -> Any:
    filters = ReportFilters.model_validate({**MARCH, **extra})
    with shop.server.services.db.session(write=False) as db:
        return build_document(db, report_type, filters, viewer)


def metrics(document: ReportDocument) -> dict[str, Any]:
    return {m.label: m.value for m in document.summary}


def table(document: ReportDocument, title: str) -> list[list[Any]]:
    return next(t.rows for t in document.tables if t.title == title)


def chart(document: ReportDocument, title: str) -> Any:
    return next(c for c in document.charts if c.title == title)


def test_task_completion_document(shop: Shop) -> None:
    doc = build(shop, "TaskCompletion")
    assert (doc.title, doc.company, doc.period_start, doc.period_end) == (
        "Task completion",
        "RPMA Workshop",
        date(2024, 3, 1),
        date(2024, 3, 31),
    )
    assert metrics(doc) == {
        "Tasks": 7,
        "Completed": 4,
        "Completion rate": 57.14,
        "Average duration": 136.67,
    }
    assert table(doc, "Tasks by technician") == [
        ["Sam Technician", 3, 3, 100.0, 105.0],
        ["Tara Second", 3, 1, 33.33, 200.0],
        ["Unassigned", 1, 0, 0.0, 0.0],
    ]
    per_day = table(doc, "Tasks per day")
    assert len(per_day) == 31
    assert per_day[0] == [date(2024, 3, 1), 1, 0]  # F, created 00:30 on 1 March in Paris
    assert per_day[3] == [date(2024, 3, 4), 2, 2]
    trend = chart(doc, "Tasks per day")
    assert trend.kind == "line"
    assert len(trend.categories) == 31
    assert [s.name for s in trend.series] == ["Tasks", "Completed"]
    assert sum(trend.series[0].values) == 7.0
    status_pie = chart(doc, "Tasks by status")
    assert dict(zip(status_pie.categories, status_pie.series[0].values, strict=True)) == {
        "Draft": 1.0,
        "In progress": 1.0,
        "Completed": 3.0,
        "Cancelled": 1.0,
        "Archived": 1.0,
    }


def test_technician_performance_document(shop: Shop) -> None:
    doc = build(shop, "TechnicianPerformance")
    assert metrics(doc) == {
        "Technicians": 2,
        "Tasks completed": 4,
        "Average quality score": 81.25,  # weighted by tasks completed: (80*3 + 85) / 4
        "On-time rate": 50.0,
    }
    assert table(doc, "Technicians") == [
        ["Sam Technician", 3, 105.0, 80.0, 8.0, 66.67],
        ["Tara Second", 1, 200.0, 85.0, 0.0, 0.0],
    ]


def test_client_analytics_document(shop: Shop) -> None:
    doc = build(shop, "ClientAnalytics")
    assert metrics(doc) == {
        "Clients": 4,
        "New clients": 2,
        "Clients with work": 3,
        "Retention rate": 33.33,
    }
    assert table(doc, "Top clients") == [
        ["Alice Martin", 3, 100.0],
        ["Prestige Autos", 2, 45.0],
        ["Bob Durand", 2, 0.0],
    ]
    assert table(doc, "Clients by city") == [["Lyon", 2], ["Paris", 1]]


def test_quality_compliance_document(shop: Shop) -> None:
    doc = build(shop, "QualityCompliance")
    assert metrics(doc) == {
        "Interventions": 4,  # IA, IB, IC, ID (IE started on 1 April in Paris)
        "Completed": 3,
        "Average quality score": 81.67,
        "Average satisfaction": 8.0,
        "Photo compliance": 66.67,  # IA's installation lacks a photo
        "Steps sent back for rework": 1,
    }
    assert table(doc, "Steps by type") == [
        ["Finalization", 1, 0, 0, 1, 0.0],
        ["Inspection", 2, 2, 0, 0, 100.0],
        ["Installation", 1, 1, 0, 0, 0.0],
    ]
    assert table(doc, "Quality score bands") == [
        ["90-100", 1],
        ["80-89", 1],
        ["60-79", 1],
        ["0-59", 0],
    ]
    assert table(doc, "Interventions by technician") == [
        ["Sam Technician", 2, 2, 80.0, 8.0],
        ["Tara Second", 2, 1, 85.0, 0.0],
    ]
    quality = chart(doc, "Average quality score per day")
    assert quality.series[0].values[3] == 80.0  # 4 March: IA 90, IB 70


def test_material_usage_document(shop: Shop) -> None:
    doc = build(shop, "MaterialUsage")
    assert metrics(doc) == {
        "Materials used": 2,
        "Consumptions": 3,
        "Material cost": 145.0,
        "Waste share": 11.76,  # 0.5 of 4.25 handled
    }
    assert table(doc, "Materials") == [
        ["XPEL Ultimate Plus", "FILM-XP", "Ppf film", "meter", 2, 3.5, 0.5, 140.0],
        ["Mounting gel", "ADH-01", "Adhesive", "liter", 1, 0.25, 0.0, 5.0],
    ]
    assert table(doc, "Cost by technician") == [
        ["Sam Technician", 1, 100.0],
        ["Tara Second", 2, 45.0],
    ]


def test_geographic_document(shop: Shop) -> None:
    doc = build(shop, "Geographic")
    assert metrics(doc) == {
        "Cities": 2,
        "Tasks": 7,
        "Interventions": 4,
        "Interventions with a position": 2,
    }
    assert table(doc, "Work by place") == [
        ["Lyon", "", "France", 2, 5, 3],
        ["Paris", "", "France", 1, 2, 1],
    ]
    assert table(doc, "Intervention positions by city") == [
        ["Lyon", 2, 2, 45.75, 4.85],
        ["Paris", 2, 0, None, None],
    ]


def test_overview_document(shop: Shop) -> None:
    doc = build(shop, "Overview")
    assert metrics(doc) == {
        "Tasks": 7,
        "Completed": 4,
        "Completion rate": 57.14,
        "Average duration": 136.67,
        "Interventions": 4,
        "Average quality score": 81.67,
        "Average satisfaction": 8.0,
        "New clients": 2,
        "Retention rate": 33.33,
        "Material cost": 145.0,
    }
    assert [c.kind for c in doc.charts] == ["line", "pie", "bar"]


def test_a_technicians_document_is_their_own(shop: Shop) -> None:
    technician = Principal(shop.known.tech1, Role.TECHNICIAN, "session", "t@shop.example", 0)
    doc = build(shop, "TechnicianPerformance", technician)
    assert [row[0] for row in table(doc, "Technicians")] == ["Sam Technician"]
    with pytest.raises(AuthorizationError):
        build(shop, "MaterialUsage", technician, filters={"technician_id": shop.known.tech2})


def test_unknown_report_type(shop: Shop) -> None:
    with pytest.raises(ValidationFailed) as caught:
        build(shop, "Weather")
    assert caught.value.details == {
        "fields": [{"field": "report_type", "message": "unknown report type"}]
    }


def test_an_empty_range_is_an_empty_document(shop: Shop) -> None:
    for report_type in ("TaskCompletion", "QualityCompliance", "MaterialUsage", "Geographic"):
        doc = build(shop, report_type, date_range={"start": "2023-06-01", "end": "2023-06-30"})
        assert all(not m.value for m in doc.summary), report_type


def test_a_long_range_is_drawn_per_week(shop: Shop) -> None:
    doc = build(shop, "TaskCompletion", date_range={"start": "2024-01-01", "end": "2024-12-31"})
    trend = chart(doc, "Tasks per week")
    assert len(trend.categories) == 53
    assert sum(trend.series[0].values) == 10.0  # every live task is of 2024
    assert len(table(doc, "Tasks per day")) == 366
