"""Photos taken during an intervention (DOMAIN.md "Photo"); the bytes live in storage
under server-made keys, the row keeps what was verified about them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, AuditMixin, Base


class Photo(AuditMixin, Base):
    __tablename__ = "photos"
    __table_args__ = (
        Index("ix_photos_intervention_step", "intervention_id", "step_number"),
        Index("ix_photos_sha256", "sha256"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    intervention_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("interventions.id", ondelete="CASCADE")
    )
    step_number: Mapped[int] = mapped_column(Integer)
    photo_type: Mapped[str] = mapped_column(String(8))  # before | during | after
    category: Mapped[str] = mapped_column(String(24))
    zone: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))  # as the client named it
    mime_type: Mapped[str] = mapped_column(String(32))  # as sniffed, not as claimed
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[int | None] = mapped_column(BigInteger)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(String(255))
    thumbnail_key: Mapped[str | None] = mapped_column(String(255))
