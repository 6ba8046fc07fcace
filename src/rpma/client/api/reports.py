"""Report commands (seed: Report Commands, `analytics_get_summary`, `get_entity_counts`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["ReportsApi"]


def _filters(start: str, end: str, filters: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"date_range": {"start": start, "end": end}, **fields(filters=filters)}


class ReportsApi(Namespace[R]):
    """Dates are `YYYY-MM-DD` days in the shop's time zone, both included; `filters` may
    hold `technician_id`, `client_id` and `status` (a list of task statuses)."""

    def task_completion(self, start: str, end: str, filters: Mapping[str, Any] | None = None) -> R:
        return self._call("get_task_completion_report", _filters(start, end, filters))

    def technician_performance(
        self, start: str, end: str, filters: Mapping[str, Any] | None = None
    ) -> R:
        return self._call("get_technician_performance_report", _filters(start, end, filters))

    def client_analytics(self, start: str, end: str, filters: Mapping[str, Any] | None = None) -> R:
        return self._call("get_client_analytics_report", _filters(start, end, filters))

    def summary(self, start: str | None = None, end: str | None = None) -> R:
        """The dashboard's figures; without dates, the last 30 days."""
        date_range = {"start": start, "end": end} if start and end else None
        return self._call("analytics_get_summary", fields(date_range=date_range))

    def entity_counts(self) -> R:
        return self._call("get_entity_counts")
