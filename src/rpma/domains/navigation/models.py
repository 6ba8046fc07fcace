"""Per-user navigation: the page shown now and the pages recorded for back/forward."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, Base


class NavigationState(Base):
    """The page a user is on. ``cursor`` is the position of the history entry that page
    came from (None before the first one is recorded)."""

    __tablename__ = "navigation_states"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    route: Mapped[str] = mapped_column(String(500))
    params: Mapped[str | None] = mapped_column(Text)  # JSON object
    title: Mapped[str | None] = mapped_column(String(200))
    cursor: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class NavigationEntry(Base):
    """One recorded page. Positions only grow, per user: going back moves the cursor to a
    smaller one, recording after going back drops the larger ones (browser behaviour)."""

    __tablename__ = "navigation_history"
    __table_args__ = (UniqueConstraint("user_id", "position"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(500))
    params: Mapped[str | None] = mapped_column(Text)  # JSON object
    title: Mapped[str | None] = mapped_column(String(200))
    visited_at: Mapped[int] = mapped_column(BigInteger)
