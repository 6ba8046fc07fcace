"""UI commands (seed: "UI Commands"): the desktop window, the host's browser, GPS."""

from __future__ import annotations

from ._base import Namespace, R

__all__ = ["UiApi"]


class UiApi(Namespace[R]):
    def minimize(self, minimize: bool = True) -> R:
        return self._call("ui_window_minimize", {"minimize": minimize})

    def maximize(self, maximize: bool = True) -> R:
        return self._call("ui_window_maximize", {"maximize": maximize})

    def close(self) -> R:
        return self._call("ui_window_close")

    def open_url(self, url: str) -> R:
        return self._call("ui_shell_open_url", {"url": url})

    def current_position(self) -> R:
        return self._call("ui_gps_get_current_position")

    def report_position(
        self, latitude: float, longitude: float, accuracy: float, timestamp: int
    ) -> R:
        return self._call(
            "ui_gps_report_position",
            {
                "latitude": latitude,
                "longitude": longitude,
                "accuracy": accuracy,
                "timestamp": timestamp,
            },
        )
