"""Every query on the security trail."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rpma.domains.auth.models import AuthSession
from rpma.domains.security.models import SecurityEvent
from rpma.domains.users.models import User


class SecurityRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    def newest(
        self, limit: int, event_type: str | None = None, user_id: str | None = None
    ) -> list[SecurityEvent]:
        query = select(SecurityEvent)
        if event_type:
            query = query.where(SecurityEvent.event_type == event_type)
        if user_id:
            query = query.where(SecurityEvent.user_id == user_id)
        # id breaks ties between events of the same millisecond, for a stable order.
        query = query.order_by(SecurityEvent.timestamp.desc(), SecurityEvent.id.desc())
        return list(self.db.scalars(query.limit(limit)))

    def count_since(
        self, since_ms: int, *, event_type: str | None = None, severities: tuple[str, ...] = ()
    ) -> int:
        query = (
            select(func.count())
            .select_from(SecurityEvent)
            .where(SecurityEvent.timestamp >= since_ms)
        )
        if event_type:
            query = query.where(SecurityEvent.event_type == event_type)
        if severities:
            query = query.where(SecurityEvent.severity.in_(severities))
        return int(self.db.scalar(query) or 0)

    def last_timestamp(self) -> int | None:
        value = self.db.scalar(select(func.max(SecurityEvent.timestamp)))
        return int(value) if value is not None else None

    def active_sessions(self, now_ms: int) -> int:
        query = (
            select(func.count())
            .select_from(AuthSession)
            .where(AuthSession.revoked_at.is_(None), AuthSession.refresh_expires_at > now_ms)
        )
        return int(self.db.scalar(query) or 0)

    def locked_accounts(self, now_ms: int) -> int:
        query = select(func.count()).select_from(User).where(User.locked_until > now_ms)
        return int(self.db.scalar(query) or 0)
