"""Users (DOMAIN.md "Users and sessions")."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, AuditMixin, Base, SyncMixin


class User(AuditMixin, SyncMixin, Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[int | None] = mapped_column(BigInteger)
    # Secrets: never serialized (schemas.UserAccount lists what leaves the server).
    password_hash: Mapped[str] = mapped_column(String(255))
    two_factor_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    two_factor_secret: Mapped[str | None] = mapped_column(Text)
    password_changed_at: Mapped[int | None] = mapped_column(BigInteger)
    # The last TOTP time step accepted: a code is good once (no replay in its 30 s).
    two_factor_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Login protection: failures in the current 15-minute window, and the lock's end.
    failed_login_attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_login_at: Mapped[int | None] = mapped_column(BigInteger)
    locked_until: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
