"""Every query on interventions, their steps and the stored workflow templates."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rpma.domains.interventions.models import (
    ACTIVE_STATUSES,
    Intervention,
    InterventionStep,
    WorkflowTemplate,
)


class InterventionRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    # Interventions -----------------------------------------------------------------------
    def get(self, intervention_id: str, *, lock: bool = False) -> Intervention | None:
        query = select(Intervention).where(
            Intervention.id == intervention_id, Intervention.deleted_at.is_(None)
        )
        if lock:  # PostgreSQL: FOR UPDATE; SQLite writers are serialized already
            query = query.with_for_update()
        return self.db.scalar(query)

    def active_for_task(self, task_id: str) -> Intervention | None:
        """The task's pending, in-progress or paused intervention (at most one: the
        partial unique index ``uq_interventions_active_task`` guarantees it)."""
        return self.db.scalar(
            select(Intervention).where(
                Intervention.task_id == task_id,
                Intervention.status.in_(ACTIVE_STATUSES),
                Intervention.deleted_at.is_(None),
            )
        )

    def latest_for_task(self, task_id: str) -> Intervention | None:
        return self.db.scalar(
            select(Intervention)
            .where(Intervention.task_id == task_id, Intervention.deleted_at.is_(None))
            .order_by(Intervention.created_at.desc(), Intervention.started_at.desc())
            .limit(1)
        )

    def add(self, intervention: Intervention, steps: list[InterventionStep]) -> None:
        """Flushes the intervention first: a second active one for the same task fails
        here, on the unique index, before anything else is written."""
        self.db.add(intervention)
        self.db.flush()
        self.db.add_all(steps)
        self.db.flush()

    # Steps ---------------------------------------------------------------------------------
    def steps(self, intervention_id: str) -> list[InterventionStep]:
        return list(
            self.db.scalars(
                select(InterventionStep)
                .where(InterventionStep.intervention_id == intervention_id)
                .order_by(InterventionStep.step_number)
            )
        )

    def step(self, intervention_id: str, step_number: int) -> InterventionStep | None:
        return self.db.scalar(
            select(InterventionStep).where(
                InterventionStep.intervention_id == intervention_id,
                InterventionStep.step_number == step_number,
            )
        )

    # Templates -----------------------------------------------------------------------------
    def template_rows(self) -> dict[str, WorkflowTemplate]:
        return {row.key: row for row in self.db.scalars(select(WorkflowTemplate))}

    def template_row(self, key: str, *, lock: bool = False) -> WorkflowTemplate | None:
        query = select(WorkflowTemplate).where(WorkflowTemplate.key == key)
        if lock:
            query = query.with_for_update()
        return self.db.scalar(query)

    def save_template(self, row: WorkflowTemplate) -> None:
        self.db.add(row)
        self.db.flush()

    def delete_template(self, row: WorkflowTemplate) -> None:
        self.db.delete(row)
        self.db.flush()
