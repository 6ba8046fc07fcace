"""System commands (seed: "System Commands")."""

from __future__ import annotations

from ._base import Namespace, R

__all__ = ["SystemApi"]


class SystemApi(Namespace[R]):
    def health_check(self) -> R:
        return self._call("health_check")

    def app_info(self) -> R:
        return self._call("get_app_info")

    def database_stats(self) -> R:
        return self._call("get_database_stats")

    def vacuum(self) -> R:
        return self._call("vacuum_database")
