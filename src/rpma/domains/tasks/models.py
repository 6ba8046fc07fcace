"""Tasks, their status history, and the per-day task number counter (DOMAIN.md "Tasks")."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, AuditMixin, Base, SyncMixin
from rpma.core.types import JsonList


class Task(AuditMixin, SyncMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # The list's usual shapes: by status and date, by technician and date, newest.
        Index("ix_tasks_status_date", "status", "scheduled_date"),
        Index("ix_tasks_technician_date", "technician_id", "scheduled_date"),
        Index("ix_tasks_client_date", "client_id", "scheduled_date"),
        Index("ix_tasks_priority", "priority"),
        Index("ix_tasks_created_at", "created_at"),
        Index("ix_tasks_scheduled_date", "scheduled_date"),
        Index("ix_tasks_plate", "vehicle_plate"),
        # Statistics read only this (one GROUP BY pass over the live tasks) and the
        # list's COUNT(*) scans it instead of the table: 13x and 4x on 100k tasks.
        Index(
            "ix_tasks_live_stats",
            "status",
            "priority",
            "technician_id",
            "scheduled_date",
            "completed_at",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_number: Mapped[str] = mapped_column(String(20), unique=True)  # YYYYMMDD-NNN
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    vehicle_plate: Mapped[str] = mapped_column(String(20))
    vehicle_make: Mapped[str | None] = mapped_column(String(64))
    vehicle_model: Mapped[str | None] = mapped_column(String(64))
    vehicle_year: Mapped[int | None] = mapped_column(Integer)
    vin: Mapped[str | None] = mapped_column(String(17))
    vehicle_color: Mapped[str | None] = mapped_column(String(32))
    ppf_zones: Mapped[list[Any]] = mapped_column(JsonList, default=list)
    film_type: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8), default="medium")
    client_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("clients.id", ondelete="RESTRICT")
    )
    technician_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )
    assigned_at: Mapped[int | None] = mapped_column(BigInteger)
    assigned_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    scheduled_date: Mapped[date | None] = mapped_column(Date)
    start_time: Mapped[str | None] = mapped_column(String(5))  # HH:MM, shop time zone
    end_time: Mapped[str | None] = mapped_column(String(5))
    estimated_duration: Mapped[int | None] = mapped_column(Integer)  # minutes
    actual_duration: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    notes: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(JsonList, default=list)


class TaskHistory(Base):
    """One row per status change or reschedule, never updated."""

    __tablename__ = "task_history"
    __table_args__ = (Index("ix_task_history_task_time", "task_id", "changed_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("tasks.id", ondelete="CASCADE")
    )
    old_status: Mapped[str | None] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    changed_at: Mapped[int] = mapped_column(BigInteger)


class TaskNumberCounter(Base):
    """The last task number given out per day; bumped atomically (INSERT ... ON CONFLICT
    DO UPDATE ... RETURNING) so concurrent creations never share a number."""

    __tablename__ = "task_number_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD
    last_number: Mapped[int] = mapped_column(Integer)
