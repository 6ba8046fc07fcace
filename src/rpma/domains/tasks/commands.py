"""The seed's Task Commands and task_get_history (CONTRACT.md section 8). Thin: parse,
call the service, answer. Every command counts against the ``tasks`` rate limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rpma.core.commands import RateClass, command
from rpma.core.context import CommandContext
from rpma.core.pagination import Pagination
from rpma.core.parsing import parse
from rpma.domains.settings.service import shop_today
from rpma.domains.tasks.assignment import check_assignment, check_availability
from rpma.domains.tasks.csv_io import export_csv, import_csv
from rpma.domains.tasks.schemas import (
    AssignmentCheckResponse,
    AvailabilityCheckResponse,
    BulkImportResponse,
    CheckTaskAssignmentRequest,
    DelayTaskRequest,
    EditTaskRequest,
    ExportTasksCsvRequest,
    HistoryEntry,
    IdData,
    ImportTasksBulkRequest,
    TaskCreateData,
    TaskCrudRequest,
    TaskIdRequest,
    TaskOut,
    TaskResponse,
    TaskUpdateData,
)
from rpma.domains.tasks.service import TaskService

# The seed's matrix. Assigning (technician_id) needs task.assign on top: the service
# checks it, because the matrix cannot see which fields a call sets.
PERMISSIONS = {
    "Create": "task.create",
    "Get": "task.read",
    "Update": "task.update",
    "Delete": "task.delete",
    "List": "task.read",
    "Statistics": "task.read",
}
COMMON_ERRORS = ["VALIDATION_ERROR", "AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "RATE_LIMIT"]


def service_for(ctx: CommandContext) -> TaskService:
    return TaskService(
        ctx.db,
        ctx.services,
        ctx.user,
        client=ctx.client,
        publish=ctx.publish_after_commit,
        on_failure=ctx.even_on_failure,
    )


# task_crud ---------------------------------------------------------------------------------
def _one(service: TaskService, task: Any) -> TaskResponse:
    return TaskResponse(task=TaskOut.of(task, shop_today(service.db)))


def _create(service: TaskService, req: TaskCrudRequest) -> TaskResponse:
    return _one(service, service.create(parse(TaskCreateData, req.data, "data")))


def _get(service: TaskService, req: TaskCrudRequest) -> TaskResponse:
    return _one(service, service.get(parse(IdData, req.data, "data").id))


def _update(service: TaskService, req: TaskCrudRequest) -> TaskResponse:
    return _one(service, service.update(parse(TaskUpdateData, req.data, "data")))


def _delete(service: TaskService, req: TaskCrudRequest) -> TaskResponse:
    service.delete(parse(IdData, req.data, "data").id)
    return TaskResponse(message="Task deleted")


def _list(service: TaskService, req: TaskCrudRequest) -> TaskResponse:
    tasks, info = service.list_page(req.filters, req.pagination or Pagination())
    today = shop_today(service.db)
    return TaskResponse(tasks=[TaskOut.of(t, today) for t in tasks], pagination=info)


def _statistics(service: TaskService, req: TaskCrudRequest) -> TaskResponse:
    return TaskResponse(statistics=service.statistics(req.filters))


ACTIONS: dict[str, Callable[[TaskService, TaskCrudRequest], TaskResponse]] = {
    "Create": _create,
    "Get": _get,
    "Update": _update,
    "Delete": _delete,
    "List": _list,
    "Statistics": _statistics,
}
assert set(ACTIONS) == set(PERMISSIONS)


@command(
    "task_crud",
    request=TaskCrudRequest,
    response=TaskResponse,
    permission=PERMISSIONS,
    writes=frozenset({"Create", "Update", "Delete"}),
    limit=RateClass.TASKS,
    errors=[*COMMON_ERRORS, "NOT_FOUND_TASK", "NOT_FOUND_CLIENT", "CONFLICT"],
)
def task_crud(ctx: CommandContext, req: TaskCrudRequest) -> TaskResponse:
    """Manage tasks: `Create Get Update Delete List Statistics`. `data.id` names the
    task. `Create` takes the task's fields (`vehicle_plate` and `title` or
    `vehicle_model` required; `scheduled` with a `scheduled_date`, else `draft`; a
    technician's own task is assigned to them); `Update` any of them plus `status`
    (along the status machine, with an optional `reason` for the history),
    `expected_version` (409 `CONFLICT` when stale); setting `technician_id` needs the
    admin or supervisor role, and a technician updates only tasks assigned to them.
    `List` takes `filters` (the seed's TaskQuery: `status[]`, `priority[]`,
    `technician_id`, `client_id`, `date_range {start, end}`, `search` (full text,
    prefix), `sort_by` one of scheduled_date, created_at, updated_at, priority, status,
    task_number, title, `sort_order`) and `pagination`, and answers `{tasks,
    pagination}`; `Statistics` answers the seed's TaskStatistics (optional `filters`).
    `Delete` (admin) is a soft delete.
    """
    return ACTIONS[req.action](service_for(ctx), req)


# The other task commands ----------------------------------------------------------------
@command(
    "edit_task",
    request=EditTaskRequest,
    response=TaskOut,
    permission="task.update",
    limit=RateClass.TASKS,
    errors=[*COMMON_ERRORS, "NOT_FOUND_TASK", "NOT_FOUND_CLIENT", "CONFLICT"],
)
def edit_task(ctx: CommandContext, req: EditTaskRequest) -> TaskOut:
    """Change a task's fields (`data`), with the rules of `task_crud` Update; answers
    the task."""
    data = parse(TaskUpdateData, {**req.data, "id": req.task_id}, "data")
    return TaskOut.of(service_for(ctx).update(data), shop_today(ctx.db))


@command(
    "delay_task",
    request=DelayTaskRequest,
    response=TaskOut,
    permission="task.update",
    limit=RateClass.TASKS,
    errors=[*COMMON_ERRORS, "NOT_FOUND_TASK"],
)
def delay_task(ctx: CommandContext, req: DelayTaskRequest) -> TaskOut:
    """Reschedule a task to a date after today with a `reason` (1 to 500 characters),
    recorded in the task history; `additional_notes` are added to the task's notes. A
    completed, cancelled or archived task cannot be delayed."""
    return TaskOut.of(service_for(ctx).delay(req), shop_today(ctx.db))


@command(
    "task_get_history",
    request=TaskIdRequest,
    response=list[HistoryEntry],
    permission="task.read",
    limit=RateClass.TASKS,
    writes=False,
    errors=[*COMMON_ERRORS, "NOT_FOUND_TASK"],
)
def task_get_history(ctx: CommandContext, req: TaskIdRequest) -> list[HistoryEntry]:
    """The task's status changes and reschedules, newest first."""
    return service_for(ctx).history(req.task_id)


@command(
    "export_tasks_csv",
    request=ExportTasksCsvRequest,
    response=str,
    permission="report.export",
    limit=RateClass.TASKS,
    writes=False,
    errors=COMMON_ERRORS,
)
def export_tasks_csv(ctx: CommandContext, req: ExportTasksCsvRequest) -> str:
    """The tasks matching `filter` (a TaskQuery) as CSV text with a header row; client
    name, email, phone and company with `include_client_data`. Cells that a
    spreadsheet would run as a formula (starting with `= + - @`, tab or CR) get a
    leading `'`."""
    return export_csv(service_for(ctx), req.filter, with_client=req.include_client_data)


@command(
    "import_tasks_bulk",
    request=ImportTasksBulkRequest,
    response=BulkImportResponse,
    permission="task.assign",
    limit=RateClass.TASKS,
    errors=COMMON_ERRORS,
)
def import_tasks_bulk(ctx: CommandContext, req: ImportTasksBulkRequest) -> BulkImportResponse:
    """Create tasks from CSV text (at most 20 MB) with a header row naming at least
    `vehicle_plate` and `title` or `vehicle_model`; other columns as in
    `export_tasks_csv` (`ppf_zones` and `tags` separated by `;`; unknown columns and
    empty cells are ignored). Each row follows the rules of `task_crud` Create; a bad row
    is reported as `line N: reason` and nothing of it is stored, the good rows import.
    With `update_existing`, a row whose `task_number` exists updates that task (rules
    of Update); without it such a row is an error. Answers `{imported, updated, failed,
    errors}`."""
    return import_csv(service_for(ctx), req.csv_data, req.update_existing)


@command(
    "check_task_assignment",
    request=CheckTaskAssignmentRequest,
    response=AssignmentCheckResponse,
    permission="task.read",
    limit=RateClass.TASKS,
    writes=False,
    errors=[*COMMON_ERRORS, "NOT_FOUND_TASK", "NOT_FOUND_USER"],
)
def check_task_assignment(
    ctx: CommandContext, req: CheckTaskAssignmentRequest
) -> AssignmentCheckResponse:
    """Whether `user_id` may take the task: `can_assign` is false (with the reason in
    `conflicts`) for an inactive user or one who is not a technician or supervisor.
    Overlapping tasks on the task's date (half-open `[start, end)`) and a day booked
    beyond the working hours are listed in `conflicts` but do not block."""
    return check_assignment(service_for(ctx), req.task_id, req.user_id)


@command(
    "check_task_availability",
    request=TaskIdRequest,
    response=AvailabilityCheckResponse,
    permission="task.read",
    limit=RateClass.TASKS,
    writes=False,
    errors=[*COMMON_ERRORS, "NOT_FOUND_TASK"],
)
def check_task_availability(ctx: CommandContext, req: TaskIdRequest) -> AvailabilityCheckResponse:
    """Whether an intervention may start on the task: not when it is completed,
    cancelled or archived, or already has an active intervention (returned)."""
    return check_availability(service_for(ctx), req.task_id)
