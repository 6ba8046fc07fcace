"""Interventions, their steps and the workflow templates (DOMAIN.md "Interventions and
steps")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, AuditMixin, Base, SyncMixin
from rpma.core.types import JsonDict, JsonList

ACTIVE_STATUSES = ("pending", "in_progress", "paused")
_ACTIVE = text("status IN ('pending', 'in_progress', 'paused')")


class Intervention(AuditMixin, SyncMixin, Base):
    __tablename__ = "interventions"
    __table_args__ = (
        # At most one active intervention per task, enforced by the database as well as
        # by the service: two simultaneous starts cannot both succeed.
        Index(
            "uq_interventions_active_task",
            "task_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_interventions_task_created", "task_id", "created_at"),
        Index("ix_interventions_technician_status", "technician_id", "status"),
        Index("ix_interventions_started_at", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("tasks.id", ondelete="RESTRICT")
    )
    intervention_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    technician_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )
    template_key: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)
    # Copied from the task (and its client) at start: the record of what was worked on.
    vehicle_plate: Mapped[str | None] = mapped_column(String(20))
    vehicle_make: Mapped[str | None] = mapped_column(String(64))
    vehicle_model: Mapped[str | None] = mapped_column(String(64))
    vehicle_year: Mapped[int | None] = mapped_column(Integer)
    vin: Mapped[str | None] = mapped_column(String(17))
    client_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    client_name: Mapped[str | None] = mapped_column(String(200))
    ppf_zones: Mapped[list[Any]] = mapped_column(JsonList, default=list)
    film_type: Mapped[str | None] = mapped_column(String(16))
    film_brand: Mapped[str | None] = mapped_column(String(64))
    film_model: Mapped[str | None] = mapped_column(String(64))
    weather_condition: Mapped[str | None] = mapped_column(String(16))
    lighting_condition: Mapped[str | None] = mapped_column(String(16))
    work_location: Mapped[str | None] = mapped_column(String(16))
    temperature_celsius: Mapped[float | None] = mapped_column(Float)
    humidity_percentage: Mapped[float | None] = mapped_column(Float)
    start_latitude: Mapped[float | None] = mapped_column(Float)
    start_longitude: Mapped[float | None] = mapped_column(Float)
    start_accuracy: Mapped[float | None] = mapped_column(Float)
    end_latitude: Mapped[float | None] = mapped_column(Float)
    end_longitude: Mapped[float | None] = mapped_column(Float)
    end_accuracy: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    paused_at: Mapped[int | None] = mapped_column(BigInteger)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    estimated_duration: Mapped[int | None] = mapped_column(Integer)  # minutes
    actual_duration: Mapped[int | None] = mapped_column(Integer)  # minutes
    current_step: Mapped[int] = mapped_column(Integer, default=1)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    completion_percentage: Mapped[float] = mapped_column(Float, default=0.0)
    quality_score: Mapped[int | None] = mapped_column(Integer)
    customer_satisfaction: Mapped[int | None] = mapped_column(Integer)
    final_observations: Mapped[list[Any]] = mapped_column(JsonList, default=list)
    customer_signature: Mapped[str | None] = mapped_column(Text)  # base64 image
    customer_comments: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class InterventionStep(AuditMixin, Base):
    __tablename__ = "intervention_steps"
    __table_args__ = (UniqueConstraint("intervention_id", "step_number"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    intervention_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("interventions.id", ondelete="CASCADE")
    )
    step_number: Mapped[int] = mapped_column(Integer)  # 1-based
    step_name: Mapped[str] = mapped_column(String(100))
    step_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    is_mandatory: Mapped[bool] = mapped_column(Boolean)
    min_photos_required: Mapped[int] = mapped_column(Integer, default=0)
    max_photos_allowed: Mapped[int] = mapped_column(Integer, default=50)
    estimated_minutes: Mapped[int | None] = mapped_column(Integer)
    checklist: Mapped[list[Any]] = mapped_column(JsonList, default=list)
    quality_checkpoints: Mapped[list[Any]] = mapped_column(JsonList, default=list)
    collected_data: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    # Counted from the photos table by the photos domain, never taken from a client.
    photo_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)


class WorkflowTemplate(Base):
    """An edited template; the built-in defaults apply for keys without a row. A change
    never touches interventions already started (their steps are copies)."""

    __tablename__ = "workflow_templates"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
