"""The guided workflow (DOMAIN.md "Interventions and steps"; docs/WORKFLOW.md): starting
an intervention on a task, moving through its steps, pausing, cancelling, finalizing.

The role matrix is checked by the dispatcher; this service applies what it cannot see:
a technician works only on the tasks assigned to them, one active intervention per task
(checked here and by a partial unique index), the step order and its requirements, the
status machine, ``expected_version``. The task follows its intervention through
``TaskService`` (its status machine and history). Services flush, never commit; every
change publishes ``intervention_updated`` once the command has committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import ClientInfo, Principal
from rpma.core.errors import (
    AuthorizationError,
    InternalError,
    InterventionAlreadyActive,
    InterventionConcurrentModification,
    InterventionInvalidState,
    InterventionStepNotFound,
    NotFound,
)
from rpma.core.events import Event
from rpma.core.parsing import parse
from rpma.core.permissions import STAFF, Role
from rpma.domains.clients.repository import ClientRepository
from rpma.domains.interventions.models import ACTIVE_STATUSES, Intervention, InterventionStep
from rpma.domains.interventions.repository import InterventionRepository
from rpma.domains.interventions.schemas import (
    InterventionUpdateData,
    StartInterventionRequest,
)
from rpma.domains.interventions.template_store import TemplateStore
from rpma.domains.interventions.templates import step_rows, template_key_for
from rpma.domains.interventions.workflow import Workflow
from rpma.domains.tasks.models import Task
from rpma.domains.tasks.repository import TaskRepository
from rpma.domains.tasks.service import TaskService
from rpma.domains.tasks.status import CLOSED

if TYPE_CHECKING:
    from rpma.core.context import CommandContext
    from rpma.core.services import Services

EVENT_TYPE: Final = "intervention_updated"

Publish = Callable[[Event], None]
FailureWrite = Callable[[Callable[[Session], None]], None]


class InterventionService:
    """``actor`` is the signed-in caller, or None for the operator at the console. The
    photos domain builds one with only ``db`` for ``set_photo_count`` and
    ``get_for_photos``."""

    def __init__(
        self,
        db: Session,
        services: Services | None = None,
        actor: Principal | None = None,
        *,
        client: ClientInfo | None = None,
        publish: Publish | None = None,
        on_failure: FailureWrite | None = None,
    ) -> None:
        self.db = db
        self.services = services
        self.actor = actor
        self.client = client
        self.repo = InterventionRepository(db)
        self.templates = TemplateStore(self.repo, actor)
        self._publish = publish
        self._on_failure = on_failure
        self._tasks: TaskService | None = None

    @classmethod
    def from_context(cls, ctx: CommandContext) -> InterventionService:
        """The service of a command: its caller, its transaction, events after commit."""
        return cls(
            ctx.db,
            ctx.services,
            ctx.user,
            client=ctx.client,
            publish=ctx.publish_after_commit,
            on_failure=ctx.even_on_failure,
        )

    @property
    def tasks(self) -> TaskService:
        if self._tasks is None:
            if self.services is None:  # pragma: no cover - wiring error
                raise InternalError(message="InterventionService needs the server's services")
            self._tasks = TaskService(
                self.db,
                self.services,
                self.actor,
                client=self.client,
                publish=self._publish,
                on_failure=self._on_failure,
            )
        return self._tasks

    @property
    def workflow(self) -> Workflow:
        """Steps, pause, resume, cancel and finalize."""
        return Workflow(self)

    @property
    def actor_id(self) -> str | None:
        return self.actor.user_id if self.actor else None

    # Reading --------------------------------------------------------------------------------
    def get(self, intervention_id: str, *, lock: bool = False) -> Intervention:
        row = self.repo.get(intervention_id, lock=lock)
        if row is None:
            raise NotFound(
                "NOT_FOUND_INTERVENTION", "Intervention not found", intervention_id=intervention_id
            )
        return row

    def steps(self, intervention_id: str) -> list[InterventionStep]:
        return self.repo.steps(self.get(intervention_id).id)

    def get_step(self, intervention_id: str, step_number: int) -> InterventionStep:
        row = self.get(intervention_id)
        step = self.repo.step(row.id, step_number)
        if step is None:
            raise self.no_step(row, step_number)
        return step

    def active_by_task(self, task_id: str) -> Intervention | None:
        return self.repo.active_for_task(self.tasks.get(task_id).id)

    def latest_by_task(self, task_id: str) -> Intervention | None:
        return self.repo.latest_for_task(self.tasks.get(task_id).id)

    # Starting -------------------------------------------------------------------------------
    def start(self, req: StartInterventionRequest) -> tuple[Intervention, list[InterventionStep]]:
        task = self.tasks.get(req.task_id, lock=True)
        self.tasks.check_scope(task)
        if task.status in CLOSED:
            raise InterventionInvalidState(
                message=f"Task {task.task_number} is {task.status}; no intervention can start",
                task_status=task.status,
            )
        active = self.repo.active_for_task(task.id)
        if active is not None:
            raise self._already_active(task, active.id)
        zones = list(req.ppf_zones if req.ppf_zones is not None else task.ppf_zones)
        key = template_key_for(req.intervention_type, len(zones))
        template = self.templates.definition(key)
        now = clock.now_ms()
        row = self._new_row(req, task, key, zones, now)
        row.estimated_duration = (
            req.estimated_duration_minutes or task.estimated_duration or template.estimated_minutes
        )
        steps = step_rows(template, zones, intervention_id=row.id, now=now, actor=self.actor_id)
        row.total_steps = len(steps)
        if req.gps is not None:
            steps[0].latitude, steps[0].longitude = req.gps.latitude, req.gps.longitude
            steps[0].accuracy = req.gps.accuracy
        lost_race = self._already_active(task, None)  # built now: a failed flush expires rows
        try:
            self.repo.add(row, steps)
        except IntegrityError:
            # Another start won the race between our check and our insert: the partial
            # unique index answers, and so do we, with the same code.
            raise lost_race from None
        self.tasks.start_work(task.id, f"Intervention started ({template.name})")
        self.emit(row)
        return row, steps

    def _new_row(
        self, req: StartInterventionRequest, task: Task, key: str, zones: list[str], now: int
    ) -> Intervention:
        client = ClientRepository(self.db).get(task.client_id) if task.client_id else None
        gps = req.gps
        return Intervention(
            id=str(uuid.uuid4()),
            task_id=task.id,
            intervention_type=req.intervention_type,
            status="in_progress",
            technician_id=task.technician_id or self.actor_id,
            template_key=key,
            priority=req.priority or task.priority,
            description=req.description or task.description,
            vehicle_plate=task.vehicle_plate,
            vehicle_make=task.vehicle_make,
            vehicle_model=task.vehicle_model,
            vehicle_year=task.vehicle_year,
            vin=task.vin,
            client_id=task.client_id,
            client_name=client.name if client else None,
            ppf_zones=zones,
            film_type=req.film_type or task.film_type,
            film_brand=req.film_brand,
            film_model=req.film_model,
            weather_condition=req.weather_condition,
            lighting_condition=req.lighting_condition,
            work_location=req.work_location,
            temperature_celsius=req.temperature_celsius,
            humidity_percentage=req.humidity_percentage,
            start_latitude=gps.latitude if gps else None,
            start_longitude=gps.longitude if gps else None,
            start_accuracy=gps.accuracy if gps else None,
            started_at=now,
            paused_seconds=0,
            current_step=1,
            completion_percentage=0.0,
            final_observations=[],
            notes=req.notes,
            created_at=now,
            updated_at=now,
            created_by=self.actor_id,
            updated_by=self.actor_id,
            version=1,
        )

    # Changing the record ------------------------------------------------------------------------
    def update(
        self, intervention_id: str, raw: dict[str, Any], expected: int | None
    ) -> Intervention:
        data = parse(InterventionUpdateData, raw, "data")
        row = self.for_write(
            intervention_id, expected if expected is not None else data.expected_version
        )
        if row.status not in ACTIVE_STATUSES:
            raise InterventionInvalidState(
                message=f"A {row.status} intervention is a closed record and cannot be changed",
                status=row.status,
            )
        wanted = {n: getattr(data, n) for n in data.model_fields_set - {"expected_version"}}
        changes = {n: v for n, v in wanted.items() if getattr(row, n) != v}
        if changes:
            for name, value in changes.items():
                setattr(row, name, value)
            self.touch(row)
            self.emit(row)
        return row

    def delete(self, intervention_id: str, expected: int | None) -> None:
        """Only a cancelled intervention goes (soft delete): a running one is cancelled
        first, a completed one is the record of the work and stays."""
        row = self.for_write(intervention_id, expected)
        if row.status != "cancelled":
            raise InterventionInvalidState(
                message=f"Only a cancelled intervention can be deleted; this one is {row.status}"
                + ("" if row.status == "completed" else " (cancel it first)"),
                status=row.status,
            )
        row.deleted_at = clock.now_ms()
        self.touch(row)
        self.emit(row)

    # For the photos domain --------------------------------------------------------------------
    def get_for_photos(
        self, intervention_id: str, actor: Principal | None, write: bool
    ) -> Intervention:
        """The intervention a photo belongs to. Reading is open to every role, as for the
        intervention itself; a write (upload, change, delete) needs an admin, a
        supervisor or the technician the task is assigned to, and an active (pending,
        in-progress or paused) intervention."""
        row = self.get(intervention_id, lock=write)
        if write:
            self._check_writer(row, actor)
            if row.status not in ACTIVE_STATUSES:
                raise InterventionInvalidState(
                    message=f"The intervention is {row.status}; its photos can no longer change",
                    status=row.status,
                )
        return row

    def set_photo_count(self, intervention_id: str, step_number: int, count: int) -> None:
        """Record a step's photo count (the photos domain counts its rows). Not a change
        of the intervention's record: its version stays, so an ``expected_version`` read
        before an upload is still good for the next advance."""
        if count < 0:
            raise ValueError("a photo count is never negative")
        row = self.get(intervention_id)
        step = self.repo.step(row.id, step_number)
        if step is None:
            raise self.no_step(row, step_number)
        if step.photo_count != count:
            step.photo_count = count
            step.updated_at = clock.now_ms()
            self.db.flush()
            self.emit(row)

    # Rules and bookkeeping --------------------------------------------------------------------
    def for_write(self, intervention_id: str, expected_version: int | None) -> Intervention:
        """Found, the caller may change it, and it is the version they read."""
        row = self.get(intervention_id, lock=True)
        self._check_writer(row, self.actor)
        if expected_version is not None and expected_version != row.version:
            raise InterventionConcurrentModification(
                message=f"The intervention was changed by someone else (version {row.version}, "
                f"expected {expected_version}); reload and retry",
                current_version=row.version,
                expected_version=expected_version,
            )
        return row

    def _check_writer(self, row: Intervention, actor: Principal | None) -> None:
        """The seed: "Admin, Supervisor, Technician (assigned to task)"."""
        if actor is None or actor.role in STAFF:
            return
        if actor.role is Role.TECHNICIAN:
            task = TaskRepository(self.db).get(row.task_id)
            if task is not None and task.technician_id == actor.user_id:
                return
        self._deny(actor, row)
        raise AuthorizationError(
            message="A technician may work only on the interventions of tasks assigned to them",
            intervention_id=row.id,
        )

    def _deny(self, actor: Principal, row: Intervention) -> None:
        """Record the refusal; it must survive the rollback of the refused command."""
        recorder = self.services.security_recorder if self.services else None
        if self._on_failure is None or recorder is None:
            return
        # Plain values only: the row expires with the rollback that precedes this write.
        client, intervention_id, task_id = self.client, row.id, row.task_id
        self._on_failure(
            lambda db: recorder(
                db,
                "permission_denied",
                f"{actor.role.value} tried to change an intervention of another's task",
                user_id=actor.user_id,
                client=client,
                role=actor.role.value,
                intervention_id=intervention_id,
                task_id=task_id,
            )
        )

    @staticmethod
    def no_step(row: Intervention, number: int) -> InterventionStepNotFound:
        return InterventionStepNotFound(
            message=f"The intervention has no step {number} (it has {row.total_steps})",
            step_number=number,
            total_steps=row.total_steps,
        )

    @staticmethod
    def _already_active(task: Task, active_id: str | None) -> InterventionAlreadyActive:
        return InterventionAlreadyActive(
            message=f"Task {task.task_number} already has an active intervention",
            task_id=task.id,
            active_intervention_id=active_id,
        )

    def touch(self, row: Intervention) -> None:
        row.updated_at = clock.now_ms()
        row.updated_by = self.actor_id or row.updated_by
        row.version = (row.version or 0) + 1
        self.db.flush()

    def emit(self, row: Intervention) -> None:
        if self._publish is None:
            return
        data = {"intervention_id": row.id, "step_number": row.current_step, "status": row.status}
        self._publish(Event(type=EVENT_TYPE, data=data))
