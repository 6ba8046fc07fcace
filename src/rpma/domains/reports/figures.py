"""The report commands' answers, computed from the aggregate queries (DOMAIN.md "Reports").

Rates are percentages rounded to two decimals, 0 when there is nothing to divide by;
averages are rounded to two decimals, 0 when there is nothing to average.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rpma.domains.clients.models import Client
from rpma.domains.interventions.models import Intervention
from rpma.domains.materials.models import Material
from rpma.domains.photos.models import Photo
from rpma.domains.reports import (
    client_queries,
    intervention_queries,
    material_queries,
    task_queries,
)
from rpma.domains.reports.schemas import (
    AnalyticsSummaryResponse,
    ClientAnalyticsReport,
    EntityCounts,
    GeographicCount,
    MaterialUsageStats,
    TaskCompletionReport,
    TechnicianPerformance,
    TechnicianPerformanceReport,
    TechnicianPerformanceStats,
    TopClientFigures,
    TrendPoint,
)
from rpma.domains.reports.scope import ReportScope, day_of_number
from rpma.domains.tasks.models import Task
from rpma.domains.tasks.status import STATUSES
from rpma.domains.users.models import User

TOP_CLIENTS: Final = 10
UNASSIGNED: Final = "unassigned"


def rate(part: float, whole: float) -> float:
    return round(part / whole * 100.0, 2) if whole else 0.0


def mean(total: float, count: int) -> float:
    return round(total / count, 2) if count else 0.0


# Task completion ---------------------------------------------------------------------------
def task_completion(db: Session, scope: ReportScope) -> TaskCompletionReport:
    return task_completion_from(
        scope,
        task_queries.tasks_by_status_and_technician(db, scope),
        task_queries.tasks_by_day(db, scope),
    )


def task_completion_from(
    scope: ReportScope,
    groups: list[task_queries.StatusTechnicianGroup],
    days: list[task_queries.DayGroup],
) -> TaskCompletionReport:
    """The report from its two GROUP BYs (the documents reuse them)."""
    by_status = dict.fromkeys(STATUSES, 0)
    by_technician: dict[str, int] = {}
    duration_sum, duration_count = 0.0, 0
    for group in groups:
        by_status[group.status] = by_status.get(group.status, 0) + group.tasks
        key = group.technician_id or UNASSIGNED
        by_technician[key] = by_technician.get(key, 0) + group.tasks
        if group.status in task_queries.DONE:
            duration_sum += group.duration_sum
            duration_count += group.duration_count
    total = sum(by_status.values())
    done = sum(by_status[status] for status in task_queries.DONE)
    done_by_day = {g.day_number: g.done for g in days}
    first = scope.first_day_number
    trend = [
        TrendPoint(date=day.isoformat(), count=done_by_day.get(first + offset, 0))
        for offset, day in enumerate(scope.days)
    ]
    return TaskCompletionReport(
        total_tasks=total,
        completed_tasks=done,
        completion_rate=rate(done, total),
        average_duration=mean(duration_sum, duration_count),
        by_status=by_status,
        by_technician=dict(sorted(by_technician.items(), key=lambda item: (-item[1], item[0]))),
        trend=trend,
    )


# Technician performance ------------------------------------------------------------------
@dataclass(frozen=True)
class TechnicianWork:
    """The aggregates of a performance report, by technician id (cacheable: no names)."""

    tasks: dict[str, task_queries.TechnicianTaskFigures]
    work: dict[str, intervention_queries.InterventionGroup]


def technician_work(db: Session, scope: ReportScope) -> TechnicianWork:
    return TechnicianWork(
        {f.technician_id: f for f in task_queries.done_tasks_by_technician(db, scope)},
        {
            str(g.key): g
            for g in intervention_queries.interventions_by_technician(db, scope)
            if g.key is not None
        },
    )


def technician_performance(db: Session, scope: ReportScope) -> TechnicianPerformanceReport:
    return technician_performance_from(db, scope, technician_work(db, scope))


def technician_performance_from(
    db: Session, scope: ReportScope, figures: TechnicianWork
) -> TechnicianPerformanceReport:
    """The rows: the roster and names are read now (a sign-in writes ``users``; the
    aggregates need not be recomputed for it)."""
    tasks, work = figures.tasks, figures.work
    names = client_queries.technicians(db, scope)
    missing = sorted((set(tasks) | set(work)) - set(names))
    names.update(client_queries.user_names(db, missing))
    rows = []
    for technician_id, name in names.items():
        task = tasks.get(technician_id)
        group = work.get(technician_id)
        rows.append(
            TechnicianPerformance(
                technician_id=technician_id,
                technician_name=name,
                tasks_completed=task.done if task else 0,
                average_duration=mean(task.duration_sum, task.duration_count) if task else 0.0,
                quality_score=mean(group.quality_sum, group.quality_count) if group else 0.0,
                customer_satisfaction=(
                    mean(group.satisfaction_sum, group.satisfaction_count) if group else 0.0
                ),
                on_time_rate=rate(task.on_time, task.done) if task else 0.0,
            )
        )
    rows.sort(key=lambda r: (-r.tasks_completed, r.technician_name, r.technician_id))
    return TechnicianPerformanceReport(technicians=rows)


# Client analytics --------------------------------------------------------------------------
def client_analytics(db: Session, scope: ReportScope) -> ClientAnalyticsReport:
    total, new = client_queries.client_counts(db, scope)
    with_work, returning = task_queries.clients_with_work(db, scope)
    top = task_queries.top_clients_by_tasks(db, scope, TOP_CLIENTS)
    ids = [figures.client_id for figures in top]
    names = client_queries.client_names(db, ids)
    values = material_queries.material_value_by_client(db, scope, ids)
    top_clients = [
        TopClientFigures(
            client_id=f.client_id,
            client_name=names.get(f.client_id, ""),
            task_count=f.tasks,
            total_value=round(values.get(f.client_id, 0.0), 2),
        )
        for f in top
    ]
    top_clients.sort(key=lambda c: (-c.task_count, -c.total_value, c.client_name, c.client_id))
    places: dict[str, int] = {}
    for place in client_queries.work_by_city(db, scope):
        places[place.city] = places.get(place.city, 0) + place.clients
    distribution = [
        GeographicCount(location=city, count=count)
        for city, count in sorted(places.items(), key=lambda item: (-item[1], item[0]))
    ]
    return ClientAnalyticsReport(
        total_clients=total,
        new_clients=new,
        retention_rate=rate(returning, with_work),
        top_clients=top_clients,
        geographic_distribution=distribution,
    )


# Dashboard -----------------------------------------------------------------------------
def analytics_summary(db: Session, scope: ReportScope) -> AnalyticsSummaryResponse:
    groups = task_queries.tasks_by_status_and_technician(db, scope)
    done = sum(g.tasks for g in groups if g.status in task_queries.DONE)
    in_progress = sum(g.tasks for g in groups if g.status == "in_progress")
    duration_sum = sum(g.duration_sum for g in groups if g.status in task_queries.DONE)
    duration_count = sum(g.duration_count for g in groups if g.status in task_queries.DONE)
    work = intervention_queries.interventions_by_technician(db, scope)
    by_person = {g.key: g for g in work if g.key}
    tasks_done: dict[str, int] = {}
    for g in groups:
        if g.technician_id and g.status in task_queries.DONE:
            tasks_done[g.technician_id] = tasks_done.get(g.technician_id, 0) + g.tasks
    performance = []
    for technician_id in sorted(set(by_person) | set(tasks_done)):
        group = by_person.get(technician_id)
        performance.append(
            TechnicianPerformanceStats(
                technician_id=technician_id,
                technician_name="",  # named_summary fills it in
                tasks_completed=tasks_done.get(technician_id, 0),
                interventions_completed=group.completed if group else 0,
                average_duration=mean(group.duration_sum, group.duration_count) if group else 0.0,
                quality_score=mean(group.quality_sum, group.quality_count) if group else 0.0,
            )
        )
    materials = [
        MaterialUsageStats(
            material_id=m.material_id,
            material_name=m.name,
            unit_of_measure=m.unit_of_measure,
            quantity_used=m.quantity_used,
            waste_quantity=m.waste_quantity,
            total_cost=round(m.total_cost, 2),
        )
        for m in material_queries.usage_by_material(db, scope)
    ]
    return AnalyticsSummaryResponse(
        tasks_completed=done,
        tasks_in_progress=in_progress,
        interventions_completed=sum(g.completed for g in work),
        average_duration=mean(duration_sum, duration_count),
        quality_score_average=mean(
            sum(g.quality_sum for g in work), sum(g.quality_count for g in work)
        ),
        customer_satisfaction_average=mean(
            sum(g.satisfaction_sum for g in work), sum(g.satisfaction_count for g in work)
        ),
        material_usage=materials,
        technician_performance=performance,
    )


def named_summary(db: Session, summary: AnalyticsSummaryResponse) -> AnalyticsSummaryResponse:
    """The summary with today's names of its people (read now, like the roster above)."""
    people = summary.technician_performance
    names = client_queries.user_names(db, [p.technician_id for p in people])
    named = [
        p.model_copy(update={"technician_name": names.get(p.technician_id, "")}) for p in people
    ]
    named.sort(key=lambda p: (-p.tasks_completed, p.technician_name, p.technician_id))
    return summary.model_copy(update={"technician_performance": named})


def entity_counts(db: Session) -> EntityCounts:
    """Live rows of each kind (soft-deleted ones do not count)."""

    def live(model: type[Task | Intervention | Client | User | Material]) -> int:
        query = select(func.count()).select_from(model).where(model.deleted_at.is_(None))
        return int(db.scalar(query) or 0)

    return EntityCounts(
        tasks=live(Task),
        interventions=live(Intervention),
        clients=live(Client),
        users=live(User),
        materials=live(Material),
        photos=int(db.scalar(select(func.count()).select_from(Photo)) or 0),
    )


def day_label(number: int) -> str:
    return day_of_number(number).isoformat()
