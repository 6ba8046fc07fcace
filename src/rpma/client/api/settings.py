"""Settings commands (seed: "Settings Commands"; docs/SETTINGS.md)."""

from __future__ import annotations

from typing import Any

from ._base import Namespace, R, fields

__all__ = ["SettingsApi"]


class SettingsApi(Namespace[R]):
    def get(self, category: str | None = None) -> R:
        """All four categories, or `{category: {...}}` for one of `general`, `security`,
        `notifications`, `performance`."""
        return self._call("settings_get_app_settings", fields(category=category))

    def update_general(self, **changes: Any) -> R:
        """`company_name`, `default_language`, `timezone`, `date_format`, `theme`,
        `working_hours_start`, `working_hours_end` (admin)."""
        return self._call("settings_update_general_settings", changes)

    def update_security(self, **changes: Any) -> R:
        return self._call("settings_update_security_settings", changes)

    def update_notifications(self, **changes: Any) -> R:
        return self._call("settings_update_notification_settings", changes)

    def update_performance(self, **changes: Any) -> R:
        return self._call("settings_update_performance_settings", changes)

    def history(self, key: str | None = None, limit: int | None = None) -> R:
        return self._call("settings_get_history", fields(key=key, limit=limit))
