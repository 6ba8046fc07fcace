"""Reports as documents (``document.ReportDocument``) for the exports: one builder per
report type, all reading the same aggregate queries as the report commands, so a PDF
and the API never disagree. Values stay typed; charts are a trend line per day (per
week over long ranges), bars per technician or client, pies of shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Final

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import Principal
from rpma.core.errors import ValidationFailed
from rpma.domains.reports import (
    builders_work,
    client_queries,
    figures,
    intervention_queries,
    material_queries,
    task_queries,
)
from rpma.domains.reports.client_queries import user_names
from rpma.domains.reports.document import (
    Chart,
    Column,
    Metric,
    ReportDocument,
    Series,
    Table,
)
from rpma.domains.reports.parts import day_series, label_status, pie
from rpma.domains.reports.schemas import REPORT_TYPES, ReportFilters
from rpma.domains.reports.scope import ReportScope, resolve_scope
from rpma.domains.settings.service import company_name, shop_timezone

__all__ = ["TITLES", "build_document"]

TITLES: Final = {
    "TaskCompletion": "Task completion",
    "TechnicianPerformance": "Technician performance",
    "ClientAnalytics": "Client analytics",
    "QualityCompliance": "Quality and compliance",
    "MaterialUsage": "Material usage",
    "Geographic": "Geographic distribution",
    "Overview": "Workshop overview",
}

Parts = tuple[list[Metric], list[Chart], list[Table]]


def build_document(
    db: Session, report_type: str, filters: ReportFilters, viewer: Principal
) -> ReportDocument:
    """The report ``report_type`` (the seed's ReportType) for ``filters`` as ``viewer``
    may see it. Unknown types are ``VALIDATION_ERROR``; a technician asking for another
    technician's data is ``AUTH_FORBIDDEN``."""
    builder = BUILDERS.get(report_type)
    if builder is None:
        raise ValidationFailed(
            message=f"report_type must be one of: {', '.join(REPORT_TYPES)}",
            fields=[{"field": "report_type", "message": "unknown report type"}],
        )
    zone = shop_timezone(db)
    now = clock.now().astimezone(zone)
    scope = resolve_scope(filters, viewer, zone, now.date())
    summary, charts, tables = builder(db, scope)
    return ReportDocument(
        report_type=report_type,
        title=TITLES[report_type],
        company=company_name(db),
        period_start=scope.start,
        period_end=scope.end,
        generated_at=now,
        summary=summary,
        charts=charts,
        tables=tables,
    )


# Task completion -----------------------------------------------------------------------------
def task_completion(db: Session, scope: ReportScope) -> Parts:
    groups = task_queries.tasks_by_status_and_technician(db, scope)
    days = task_queries.tasks_by_day(db, scope)
    report = figures.task_completion_from(scope, groups, days)
    per_technician: dict[str, list[float]] = {}  # tasks, done, minutes, timed
    for g in groups:
        row = per_technician.setdefault(g.technician_id or "", [0, 0, 0.0, 0])
        row[0] += g.tasks
        if g.status in task_queries.DONE:
            row[1] += g.tasks
            row[2] += g.duration_sum
            row[3] += g.duration_count
    names = user_names(db, [t for t in per_technician if t])
    ranked = sorted(
        per_technician.items(),
        key=lambda item: (not item[0], -item[1][0], names.get(item[0], ""), item[0]),
    )
    technician_rows: list[list[object]] = [
        [
            names.get(tid, tid or "Unassigned"),
            int(v[0]),
            int(v[1]),
            figures.rate(v[1], v[0]),
            figures.mean(v[2], int(v[3])),
        ]
        for tid, v in ranked
    ]
    by_day = {d.day_number: d for d in days}
    day_rows: list[list[object]] = []
    for day in scope.days:
        found = by_day.get((day - date(1970, 1, 1)).days)
        day_rows.append([day, found.tasks if found else 0, found.done if found else 0])
    statuses = list(report.by_status.items())
    summary = [
        Metric("Tasks", report.total_tasks),
        Metric("Completed", report.completed_tasks),
        Metric("Completion rate", report.completion_rate, "percent"),
        Metric("Average duration", report.average_duration, "minutes"),
    ]
    charts = [
        day_series(
            "Tasks per day",
            scope,
            {
                "Tasks": {d.day_number: float(d.tasks) for d in days},
                "Completed": {d.day_number: float(d.done) for d in days},
            },
        ),
        pie("Tasks by status", [(label_status(s), float(n)) for s, n in statuses if n]),
        Chart(
            "Tasks by technician",
            "bar",
            [str(row[0]) for row in technician_rows],
            [
                Series("Tasks", [float(str(row[1])) for row in technician_rows]),
                Series("Completed", [float(str(row[2])) for row in technician_rows]),
            ],
        ),
    ]
    tables = [
        Table(
            "Tasks by status",
            [
                Column("status", "Status"),
                Column("tasks", "Tasks", "int"),
                Column("share", "Share", "percent"),
            ],
            [[label_status(s), n, figures.rate(n, report.total_tasks)] for s, n in statuses],
        ),
        Table(
            "Tasks by technician",
            [
                Column("technician", "Technician"),
                Column("tasks", "Tasks", "int"),
                Column("completed", "Completed", "int"),
                Column("completion_rate", "Completion rate", "percent"),
                Column("average_duration", "Average duration", "minutes"),
            ],
            technician_rows,  # type: ignore[arg-type]
        ),
        Table(
            "Tasks per day",
            [
                Column("date", "Date", "date"),
                Column("tasks", "Tasks", "int"),
                Column("completed", "Completed", "int"),
            ],
            day_rows,  # type: ignore[arg-type]
        ),
    ]
    return summary, charts, tables


# Technician performance --------------------------------------------------------------------
def technician_performance(db: Session, scope: ReportScope) -> Parts:
    rows = figures.technician_performance(db, scope).technicians
    done = sum(r.tasks_completed for r in rows)
    names = [r.technician_name for r in rows]
    summary = [
        Metric("Technicians", len(rows)),
        Metric("Tasks completed", done),
        Metric(
            "Average quality score",
            _weighted([(r.quality_score, r.tasks_completed) for r in rows]),
            "decimal",
        ),
        Metric(
            "On-time rate",
            _weighted([(r.on_time_rate, r.tasks_completed) for r in rows]),
            "percent",
        ),
    ]
    charts = [
        Chart(
            "Tasks completed by technician",
            "bar",
            names,
            [Series("Tasks completed", [float(r.tasks_completed) for r in rows])],
        ),
        Chart(
            "Quality score by technician",
            "bar",
            names,
            [Series("Quality score", [r.quality_score for r in rows])],
        ),
        Chart(
            "On-time rate by technician",
            "bar",
            names,
            [Series("On-time rate", [r.on_time_rate for r in rows])],
        ),
    ]
    table = Table(
        "Technicians",
        [
            Column("technician", "Technician"),
            Column("tasks_completed", "Tasks completed", "int"),
            Column("average_duration", "Average duration", "minutes"),
            Column("quality_score", "Quality score", "decimal"),
            Column("customer_satisfaction", "Customer satisfaction", "decimal"),
            Column("on_time_rate", "On-time rate", "percent"),
        ],
        [
            [
                r.technician_name,
                r.tasks_completed,
                r.average_duration,
                r.quality_score,
                r.customer_satisfaction,
                r.on_time_rate,
            ]
            for r in rows
        ],
    )
    return summary, charts, [table]


def _weighted(values: list[tuple[float, int]]) -> float:
    weight = sum(w for _v, w in values)
    return round(sum(v * w for v, w in values) / weight, 2) if weight else 0.0


# Client analytics --------------------------------------------------------------------------
def client_analytics(db: Session, scope: ReportScope) -> Parts:
    report = figures.client_analytics(db, scope)
    with_work, _returning = task_queries.clients_with_work(db, scope)
    summary = [
        Metric("Clients", report.total_clients),
        Metric("New clients", report.new_clients),
        Metric("Clients with work", with_work),
        Metric("Retention rate", report.retention_rate, "percent"),
    ]
    top = report.top_clients
    places = report.geographic_distribution
    charts = [
        Chart(
            "Top clients by tasks",
            "bar",
            [c.client_name for c in top],
            [Series("Tasks", [float(c.task_count) for c in top])],
        ),
        Chart(
            "Top clients by material value",
            "bar",
            [c.client_name for c in top],
            [Series("Material value", [c.total_value for c in top])],
        ),
        pie("Clients by city", [(p.location, float(p.count)) for p in places]),
    ]
    tables = [
        Table(
            "Top clients",
            [
                Column("client", "Client"),
                Column("tasks", "Tasks", "int"),
                Column("value", "Material value", "money"),
            ],
            [[c.client_name, c.task_count, c.total_value] for c in top],
        ),
        Table(
            "Clients by city",
            [Column("city", "City"), Column("clients", "Clients", "int")],
            [[p.location, p.count] for p in places],
        ),
    ]
    return summary, charts, tables


# Overview -----------------------------------------------------------------------------------
def overview(db: Session, scope: ReportScope) -> Parts:
    """The headline figures of every report, from the fewest queries that give them."""
    tasks_summary, task_charts, task_tables = task_completion(db, scope)
    _, _, technician_tables = technician_performance(db, scope)
    work = intervention_queries.interventions_by_technician(db, scope)
    _total, new = client_queries.client_counts(db, scope)
    with_work, returning = task_queries.clients_with_work(db, scope)
    cost = sum(m.total_cost for m in material_queries.usage_by_material(db, scope))
    summary = [
        *tasks_summary,
        Metric("Interventions", sum(g.interventions for g in work)),
        Metric(
            "Average quality score",
            figures.mean(sum(g.quality_sum for g in work), sum(g.quality_count for g in work)),
            "decimal",
        ),
        Metric(
            "Average satisfaction",
            figures.mean(
                sum(g.satisfaction_sum for g in work), sum(g.satisfaction_count for g in work)
            ),
            "decimal",
        ),
        Metric("New clients", new),
        Metric("Retention rate", figures.rate(returning, with_work), "percent"),
        Metric("Material cost", round(cost, 2), "money"),
    ]
    return summary, task_charts, [task_tables[0], *technician_tables]


BUILDERS: Final[dict[str, Callable[[Session, ReportScope], Parts]]] = {
    "TaskCompletion": task_completion,
    "TechnicianPerformance": technician_performance,
    "ClientAnalytics": client_analytics,
    "QualityCompliance": builders_work.quality_compliance,
    "MaterialUsage": builders_work.material_usage,
    "Geographic": builders_work.geographic,
    "Overview": overview,
}
