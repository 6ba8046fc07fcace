"""Material used on an intervention: ``material_record_consumption`` and the
consumption of an intervention or a task (DOMAIN.md "Materials and stock").

Who may record is the matrix's ``material.consume`` (admin, supervisor, technician),
narrowed here for a technician to the interventions of tasks assigned to them. The
intervention, its steps and its task are read through their services, never their
tables.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import ClientInfo, Principal
from rpma.core.errors import InterventionInvalidState, InterventionStepNotFound
from rpma.core.services import Services
from rpma.domains.interventions.models import ACTIVE_STATUSES, Intervention
from rpma.domains.interventions.service import InterventionService
from rpma.domains.materials.errors import MaterialUnusable
from rpma.domains.materials.ledger import Movement, Reference
from rpma.domains.materials.models import Material, MaterialConsumption
from rpma.domains.materials.quantities import cost_cents, from_cents, from_milli, to_milli
from rpma.domains.materials.responses import ConsumptionOut, ConsumptionReport, MaterialUsage
from rpma.domains.materials.rules import is_expired
from rpma.domains.materials.schemas import ConsumptionQuery, RecordConsumptionRequest
from rpma.domains.materials.service import MaterialService, Publish

if TYPE_CHECKING:
    from rpma.core.context import CommandContext

FailureWrite = Callable[[Callable[[Session], None]], None]


class ConsumptionService:
    def __init__(
        self,
        db: Session,
        services: Services,
        actor: Principal | None,
        *,
        client: ClientInfo | None = None,
        publish: Publish | None = None,
        on_failure: FailureWrite | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.materials = MaterialService(db, actor, publish=publish)
        # No publish: recording material changes nothing of the intervention.
        self.interventions = InterventionService(
            db, services, actor, client=client, on_failure=on_failure
        )

    @classmethod
    def from_context(cls, ctx: CommandContext) -> ConsumptionService:
        return cls(
            ctx.db,
            ctx.services,
            ctx.user,
            client=ctx.client,
            publish=ctx.publish_after_commit,
            on_failure=ctx.even_on_failure,
        )

    # Recording -------------------------------------------------------------------------------
    def record(self, req: RecordConsumptionRequest) -> tuple[MaterialConsumption, Material]:
        """Refused, before anything moves: an unknown intervention, step or material; a
        technician on another's task; a finished intervention; an inactive,
        discontinued or expired material; a stock that does not cover used + waste."""
        intervention = self._open_intervention(req.intervention_id, req.step_id)
        material = self.materials.get(req.material_id)
        self._check_usable(material)
        used = to_milli(req.quantity_used)
        waste = to_milli(req.waste_quantity or 0)
        now = clock.now_ms()
        row = MaterialConsumption(
            id=str(uuid.uuid4()),
            intervention_id=intervention.id,
            task_id=intervention.task_id,
            material_id=material.id,
            step_id=req.step_id,
            quantity_used_milli=used,
            waste_quantity_milli=waste,
            waste_reason=req.waste_reason,
            batch_used=req.batch_used if req.batch_used is not None else material.batch_number,
            expiry_used=req.expiry_used,
            quality_notes=req.quality_notes,
            unit_cost_cents=material.unit_cost_cents,
            total_cost_cents=cost_cents(material.unit_cost_cents, used),
            currency=material.currency,
            recorded_by=self.materials.actor_id,
            recorded_at=now,
            created_at=now,
            updated_at=now,
            created_by=self.materials.actor_id,
            updated_by=self.materials.actor_id,
        )
        # One atomic update of used + waste, two ledger rows: what was fitted on the car
        # and what was thrown away stay apart in the ledger.
        movements = [Movement("stock_out", -used, "used on intervention")]
        if waste:
            movements.append(Movement("waste", -waste, req.waste_reason or "waste"))
        reference = Reference("intervention", intervention.id, row.id)
        moved = self.materials.ledger.move(material.id, movements, reference)
        self.materials.ledger.sync(material, moved)
        self.materials.repo.add_consumption(row)
        self.materials.emit(
            material, "consumed", intervention_id=intervention.id, consumption_id=row.id
        )
        return row, material

    def _open_intervention(self, intervention_id: str, step_id: str | None) -> Intervention:
        intervention = self.interventions.get(intervention_id)
        # A technician only on the tasks assigned to them (recorded as a refusal).
        self.interventions.tasks.check_scope(self.interventions.tasks.get(intervention.task_id))
        if intervention.status not in ACTIVE_STATUSES:
            raise InterventionInvalidState(
                message=f"The intervention is {intervention.status}; "
                "no more material can be recorded on it",
                status=intervention.status,
            )
        if step_id is not None:
            steps = self.interventions.steps(intervention.id)
            if all(step.id != step_id for step in steps):
                raise InterventionStepNotFound(
                    message="The step does not belong to this intervention",
                    step_id=step_id,
                    intervention_id=intervention.id,
                )
        return intervention

    @staticmethod
    def _check_usable(material: Material) -> None:
        reason = None
        if not material.is_active:
            reason = "inactive"
        elif material.is_discontinued:
            reason = "discontinued"
        elif is_expired(material, clock.now_ms()):
            reason = "expired"
        if reason is not None:
            raise MaterialUnusable(
                message=f"Material {material.sku} is {reason} and cannot be used",
                material_id=material.id,
                reason=reason,
            )

    # Reading ---------------------------------------------------------------------------------
    def report(self, query: ConsumptionQuery) -> ConsumptionReport:
        """Every consumption of the intervention (or of all the task's interventions),
        oldest first, with per-material totals and the total cost."""
        if query.intervention_id is not None:
            intervention = self.interventions.get(query.intervention_id)
            pairs = self.materials.repo.consumptions(intervention_id=intervention.id)
        else:
            assert query.task_id is not None  # the request validates exactly one
            task = self.interventions.tasks.get(query.task_id)
            pairs = self.materials.repo.consumptions(task_id=task.id)
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        materials: dict[str, Material] = {}
        for row, material in pairs:
            materials[material.id] = material
            total = totals[material.id]
            total[0] += row.quantity_used_milli
            total[1] += row.waste_quantity_milli
            total[2] += row.total_cost_cents
        currencies = {row.currency for row, _ in pairs}
        return ConsumptionReport(
            consumptions=[ConsumptionOut.of(row, material) for row, material in pairs],
            by_material=[
                MaterialUsage(
                    material_id=material_id,
                    material_sku=materials[material_id].sku,
                    material_name=materials[material_id].name,
                    unit_of_measure=materials[material_id].unit_of_measure,
                    quantity_used=from_milli(used),
                    waste_quantity=from_milli(waste),
                    total_cost=from_cents(cost),
                )
                for material_id, (used, waste, cost) in totals.items()
            ],
            total_cost=from_cents(sum(row.total_cost_cents for row, _ in pairs)),
            currency=currencies.pop() if len(currencies) == 1 else None,
        )
