"""The seed's Calendar Commands and `calendar_export_ics`, as `ipcClient.calendar`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["CalendarApi"]


class CalendarApi(Namespace[R]):
    def get_events(
        self,
        start_date: str,
        end_date: str,
        technician_id: str | None = None,
        include_tasks: bool | None = None,
    ) -> R:
        """Answers the events, occurrences and scheduled tasks in the range."""
        return self._call(
            "get_events",
            {
                "start_date": start_date,
                "end_date": end_date,
                **fields(technician_id=technician_id, include_tasks=include_tasks),
            },
        )

    def create_event(self, event_data: Mapping[str, Any]) -> R:
        """Answers the event with `conflicts`."""
        return self._call("create_event", {"event_data": dict(event_data)})

    def update_event(
        self, event_id: str, event_data: Mapping[str, Any], expected_version: int | None = None
    ) -> R:
        """Answers the event with `conflicts`."""
        return self._call(
            "update_event",
            {
                "id": event_id,
                "event_data": dict(event_data),
                **fields(expected_version=expected_version),
            },
        )

    def delete_event(self, event_id: str) -> R:
        """Answers true."""
        return self._call("delete_event", {"id": event_id})

    def check_conflicts(
        self,
        new_date: str,
        *,
        task_id: str | None = None,
        new_start: str | None = None,
        new_end: str | None = None,
        technician_id: str | None = None,
        exclude_event_id: str | None = None,
    ) -> R:
        """`calendar_check_conflicts`: answers `{has_conflicts, conflicts}`."""
        return self._call(
            "calendar_check_conflicts",
            {
                "new_date": new_date,
                **fields(
                    task_id=task_id,
                    new_start=new_start,
                    new_end=new_end,
                    technician_id=technician_id,
                    exclude_event_id=exclude_event_id,
                ),
            },
        )

    def export_ics(
        self,
        start_date: str,
        end_date: str,
        technician_id: str | None = None,
        include_tasks: bool | None = None,
    ) -> R:
        """`calendar_export_ics`: answers `{filename, content_type, content, event_count}`."""
        return self._call(
            "calendar_export_ics",
            {
                "start_date": start_date,
                "end_date": end_date,
                **fields(technician_id=technician_id, include_tasks=include_tasks),
            },
        )
