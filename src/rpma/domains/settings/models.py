"""Application settings that admins change at run time (JSON values by key)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, Base


class AppSetting(Base):
    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))


class SettingChange(Base):
    """The audit trail of settings: one row per key an admin changed, with the value
    before and after (JSON; the categories hold no secret, see domains/settings/catalog.py)."""

    __tablename__ = "settings_history"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)  # JSON; None when never set
    new_value: Mapped[str] = mapped_column(Text)  # JSON
    changed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    changed_at: Mapped[int] = mapped_column(BigInteger, index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
