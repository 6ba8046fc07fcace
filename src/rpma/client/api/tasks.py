"""`task_crud` and the other Task Commands (seed: Task Commands; contract section 8
"Task history", "Assignment check"), with the seed's `ipcClient.tasks` helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import CrudNamespace, R, fields

__all__ = ["TasksApi"]


class TasksApi(CrudNamespace[R]):
    """`task_crud` (create, get, update, delete, list from CrudNamespace) and the other
    task commands."""

    command = "task_crud"

    def statistics(self, filters: Mapping[str, Any] | None = None) -> R:
        """Answers `{statistics}`."""
        return self.crud("Statistics", **fields(filters=filters))

    def edit_task(self, task_id: str, data: Mapping[str, Any]) -> R:
        """Answers the task."""
        return self._call("edit_task", {"task_id": task_id, "data": dict(data)})

    def delay_task(
        self,
        task_id: str,
        new_scheduled_date: str,
        reason: str,
        additional_notes: str | None = None,
    ) -> R:
        """Answers the task."""
        return self._call(
            "delay_task",
            {
                "task_id": task_id,
                "new_scheduled_date": new_scheduled_date,
                "reason": reason,
                **fields(additional_notes=additional_notes),
            },
        )

    def history(self, task_id: str) -> R:
        """`task_get_history`: the status changes, newest first."""
        return self._call("task_get_history", {"task_id": task_id})

    def export_tasks_csv(
        self, filter: Mapping[str, Any] | None = None, include_client_data: bool = False
    ) -> R:
        """Answers the CSV text."""
        return self._call(
            "export_tasks_csv",
            {**fields(filter=filter), "include_client_data": include_client_data},
        )

    def import_tasks_bulk(self, csv_data: str, update_existing: bool = False) -> R:
        """Answers `{imported, updated, failed, errors}`."""
        return self._call(
            "import_tasks_bulk", {"csv_data": csv_data, "update_existing": update_existing}
        )

    def check_task_assignment(self, task_id: str, user_id: str) -> R:
        """Answers `{can_assign, conflicts}`."""
        return self._call("check_task_assignment", {"task_id": task_id, "user_id": user_id})

    def check_task_availability(self, task_id: str) -> R:
        """Answers `{is_available, reason?, active_intervention?}`."""
        return self._call("check_task_availability", {"task_id": task_id})
