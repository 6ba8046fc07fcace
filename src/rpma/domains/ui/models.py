"""The last position each user's browser reported (ui_gps_report_position)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, Base


class ReportedPosition(Base):
    __tablename__ = "ui_gps_positions"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float] = mapped_column(Float)
    timestamp: Mapped[int] = mapped_column(BigInteger)  # when the device took the fix
    reported_at: Mapped[int] = mapped_column(BigInteger)
