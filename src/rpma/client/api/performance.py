"""Performance commands (seed: "Performance Commands"; admin only)."""

from __future__ import annotations

from ._base import Namespace, R

__all__ = ["PerformanceApi"]


class PerformanceApi(Namespace[R]):
    def stats(self) -> R:
        return self._call("performance_get_performance_stats")

    def clear_cache(self) -> R:
        return self._call("performance_clear_application_cache")
