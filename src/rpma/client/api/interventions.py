"""The seed's Intervention Commands, plus pause, resume, cancel and the workflow templates
(docs/WORKFLOW.md), as the seed's `ipcClient.interventions`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["InterventionsApi"]


class InterventionsApi(Namespace[R]):
    def start(self, task_id: str, intervention_type: str, **extra: Any) -> R:
        """Answers `{intervention, steps}`. `extra`: `priority`, `description`,
        `estimated_duration_minutes`, `ppf_zones`, `film_type`, `film_brand`,
        `film_model`, `weather_condition`, `lighting_condition`, `work_location`,
        `temperature_celsius`, `humidity_percentage`, `notes`, `gps {latitude,
        longitude, accuracy, timestamp}`."""
        return self._call(
            "intervention_start",
            {"task_id": task_id, "intervention_type": intervention_type, **extra},
        )

    def get(self, intervention_id: str) -> R:
        return self._call("intervention_get", {"id": intervention_id})

    def get_active_by_task(self, task_id: str) -> R:
        """The active intervention, or None."""
        return self._call("intervention_get_active_by_task", {"task_id": task_id})

    def get_latest_by_task(self, task_id: str) -> R:
        """The latest intervention, or None."""
        return self._call("intervention_get_latest_by_task", {"task_id": task_id})

    def update(
        self, intervention_id: str, data: Mapping[str, Any], expected_version: int | None = None
    ) -> R:
        return self._call(
            "intervention_update",
            {
                "id": intervention_id,
                "data": dict(data),
                **fields(expected_version=expected_version),
            },
        )

    def delete(self, intervention_id: str, expected_version: int | None = None) -> R:
        """Only a cancelled intervention; answers a message."""
        return self._call(
            "intervention_delete",
            {"id": intervention_id, **fields(expected_version=expected_version)},
        )

    def finalize(self, intervention_id: str, **extra: Any) -> R:
        """Answers `{intervention, task, quality_score}`. `extra`: `collected_data`,
        `customer_satisfaction`, `quality_score`, `final_observations`,
        `customer_signature`, `customer_comments`, `gps`, `expected_version`."""
        return self._call("intervention_finalize", {"intervention_id": intervention_id, **extra})

    def advance_step(
        self,
        intervention_id: str,
        step_number: int,
        data: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> R:
        """Answers the next step (or the completed one when it was the last)."""
        return self._step(
            "intervention_advance_step", intervention_id, step_number, data, expected_version
        )

    def save_step_progress(
        self,
        intervention_id: str,
        step_number: int,
        data: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> R:
        return self._step(
            "intervention_save_step_progress", intervention_id, step_number, data, expected_version
        )

    def get_progress(self, intervention_id: str) -> R:
        """Answers `{current_step, total_steps, completion_percentage, steps}`."""
        return self._call("intervention_get_progress", {"intervention_id": intervention_id})

    def get_step(self, intervention_id: str, step_number: int) -> R:
        return self._call(
            "intervention_get_step",
            {"intervention_id": intervention_id, "step_number": step_number},
        )

    def pause(
        self, intervention_id: str, reason: str | None = None, expected_version: int | None = None
    ) -> R:
        return self._state("intervention_pause", intervention_id, reason, expected_version)

    def resume(
        self, intervention_id: str, reason: str | None = None, expected_version: int | None = None
    ) -> R:
        return self._state("intervention_resume", intervention_id, reason, expected_version)

    def cancel(self, intervention_id: str, reason: str, expected_version: int | None = None) -> R:
        return self._state("intervention_cancel", intervention_id, reason, expected_version)

    def list_templates(self) -> R:
        """Answers `{templates}`."""
        return self._call("intervention_list_templates", {})

    def update_template(
        self,
        key: str,
        definition: Mapping[str, Any] | None,
        expected_version: int | None = None,
    ) -> R:
        """Admin; `definition` None restores the built-in default."""
        return self._call(
            "intervention_update_template",
            {
                "key": key,
                "definition": dict(definition) if definition is not None else None,
                **fields(expected_version=expected_version),
            },
        )

    def _step(
        self,
        command: str,
        intervention_id: str,
        step_number: int,
        data: Mapping[str, Any] | None,
        expected_version: int | None,
    ) -> R:
        args = {"intervention_id": intervention_id, "step_number": step_number}
        return self._call(
            command,
            {
                **args,
                **fields(
                    data=dict(data) if data is not None else None,
                    expected_version=expected_version,
                ),
            },
        )

    def _state(
        self, command: str, intervention_id: str, reason: str | None, expected_version: int | None
    ) -> R:
        return self._call(
            command,
            {
                "intervention_id": intervention_id,
                **fields(reason=reason, expected_version=expected_version),
            },
        )
