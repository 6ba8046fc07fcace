"""Reports for a caller: filters resolved to what the viewer may see, figures computed
by aggregate SQL and cached until a write touches a table they read.

The cache key is the report, the resolved scope (range, technician, client, statuses)
and the shop's time zone. A technician's scope always names the technician, so two
viewers share an entry only when they would see the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Final, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from rpma.core.clock import clock
from rpma.core.context import CommandContext
from rpma.domains.reports import figures
from rpma.domains.reports.schemas import (
    AnalyticsSummaryResponse,
    ClientAnalyticsReport,
    DateRange,
    EntityCounts,
    ReportFilters,
    TaskCompletionReport,
    TechnicianPerformanceReport,
)
from rpma.domains.reports.scope import ReportScope, resolve_scope
from rpma.domains.settings.service import shop_timezone

T = TypeVar("T")

# Every table the cached figures read: a commit writing any of them makes them stale.
# Not ``users``: every sign-in writes it, so people's names and the technician roster
# are read on each call instead, outside the cache.
REPORT_TABLES: Final = (
    "tasks",
    "interventions",
    "intervention_steps",
    "clients",
    "materials",
    "material_consumptions",
)
COUNTED_TABLES: Final = (*REPORT_TABLES, "users", "photos")
# The dashboard's period when the caller gives none: the last 30 days, today included.
SUMMARY_DAYS: Final = 30


def shop_today(db: Session) -> date:
    return clock.now().astimezone(shop_timezone(db)).date()


def scope_for(db: Session, filters: ReportFilters, ctx: CommandContext) -> ReportScope:
    zone = shop_timezone(db)
    return resolve_scope(filters, ctx.user, zone, clock.now().astimezone(zone).date())


def scope_key(scope: ReportScope) -> str:
    return (
        f"{scope.start.isoformat()}..{scope.end.isoformat()}|{scope.zone.key}"
        f"|t={scope.technician_id or ''}|c={scope.client_id or ''}|s={','.join(scope.statuses)}"
    )


class ReportService:
    def __init__(self, ctx: CommandContext) -> None:
        self.ctx = ctx
        self.db = ctx.db

    def _read_through(self, key: str, tables: tuple[str, ...], query: Callable[[Session], T]) -> T:
        """The cached value, else ``query`` run in a fresh read transaction (so that what
        is stored is never older than the table versions it is stored under)."""
        services = self.ctx.services
        if isinstance(services.db.engine.pool, StaticPool):
            # In-memory SQLite: one shared connection, no second transaction to open.
            return services.cache.get_or_compute(key, tables, lambda: query(self.db))
        return services.cache.get_or_query(key, tables, services.db, query)

    def _cached(
        self, name: str, scope: ReportScope, compute: Callable[[Session, ReportScope], T]
    ) -> T:
        key = f"reports:{name}:{scope_key(scope)}"
        return self._read_through(key, REPORT_TABLES, lambda db: compute(db, scope))

    def task_completion(self, filters: ReportFilters) -> TaskCompletionReport:
        scope = scope_for(self.db, filters, self.ctx)
        return self._cached("task_completion", scope, figures.task_completion)

    def technician_performance(self, filters: ReportFilters) -> TechnicianPerformanceReport:
        scope = scope_for(self.db, filters, self.ctx)
        work = self._cached("technician_work", scope, figures.technician_work)
        return figures.technician_performance_from(self.db, scope, work)

    def client_analytics(self, filters: ReportFilters) -> ClientAnalyticsReport:
        scope = scope_for(self.db, filters, self.ctx)
        return self._cached("client_analytics", scope, figures.client_analytics)

    def summary(self, date_range: DateRange | None) -> AnalyticsSummaryResponse:
        if date_range is None:
            today = shop_today(self.db)
            date_range = DateRange(start=today - timedelta(days=SUMMARY_DAYS - 1), end=today)
        scope = scope_for(self.db, ReportFilters(date_range=date_range), self.ctx)
        summary = self._cached("analytics_summary", scope, figures.analytics_summary)
        return figures.named_summary(self.db, summary)

    def entity_counts(self) -> EntityCounts:
        return self._read_through("reports:entity_counts", COUNTED_TABLES, figures.entity_counts)
