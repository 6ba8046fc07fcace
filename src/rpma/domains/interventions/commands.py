"""The seed's Intervention Commands, plus pause, resume, cancel and the workflow templates
(docs/WORKFLOW.md). Thin: parse, call the service, answer.

Reads are open to every role; every write follows the seed's "Admin, Supervisor,
Technician (assigned to task)" (the matrix's ``intervention.start``; the service checks
the assignment). Every write takes an optional ``expected_version``: a stale one is
``INTERVENTION_CONCURRENT_MODIFICATION`` (409).
"""

from __future__ import annotations

from rpma.core.commands import command
from rpma.core.context import CommandContext
from rpma.core.permissions import ADMIN, SIGNED_IN
from rpma.domains.interventions.models import Intervention
from rpma.domains.interventions.schemas import (
    CancelInterventionRequest,
    DeleteInterventionRequest,
    FinalizeInterventionRequest,
    FinalizeInterventionResponse,
    InterventionIdRequest,
    InterventionOut,
    InterventionProgress,
    InterventionRefRequest,
    ListTemplatesRequest,
    StartInterventionRequest,
    StartInterventionResponse,
    StateChangeRequest,
    StepOut,
    StepRefRequest,
    StepWriteRequest,
    TaskIdRequest,
    TemplateOut,
    TemplatesResponse,
    UpdateInterventionRequest,
    UpdateTemplateRequest,
)
from rpma.domains.interventions.service import InterventionService
from rpma.domains.settings.service import shop_today
from rpma.domains.tasks.schemas import TaskOut

WRITE = "intervention.start"
READ = SIGNED_IN
WRITE_ERRORS = [
    "VALIDATION_ERROR",
    "AUTH_FORBIDDEN",
    "NOT_FOUND_INTERVENTION",
    "INTERVENTION_INVALID_STATE",
    "INTERVENTION_CONCURRENT_MODIFICATION",
]
STEP_ERRORS = [
    *WRITE_ERRORS,
    "INTERVENTION_STEP_NOT_FOUND",
    "INTERVENTION_STEP_OUT_OF_ORDER",
    "INTERVENTION_VALIDATION_FAILED",
]


def _service(ctx: CommandContext) -> InterventionService:
    return InterventionService.from_context(ctx)


def _maybe(row: Intervention | None) -> InterventionOut | None:
    return InterventionOut.of(row) if row is not None else None


@command(
    "intervention_start",
    request=StartInterventionRequest,
    response=StartInterventionResponse,
    permission=WRITE,
    errors=[
        "VALIDATION_ERROR",
        "AUTH_FORBIDDEN",
        "NOT_FOUND_TASK",
        "INTERVENTION_ALREADY_ACTIVE",
        "INTERVENTION_INVALID_STATE",
    ],
)
def intervention_start(
    ctx: CommandContext, req: StartInterventionRequest
) -> StartInterventionResponse:
    """Start an intervention on a task and answer `{intervention, steps}`. The task must
    exist and not be completed, cancelled or archived, nor have an active intervention
    (`INTERVENTION_ALREADY_ACTIVE`, also when two starts race); a technician starts only
    on tasks assigned to them. `intervention_type` (`ppf`, `ceramic`, `detailing`,
    `other`) and the zone count (`ppf_zones`, else the task's) choose the workflow
    template; its steps are copied, the first one in progress. Takes the environment
    (`film_type`, `film_brand`, `film_model`, `weather_condition`, `lighting_condition`,
    `work_location`, `temperature_celsius` -30..60, `humidity_percentage` 0..100), `notes`
    and an optional `gps {latitude, longitude, accuracy (≤100 m), timestamp (ms, ≤10
    minutes old)}`. Vehicle and client data are copied from the task, which goes
    `in_progress` (a draft is scheduled first).
    """
    row, steps = _service(ctx).start(req)
    return StartInterventionResponse(
        intervention=InterventionOut.of(row), steps=[StepOut.of(s) for s in steps]
    )


@command(
    "intervention_get",
    request=InterventionIdRequest,
    response=InterventionOut,
    permission=READ,
    writes=False,
    errors=["NOT_FOUND_INTERVENTION"],
)
def intervention_get(ctx: CommandContext, req: InterventionIdRequest) -> InterventionOut:
    """The intervention `id`."""
    return InterventionOut.of(_service(ctx).get(req.id))


@command(
    "intervention_get_active_by_task",
    request=TaskIdRequest,
    response=InterventionOut | None,
    permission=READ,
    writes=False,
    errors=["NOT_FOUND_TASK"],
)
def intervention_get_active_by_task(
    ctx: CommandContext, req: TaskIdRequest
) -> InterventionOut | None:
    """The task's pending, in-progress or paused intervention, or null."""
    return _maybe(_service(ctx).active_by_task(req.task_id))


@command(
    "intervention_get_latest_by_task",
    request=TaskIdRequest,
    response=InterventionOut | None,
    permission=READ,
    writes=False,
    errors=["NOT_FOUND_TASK"],
)
def intervention_get_latest_by_task(
    ctx: CommandContext, req: TaskIdRequest
) -> InterventionOut | None:
    """The task's most recently started intervention (whatever its status), or null."""
    return _maybe(_service(ctx).latest_by_task(req.task_id))


@command(
    "intervention_update",
    request=UpdateInterventionRequest,
    response=InterventionOut,
    permission=WRITE,
    errors=WRITE_ERRORS,
)
def intervention_update(ctx: CommandContext, req: UpdateInterventionRequest) -> InterventionOut:
    """Change an active intervention's details: `data` may hold the environment fields of
    `intervention_start`, `notes`, `description`, `priority`, `estimated_duration`,
    `customer_comments` (any other field is refused: steps, status and scores have their
    own commands). `expected_version` top-level or in `data`. A completed or cancelled
    intervention is a closed record (`INTERVENTION_INVALID_STATE`)."""
    row = _service(ctx).update(req.id, req.data, req.expected_version)
    return InterventionOut.of(row)


@command(
    "intervention_delete",
    request=DeleteInterventionRequest,
    response=str,
    permission=WRITE,
    errors=WRITE_ERRORS,
)
def intervention_delete(ctx: CommandContext, req: DeleteInterventionRequest) -> str:
    """Delete a cancelled intervention (soft delete: reads leave it out). A running one
    must be cancelled first; a completed one is the record of the work and is kept
    (`INTERVENTION_INVALID_STATE`)."""
    _service(ctx).delete(req.id, req.expected_version)
    return "Intervention deleted"


@command(
    "intervention_finalize",
    request=FinalizeInterventionRequest,
    response=FinalizeInterventionResponse,
    permission=WRITE,
    errors=[*STEP_ERRORS],
)
def intervention_finalize(
    ctx: CommandContext, req: FinalizeInterventionRequest
) -> FinalizeInterventionResponse:
    """Complete an in-progress intervention and its task; answers `{intervention, task,
    quality_score}`. Every mandatory step must be completed (`INTERVENTION_INVALID_STATE`
    lists those that are not); the last step, when still in progress, is completed by
    this call with `collected_data` merged in, if its photos and required checklist items
    are there (`INTERVENTION_VALIDATION_FAILED` otherwise). `customer_satisfaction`
    1..10, `quality_score` 0..100 (else passed / marked quality checkpoints * 100, 0 when
    none is marked), `customer_signature` strict base64 of a PNG, JPEG or WebP image up to
    2 MB, `final_observations` (text or list), `customer_comments`, optional end `gps`.
    `actual_duration` is the minutes worked, pauses excluded."""
    row, task, score = _service(ctx).workflow.finalize(req)
    return FinalizeInterventionResponse(
        intervention=InterventionOut.of(row),
        task=TaskOut.of(task, shop_today(ctx.db)),
        quality_score=score,
    )


@command(
    "intervention_advance_step",
    request=StepWriteRequest,
    response=StepOut,
    permission=WRITE,
    errors=STEP_ERRORS,
)
def intervention_advance_step(ctx: CommandContext, req: StepWriteRequest) -> StepOut:
    """Complete the current step `step_number` with `data` merged into its
    `collected_data` (`checklist {id: true}`, `quality_checkpoints {id: true|false}`,
    `measurements`, `notes`, other keys kept) and start the next; answers the next step,
    or the completed one when it was the last. Refused: another step than the current
    one, or skipping a mandatory one (`INTERVENTION_STEP_OUT_OF_ORDER`); fewer photos
    than `min_photos_required` or a required checklist item unticked
    (`INTERVENTION_VALIDATION_FAILED`, `details.missing` says what); an intervention not
    in progress (`INTERVENTION_INVALID_STATE`). An optional step is skipped with `data:
    {skip: true}`."""
    return StepOut.of(_service(ctx).workflow.advance(req))


@command(
    "intervention_save_step_progress",
    request=StepWriteRequest,
    response=StepOut,
    permission=WRITE,
    errors=STEP_ERRORS,
)
def intervention_save_step_progress(ctx: CommandContext, req: StepWriteRequest) -> StepOut:
    """Merge `data` into the current step (as `intervention_advance_step` does) without
    completing it; answers the step."""
    return StepOut.of(_service(ctx).workflow.save_progress(req))


@command(
    "intervention_get_progress",
    request=InterventionRefRequest,
    response=InterventionProgress,
    permission=READ,
    writes=False,
    errors=["NOT_FOUND_INTERVENTION"],
)
def intervention_get_progress(
    ctx: CommandContext, req: InterventionRefRequest
) -> InterventionProgress:
    """`{current_step, total_steps, completion_percentage, steps}`; the percentage is
    completed or skipped steps / all steps * 100."""
    service = _service(ctx)
    row = service.get(req.intervention_id)
    return InterventionProgress(
        current_step=row.current_step,
        total_steps=row.total_steps,
        completion_percentage=row.completion_percentage,
        steps=[StepOut.of(s) for s in service.repo.steps(row.id)],
    )


@command(
    "intervention_get_step",
    request=StepRefRequest,
    response=StepOut,
    permission=READ,
    writes=False,
    errors=["NOT_FOUND_INTERVENTION", "INTERVENTION_STEP_NOT_FOUND"],
)
def intervention_get_step(ctx: CommandContext, req: StepRefRequest) -> StepOut:
    """One step of the intervention, by `step_number` (from 1)."""
    return StepOut.of(_service(ctx).get_step(req.intervention_id, req.step_number))


@command(
    "intervention_pause",
    request=StateChangeRequest,
    response=InterventionOut,
    permission=WRITE,
    errors=WRITE_ERRORS,
)
def intervention_pause(ctx: CommandContext, req: StateChangeRequest) -> InterventionOut:
    """Pause an in-progress intervention (an optional `reason` goes into the task
    history); its task is paused too. Paused time does not count in `actual_duration`."""
    return InterventionOut.of(_service(ctx).workflow.pause(req))


@command(
    "intervention_resume",
    request=StateChangeRequest,
    response=InterventionOut,
    permission=WRITE,
    errors=WRITE_ERRORS,
)
def intervention_resume(ctx: CommandContext, req: StateChangeRequest) -> InterventionOut:
    """Resume a paused intervention; its task is in progress again."""
    return InterventionOut.of(_service(ctx).workflow.resume(req))


@command(
    "intervention_cancel",
    request=CancelInterventionRequest,
    response=InterventionOut,
    permission=WRITE,
    errors=WRITE_ERRORS,
)
def intervention_cancel(ctx: CommandContext, req: CancelInterventionRequest) -> InterventionOut:
    """Cancel an active intervention with a `reason` (1 to 500 characters), kept in its
    `final_observations` and the task history; the task goes `on_hold`, ready for a new
    intervention."""
    return InterventionOut.of(_service(ctx).workflow.cancel(req))


@command(
    "intervention_list_templates",
    request=ListTemplatesRequest,
    response=TemplatesResponse,
    permission=READ,
    writes=False,
)
def intervention_list_templates(
    ctx: CommandContext, req: ListTemplatesRequest
) -> TemplatesResponse:
    """The effective workflow templates (`ppf_standard`, `ppf_express`, `ceramic`,
    `detailing`): when each applies, its source (`default` or `custom`), version and
    steps with their checklists and quality checkpoints."""
    return TemplatesResponse(templates=_service(ctx).templates.effective())


@command(
    "intervention_update_template",
    request=UpdateTemplateRequest,
    response=TemplateOut,
    permission=ADMIN,
    errors=["VALIDATION_ERROR", "AUTH_FORBIDDEN", "CONFLICT"],
)
def intervention_update_template(ctx: CommandContext, req: UpdateTemplateRequest) -> TemplateOut:
    """Replace a workflow template (admin): `definition {name, description?, steps: [{id,
    step_name, step_type (inspection | preparation | installation | finalization),
    is_mandatory, min_photos_required (≥0), max_photos_allowed, estimated_minutes,
    checklist: [{id, label, required, per_zone}], quality_checkpoints: [{id, label,
    per_zone}]}]}`, at least one step, ids unique; `null` restores the built-in default.
    Interventions already started keep their steps. Optional `expected_version` (the
    template's; `CONFLICT` when stale)."""
    return _service(ctx).templates.update(req.key, req.definition, req.expected_version)
