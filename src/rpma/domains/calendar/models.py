"""Calendar events (DOMAIN.md "Calendar"). Instants are stored as UTC Unix
milliseconds like every other timestamp; ``timezone`` is the shop's zone when the
event was written, the frame in which its all-day bounds and its recurrence live."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, AuditMixin, Base, SyncMixin


class CalendarEvent(AuditMixin, SyncMixin, Base):
    __tablename__ = "calendar_events"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        # A range read: everything starting before the range's end, then by who.
        Index("ix_calendar_events_start", "start_at"),
        Index("ix_calendar_events_technician_start", "technician_id", "start_at"),
        Index("ix_calendar_events_task", "task_id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # appointment | task | meeting | reminder | time_off | other
    event_type: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[int] = mapped_column(BigInteger)  # UTC ms, first occurrence
    end_at: Mapped[int] = mapped_column(BigInteger)  # UTC ms, exclusive
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64))
    technician_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )
    task_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("tasks.id", ondelete="SET NULL")
    )
    client_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("clients.id", ondelete="SET NULL")
    )
    location: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # confirmed | tentative | cancelled
    color: Mapped[str | None] = mapped_column(String(32))
    # RFC 5545 RRULE, canonical (UNTIL in UTC); None for a single event.
    rrule: Mapped[str | None] = mapped_column(String(500))
    # When the last occurrence ends (UTC ms): end_at for a single event, None for a
    # series without an end. Lets a range read skip finished series in SQL.
    series_end_at: Mapped[int | None] = mapped_column(BigInteger)
