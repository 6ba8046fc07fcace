"""Navigation commands (seed: "Navigation Commands"), plus back and forward."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["NavigationApi"]


class NavigationApi(Namespace[R]):
    def update(
        self, route: str, params: Mapping[str, Any] | None = None, title: str | None = None
    ) -> R:
        return self._call(
            "navigation_update",
            fields(route=route, params=dict(params) if params is not None else None, title=title),
        )

    def add_to_history(self) -> R:
        return self._call("navigation_add_to_history")

    def current(self) -> R:
        return self._call("navigation_get_current")

    def back(self) -> R:
        return self._call("navigation_go_back")

    def forward(self) -> R:
        return self._call("navigation_go_forward")

    def history(self, limit: int | None = None) -> R:
        return self._call("navigation_get_history", fields(limit=limit))
