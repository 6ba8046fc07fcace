"""Aggregate SQL over material consumption (materials domain: quantities in thousandths
of the unit, money in cents). A consumption belongs to the range by the start of its
intervention, like the intervention itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rpma.domains.interventions.models import Intervention
from rpma.domains.materials.models import Material, MaterialConsumption
from rpma.domains.reports.intervention_queries import intervention_in_range
from rpma.domains.reports.scope import ReportScope
from rpma.domains.reports.task_queries import task_in_range
from rpma.domains.tasks.models import Task

MILLI = 1000.0
CENTS = 100.0


@dataclass(frozen=True)
class MaterialGroup:
    material_id: str
    name: str
    sku: str
    material_type: str
    unit_of_measure: str
    consumptions: int
    quantity_used: float
    waste_quantity: float
    total_cost: float


def usage_by_material(db: Session, scope: ReportScope) -> list[MaterialGroup]:
    """Consumption per material, costliest first."""
    cost = func.coalesce(func.sum(MaterialConsumption.total_cost_cents), 0).label("cost")
    rows = db.execute(
        select(
            Material.id,
            Material.name,
            Material.sku,
            Material.material_type,
            Material.unit_of_measure,
            func.count(),
            func.coalesce(func.sum(MaterialConsumption.quantity_used_milli), 0),
            func.coalesce(func.sum(MaterialConsumption.waste_quantity_milli), 0),
            cost,
        )
        .select_from(MaterialConsumption)
        .join(Intervention, Intervention.id == MaterialConsumption.intervention_id)
        .join(Material, Material.id == MaterialConsumption.material_id)
        .where(*intervention_in_range(scope))
        .group_by(
            Material.id,
            Material.name,
            Material.sku,
            Material.material_type,
            Material.unit_of_measure,
        )
        .order_by(cost.desc(), Material.name, Material.id)
    )
    return [
        MaterialGroup(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            int(row[5]),
            int(row[6]) / MILLI,
            int(row[7]) / MILLI,
            int(row[8]) / CENTS,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class CostGroup:
    key: Any  # a technician id, or a day number since 1970-01-01
    consumptions: int
    total_cost: float


def cost_by_technician(db: Session, scope: ReportScope) -> list[CostGroup]:
    rows = db.execute(
        select(Intervention.technician_id, func.count(), _cost())
        .select_from(MaterialConsumption)
        .join(Intervention, Intervention.id == MaterialConsumption.intervention_id)
        .where(*intervention_in_range(scope))
        .group_by(Intervention.technician_id)
    )
    return [CostGroup(row[0], int(row[1]), int(row[2] or 0) / CENTS) for row in rows]


def cost_by_day(db: Session, scope: ReportScope) -> list[CostGroup]:
    day = scope.local_day(Intervention.started_at).label("day")
    rows = db.execute(
        select(day, func.count(), _cost())
        .select_from(MaterialConsumption)
        .join(Intervention, Intervention.id == MaterialConsumption.intervention_id)
        .where(*intervention_in_range(scope))
        .group_by(day)
        .order_by(day)
    )
    return [CostGroup(int(row[0]), int(row[1]), int(row[2] or 0) / CENTS) for row in rows]


def _cost() -> Any:
    return func.sum(MaterialConsumption.total_cost_cents)


def material_value_by_client(
    db: Session, scope: ReportScope, client_ids: list[str]
) -> dict[str, float]:
    """Material cost of the range's tasks, for each of ``client_ids``."""
    if not client_ids:
        return {}
    rows = db.execute(
        select(Task.client_id, func.sum(MaterialConsumption.total_cost_cents))
        .select_from(MaterialConsumption)
        .join(Task, Task.id == MaterialConsumption.task_id)
        .where(*task_in_range(scope), Task.client_id.in_(client_ids))
        .group_by(Task.client_id)
    )
    return {str(row[0]): int(row[1] or 0) / CENTS for row in rows}
