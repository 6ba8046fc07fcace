"""Every query on sessions."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from rpma.core.db import SESSIONS_CHANGED, note_for_commit
from rpma.domains.auth.models import AuthSession


class SessionRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    def get(self, session_id: str) -> AuthSession | None:
        return self.db.get(AuthSession, session_id)

    def add(self, session: AuthSession) -> AuthSession:
        self.db.add(session)
        self.db.flush()
        return session

    def revoke(self, session: AuthSession, now_ms: int, reason: str) -> None:
        if session.revoked_at is None:
            session.revoked_at = now_ms
            session.revoke_reason = reason
            self.db.flush()
            note_for_commit(self.db, SESSIONS_CHANGED)

    def revoke_by_id(self, session_id: str, now_ms: int, reason: str) -> None:
        note_for_commit(self.db, SESSIONS_CHANGED)
        self.db.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now_ms, revoke_reason=reason)
        )

    def rotate_refresh(self, session_id: str, old_jti: str, new_jti: str, **values: int) -> bool:
        """Swap the refresh token id only if it is still ``old_jti``: of two concurrent
        refreshes with the same token, exactly one wins."""
        result = self.db.execute(
            update(AuthSession)
            .where(
                AuthSession.id == session_id,
                AuthSession.refresh_jti == old_jti,
                AuthSession.revoked_at.is_(None),
            )
            .values(refresh_jti=new_jti, **values)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def revoke_all_for_user(self, user_id: str, now_ms: int, reason: str) -> int:
        note_for_commit(self.db, SESSIONS_CHANGED)
        result = self.db.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now_ms, revoke_reason=reason)
        )
        return int(getattr(result, "rowcount", 0))
