"""Sessions: one row per login; tokens are only as good as their row."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, Base


class AuthSession(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[int] = mapped_column(BigInteger)
    # When the current access token expires; moves forward on every refresh.
    expires_at: Mapped[int] = mapped_column(BigInteger)
    # When the session ends for good (the refresh token's lifetime).
    refresh_expires_at: Mapped[int] = mapped_column(BigInteger)
    last_activity: Mapped[int] = mapped_column(BigInteger)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, index=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(64))
    # The id of the one refresh token that may still be used: single use, rotating.
    refresh_jti: Mapped[str] = mapped_column(String(64))


class BackupCode(Base):
    """A single-use 2FA backup code, stored hashed like a password."""

    __tablename__ = "backup_codes"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger)
