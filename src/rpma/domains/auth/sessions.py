"""Session management: listing and ending sessions, and the session timeout.

A session ends for real when its row is revoked: the authenticator checks the row on
every call, so whatever a JWT still claims, a revoked session is refused at once.
Services flush, never commit: the dispatcher owns the transaction.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.commands import IpcRequest
from rpma.core.context import ClientInfo, Principal
from rpma.core.db import SESSIONS_CHANGED, note_for_commit
from rpma.core.errors import AuthorizationError, NotFound
from rpma.domains.auth.models import AuthSession
from rpma.domains.auth.repository import SessionRepository
from rpma.domains.security.service import EventType, record
from rpma.domains.settings.service import (
    SESSION_TIMEOUT_KEY,
    SESSION_TIMEOUT_MAX,
    SESSION_TIMEOUT_MIN,
    get_setting,
    set_setting,
)
from rpma.domains.users.repository import UserRepository


# Requests and answers -------------------------------------------------------------------
class ActiveSessionsRequest(IpcRequest):
    user_id: str | None = Field(
        default=None, max_length=64, description="Admin only: another user's sessions"
    )


class RevokeSessionRequest(IpcRequest):
    session_id: str = Field(min_length=1, max_length=64)


class SessionTimeoutRequest(IpcRequest):
    timeout_minutes: int = Field(ge=SESSION_TIMEOUT_MIN, le=SESSION_TIMEOUT_MAX)


class UserSession(BaseModel):
    id: str
    user_id: str
    created_at: int
    expires_at: int = Field(description="When the current access token expires")
    last_activity: int
    ip_address: str | None
    user_agent: str | None
    is_current: bool

    @classmethod
    def of(cls, row: AuthSession, current_session_id: str) -> UserSession:
        return cls(
            id=row.id,
            user_id=row.user_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_activity=row.last_activity,
            ip_address=row.ip_address,
            user_agent=row.user_agent,
            is_current=row.id == current_session_id,
        )


# Ending sessions --------------------------------------------------------------------------
def end_user_sessions(db: Session, user_id: str, reason: str, *, keep: str | None = None) -> int:
    """Revoke every live session of ``user_id`` except ``keep``; answers how many ended."""
    now = clock.now_ms()
    if keep is None:
        return SessionRepository(db).revoke_all_for_user(user_id, now, reason)
    note_for_commit(db, SESSIONS_CHANGED)  # open /ws connections are checked at once
    result = db.execute(
        update(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.id != keep,
        )
        .values(revoked_at=now, revoke_reason=reason)
    )
    return int(getattr(result, "rowcount", 0))


class SessionService:
    def __init__(self, db: Session, principal: Principal, client: ClientInfo) -> None:
        self.db = db
        self.principal = principal
        self.client = client
        self.sessions = SessionRepository(db)

    def active(self, user_id: str | None) -> list[UserSession]:
        """The live sessions of the caller, or of ``user_id`` for an admin; most recently
        active first."""
        owner = user_id or self.principal.user_id
        if owner != self.principal.user_id:
            if not self.principal.is_admin:
                raise AuthorizationError(message="Only an admin may list another user's sessions")
            if UserRepository(self.db).get(owner) is None:
                raise NotFound("NOT_FOUND_USER", "User not found", user_id=owner)
        rows = self.db.scalars(
            select(AuthSession)
            .where(
                AuthSession.user_id == owner,
                AuthSession.revoked_at.is_(None),
                # A session lives as long as its refresh token, whatever the access token.
                AuthSession.refresh_expires_at > clock.now_ms(),
            )
            .order_by(AuthSession.last_activity.desc(), AuthSession.id)
        )
        return [UserSession.of(row, self.principal.session_id) for row in rows]

    def revoke(self, session_id: str) -> str:
        session = self.sessions.get(session_id)
        live = (
            session is not None
            and session.revoked_at is None
            and session.refresh_expires_at > clock.now_ms()
        )
        # Someone else's session answers exactly like a missing one, so that a non-admin
        # cannot learn which session ids exist.
        if (
            session is None
            or not live
            or (session.user_id != self.principal.user_id and not self.principal.is_admin)
        ):
            raise NotFound(message="Session not found", session_id=session_id)
        self.sessions.revoke(session, clock.now_ms(), "revoked")
        record(
            self.db,
            EventType.SESSION_REVOKED,
            "Session revoked"
            + ("" if session.user_id == self.principal.user_id else " by an admin"),
            user_id=session.user_id,
            client=self.client,
            session_id=session.id,
            actor_id=self.principal.user_id,
        )
        return "Session revoked"

    def set_timeout(self, minutes: int, default: int) -> str:
        """Store the access-token lifetime of new sessions (existing ones keep theirs)."""
        previous = get_setting(self.db, SESSION_TIMEOUT_KEY, default)
        set_setting(self.db, SESSION_TIMEOUT_KEY, minutes, actor_id=self.principal.user_id)
        record(
            self.db,
            EventType.SESSION_TIMEOUT_CHANGED,
            f"Session timeout set to {minutes} minutes",
            user_id=self.principal.user_id,
            client=self.client,
            old_minutes=previous,
            new_minutes=minutes,
        )
        return f"Session timeout set to {minutes} minutes"
