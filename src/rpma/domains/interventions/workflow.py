"""Working through an intervention (DOMAIN.md "Interventions and steps"; CONTRACT.md
section 8 "Steps"): advancing and saving steps, pause, resume, cancel and finalize. Reached
as ``InterventionService.workflow``; every write goes through the service's
``for_write`` (found, allowed, the version read), bumps the version and publishes
``intervention_updated`` after the commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rpma.core.clock import clock
from rpma.core.errors import (
    InterventionInvalidState,
    InterventionStepOutOfOrder,
    InterventionValidationFailed,
)
from rpma.core.parsing import parse
from rpma.domains.interventions import rules
from rpma.domains.interventions.models import Intervention, InterventionStep
from rpma.domains.interventions.schemas import (
    CancelInterventionRequest,
    FinalizeInterventionRequest,
    StateChangeRequest,
    StepData,
    StepWriteRequest,
)
from rpma.domains.tasks.models import Task

if TYPE_CHECKING:
    from rpma.domains.interventions.service import InterventionService


class Workflow:
    def __init__(self, service: InterventionService) -> None:
        self.service = service

    # Steps ------------------------------------------------------------------------------------
    def advance(self, req: StepWriteRequest) -> InterventionStep:
        """Complete (or skip) the current step and start the next; answers the next step,
        or the completed one when it was the last."""
        row = self.service.for_write(req.intervention_id, req.expected_version)
        rules.require_in_progress(row.status, f"advance step {req.step_number}")
        steps = self.service.repo.steps(row.id)
        step = self._current(row, steps, req.step_number)
        data, extra = self._step_data(req.data, "data")
        collected = rules.merge_data(step, data, extra)
        if data.get("skip"):
            if step.is_mandatory:
                raise InterventionStepOutOfOrder(
                    message=f"Step {step.step_number} ({step.step_name}) is mandatory and "
                    "cannot be skipped",
                    step_number=step.step_number,
                )
            self._close(step, collected, "skipped")
        else:
            self._complete(step, collected)
        following = steps[step.step_number] if step.step_number < len(steps) else None
        if following is not None:
            following.status = "in_progress"
            following.started_at = following.updated_at = clock.now_ms()
            row.current_step = following.step_number
        row.completion_percentage = rules.completion_percentage(steps)
        self.service.touch(row)
        self.service.emit(row)
        return following or step

    def save_progress(self, req: StepWriteRequest) -> InterventionStep:
        """Merge data into the current step without completing it."""
        row = self.service.for_write(req.intervention_id, req.expected_version)
        rules.require_in_progress(row.status, f"save progress on step {req.step_number}")
        step = self._current(row, self.service.repo.steps(row.id), req.step_number)
        data, extra = self._step_data(req.data, "data")
        data.pop("skip", None)
        self._store(step, rules.merge_data(step, data, extra))
        self.service.touch(row)
        self.service.emit(row)
        return step

    def _current(
        self, row: Intervention, steps: list[InterventionStep], number: int
    ) -> InterventionStep:
        if not 1 <= number <= len(steps):
            raise self.service.no_step(row, number)
        step = steps[number - 1]
        if step.status != "in_progress":
            current = next((s for s in steps if s.status == "in_progress"), None)
            where = (
                f"the current step is {current.step_number} ({current.step_name})"
                if current
                else "every step is done; finalize the intervention"
            )
            raise InterventionStepOutOfOrder(
                message=f"Step {number} ({step.step_name}) is {step.status}; {where}",
                step_number=number,
                step_status=step.status,
                current_step=current.step_number if current else None,
            )
        return step

    @staticmethod
    def _step_data(raw: dict[str, Any] | None, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
        model = parse(StepData, raw, where)
        known = {name: getattr(model, name) for name in model.model_fields_set}
        return known, dict(model.model_extra or {})

    def _complete(self, step: InterventionStep, collected: dict[str, Any]) -> None:
        lack = rules.missing(step, collected)
        if lack is not None:
            raise InterventionValidationFailed(
                message=f"Step {step.step_number} ({step.step_name}) is not complete: "
                + "; ".join(lack["missing"]),
                **lack,
            )
        self._close(step, collected, "completed")

    def _store(self, step: InterventionStep, collected: dict[str, Any]) -> None:
        step.collected_data = collected
        if "notes" in collected:
            step.notes = collected["notes"]
        step.updated_at = clock.now_ms()
        step.updated_by = self.service.actor_id or step.updated_by

    def _close(self, step: InterventionStep, collected: dict[str, Any], status: str) -> None:
        self._store(step, collected)
        step.status = status
        step.completed_at = now = clock.now_ms()
        step.duration_seconds = max(0, (now - (step.started_at or now)) // 1000)

    # The status machine -----------------------------------------------------------------------
    def pause(self, req: StateChangeRequest) -> Intervention:
        row = self.service.for_write(req.intervention_id, req.expected_version)
        rules.check_transition(row.status, "paused")
        row.status, row.paused_at = "paused", clock.now_ms()
        self.service.touch(row)
        self.service.tasks.pause_work(row.task_id, req.reason or "Intervention paused")
        self.service.emit(row)
        return row

    def resume(self, req: StateChangeRequest) -> Intervention:
        row = self.service.for_write(req.intervention_id, req.expected_version)
        rules.check_transition(row.status, "in_progress")
        self._end_pause(row)
        row.status = "in_progress"
        self.service.touch(row)
        self.service.tasks.resume_work(row.task_id, req.reason or "Intervention resumed")
        self.service.emit(row)
        return row

    def cancel(self, req: CancelInterventionRequest) -> Intervention:
        row = self.service.for_write(req.intervention_id, req.expected_version)
        rules.check_transition(row.status, "cancelled")
        self._end_pause(row)
        row.status = "cancelled"
        row.final_observations = [*row.final_observations, f"Cancelled: {req.reason}"]
        self.service.touch(row)
        self.service.tasks.hold_work(row.task_id, f"Intervention cancelled: {req.reason}")
        self.service.emit(row)
        return row

    def finalize(self, req: FinalizeInterventionRequest) -> tuple[Intervention, Task, int]:
        row = self.service.for_write(req.intervention_id, req.expected_version)
        rules.require_in_progress(row.status, "finalize")
        task = self.service.tasks.get(row.task_id, lock=True)
        if task.status in ("cancelled", "archived"):
            raise InterventionInvalidState(
                message=f"Task {task.task_number} is {task.status}; cancel the intervention",
                task_status=task.status,
            )
        steps = self.service.repo.steps(row.id)
        closing = steps[-1] if steps[-1].status == "in_progress" else None
        pending = [
            s for s in steps if s is not closing and s.is_mandatory and s.status != "completed"
        ]
        if pending:
            raise InterventionInvalidState(
                message="Cannot finalize: mandatory steps not done: "
                + ", ".join(f"{s.step_number} ({s.step_name})" for s in pending),
                pending_steps=[
                    {"step_number": s.step_number, "step_name": s.step_name, "status": s.status}
                    for s in pending
                ],
            )
        data, extra = self._step_data(req.collected_data, "collected_data")
        data.pop("skip", None)
        collected = rules.merge_data(steps[-1], data, extra)
        if closing is None:
            if req.collected_data:  # kept with the last step, already completed
                self._store(steps[-1], collected)
        elif closing.is_mandatory or rules.missing(closing, collected) is None:
            self._complete(closing, collected)
        else:  # an optional last step that is not complete is skipped
            self._close(closing, collected, "skipped")
        score = (
            rules.half_up(req.quality_score)
            if req.quality_score is not None
            else rules.computed_quality_score(steps)
        )
        self._close_record(row, req, steps, score)
        task = self.service.tasks.complete_work(row.task_id, "Intervention completed")
        self.service.emit(row)
        return row, task, score

    def _close_record(
        self,
        row: Intervention,
        req: FinalizeInterventionRequest,
        steps: list[InterventionStep],
        score: int,
    ) -> None:
        now = clock.now_ms()
        observations = req.final_observations
        if isinstance(observations, str):
            observations = [observations]
        row.status, row.completed_at, row.quality_score = "completed", now, score
        row.completion_percentage = rules.completion_percentage(steps)
        worked_seconds = (now - (row.started_at or now)) // 1000 - row.paused_seconds
        row.actual_duration = max(0, worked_seconds) // 60
        if req.customer_satisfaction is not None:
            row.customer_satisfaction = req.customer_satisfaction
        if observations:
            row.final_observations = [*row.final_observations, *observations]
        if req.customer_signature is not None:
            row.customer_signature = req.customer_signature
        if req.customer_comments is not None:
            row.customer_comments = req.customer_comments
        if req.gps is not None:
            row.end_latitude, row.end_longitude = req.gps.latitude, req.gps.longitude
            row.end_accuracy = req.gps.accuracy
        self.service.touch(row)

    @staticmethod
    def _end_pause(row: Intervention) -> None:
        if row.paused_at is not None:
            row.paused_seconds += max(0, (clock.now_ms() - row.paused_at) // 1000)
            row.paused_at = None
