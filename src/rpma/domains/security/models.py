"""The security trail: append-only, one row per security-relevant event."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, Base


class SecurityEvent(Base):
    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_type_time", "event_type", "timestamp"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(16))  # info | warning | critical
    user_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    description: Mapped[str] = mapped_column(String(500))
    details: Mapped[str | None] = mapped_column(Text)  # JSON
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    timestamp: Mapped[int] = mapped_column(BigInteger, index=True)
