"""Report commands (seed: Report Commands, ``analytics_get_summary``,
``get_entity_counts``). Thin: the service scopes, caches and computes."""

from __future__ import annotations

from rpma.core.commands import EmptyRequest, RateClass, command
from rpma.core.context import CommandContext
from rpma.domains.reports.schemas import (
    AnalyticsSummaryRequest,
    AnalyticsSummaryResponse,
    ClientAnalyticsReport,
    EntityCounts,
    ReportFilters,
    TaskCompletionReport,
    TechnicianPerformanceReport,
)
from rpma.domains.reports.service import ReportService

# Reading a report is the matrix's "View Reports": every role, a technician their own
# data only (the service narrows the scope and refuses another technician's).
_ERRORS = ["VALIDATION_ERROR", "AUTH_FORBIDDEN"]


@command(
    "get_task_completion_report",
    request=ReportFilters,
    response=TaskCompletionReport,
    permission="report.view",
    limit=RateClass.REPORTS,
    writes=False,
    errors=_ERRORS,
)
def get_task_completion_report(ctx: CommandContext, req: ReportFilters) -> TaskCompletionReport:
    """Task completion over `date_range` (inclusive days in the shop's time zone; a task
    counts on its `scheduled_date`, else on the day it was created), optionally narrowed
    by `filters.technician_id`, `client_id` and `status`. `completed_tasks` counts
    completed and archived tasks; `completion_rate` = completed / total * 100;
    `average_duration` is the mean `actual_duration` (minutes) of completed tasks;
    `by_status` has every status; `by_technician` counts tasks per technician id
    (`unassigned` for none); `trend` has one point per day of the range: the tasks of
    that day now completed. A technician sees only their own tasks; naming another
    technician is `AUTH_FORBIDDEN`. An end before the start, a range over five years or a
    malformed date is `VALIDATION_ERROR`; a range with no work is a valid, empty report."""
    return ReportService(ctx).task_completion(req)


@command(
    "get_technician_performance_report",
    request=ReportFilters,
    response=TechnicianPerformanceReport,
    permission="report.view",
    limit=RateClass.REPORTS,
    writes=False,
    errors=_ERRORS,
)
def get_technician_performance_report(
    ctx: CommandContext, req: ReportFilters
) -> TechnicianPerformanceReport:
    """One row per technician (every technician account, plus anyone else with work in
    the range; a technician sees only their own row): `tasks_completed` and
    `average_duration` (minutes) of their completed tasks in the range; `quality_score`
    (0-100) and `customer_satisfaction` (1-10), averaged over their interventions started
    in the range and completed; `on_time_rate` = completed tasks finished on or before
    their scheduled day / completed tasks * 100. Ranges and errors as
    `get_task_completion_report`."""
    return ReportService(ctx).technician_performance(req)


@command(
    "get_client_analytics_report",
    request=ReportFilters,
    response=ClientAnalyticsReport,
    permission="report.view",
    limit=RateClass.REPORTS,
    writes=False,
    errors=_ERRORS,
)
def get_client_analytics_report(ctx: CommandContext, req: ReportFilters) -> ClientAnalyticsReport:
    """Clients: `total_clients` registered by the end of the range, `new_clients`
    registered during it (for a technician, the clients they have worked for);
    `retention_rate` = clients with tasks in the range who also had tasks before it /
    clients with tasks in the range * 100; `top_clients`: the ten with the most tasks in
    the range, with `total_value` the cost of the materials used on those tasks;
    `geographic_distribution`: clients with tasks in the range per city. Ranges and
    errors as `get_task_completion_report`."""
    return ReportService(ctx).client_analytics(req)


@command(
    "analytics_get_summary",
    request=AnalyticsSummaryRequest,
    response=AnalyticsSummaryResponse,
    permission="report.view",
    limit=RateClass.REPORTS,
    writes=False,
    errors=_ERRORS,
)
def analytics_get_summary(
    ctx: CommandContext, req: AnalyticsSummaryRequest
) -> AnalyticsSummaryResponse:
    """The dashboard's figures over `date_range` (default: the last 30 days, today
    included): tasks completed and in progress, interventions completed, the average
    task duration (minutes), average quality score and customer satisfaction of the
    completed interventions, material usage per material (quantities in the material's
    unit, cost in the shop's currency) and figures per technician. A technician's
    summary covers their own work only."""
    return ReportService(ctx).summary(req.date_range)


@command(
    "get_entity_counts",
    request=EmptyRequest,
    response=EntityCounts,
    permission="signed_in",
    writes=False,
)
def get_entity_counts(ctx: CommandContext, req: EmptyRequest) -> EntityCounts:
    """How many tasks, interventions, clients, users, materials and photos the shop has
    (soft-deleted records do not count)."""
    return ReportService(ctx).entity_counts()
