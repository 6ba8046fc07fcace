"""Sign-in rules: accounts, login, sessions and token rotation.

Services flush, never commit: the dispatcher owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import ClientInfo, Principal
from rpma.core.errors import (
    AuthenticationError,
    SessionExpired,
    SessionInvalid,
    ValidationFailed,
)
from rpma.core.permissions import Role
from rpma.core.services import Services
from rpma.domains.auth.models import AuthSession
from rpma.domains.auth.repository import SessionRepository
from rpma.domains.auth.schemas import (
    CreateAccountRequest,
    LoginResponse,
    RefreshResponse,
)
from rpma.domains.users.models import User
from rpma.domains.users.repository import UserRepository
from rpma.domains.users.schemas import UserAccount


class AuthService:
    def __init__(self, db: Session, services: Services) -> None:
        self.db = db
        self.services = services
        self.users = UserRepository(db)
        self.sessions = SessionRepository(db)

    # Accounts -----------------------------------------------------------------------
    def create_user(
        self,
        req: CreateAccountRequest,
        *,
        role: Role,
        actor_id: str | None,
        username: str | None = None,
    ) -> User:
        if self.users.email_taken(req.email):
            raise ValidationFailed("VALIDATION_EMAIL_TAKEN", "Email already in use", field="email")
        now = clock.now_ms()
        user_id = str(uuid.uuid4())
        user = User(
            id=user_id,
            email=req.email,
            username=self.users.unique_username(username, req.email),
            first_name=req.first_name,
            last_name=req.last_name,
            role=role.value,
            phone=req.phone,
            is_active=True,
            password_hash=self.services.passwords.hash(req.password),
            two_factor_enabled=False,
            password_changed_at=now,
            created_at=now,
            updated_at=now,
            created_by=actor_id or user_id,
            updated_by=actor_id or user_id,
            version=1,
        )
        return self.users.add(user)

    # Login and sessions --------------------------------------------------------------
    def login(self, email: str, password: str, client: ClientInfo) -> LoginResponse:
        user = self.users.by_email(email)
        # Verify even when there is no such user (against a dummy hash), so that an
        # unknown email and a wrong password cost the same time and get the same answer.
        valid = self.services.passwords.verify(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            raise AuthenticationError()
        if self.services.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.services.passwords.hash(password)
        user.last_login_at = clock.now_ms()
        return self.open_session(user, client)

    def open_session(self, user: User, client: ClientInfo) -> LoginResponse:
        settings = self.services.settings
        now = clock.now()
        session_id = str(uuid.uuid4())
        access = self.services.tokens.issue(
            token_type="access",
            user_id=user.id,
            session_id=session_id,
            role=user.role,
            now=now,
            lifetime=timedelta(minutes=settings.access_token_minutes),
        )
        refresh = self.services.tokens.issue(
            token_type="refresh",
            user_id=user.id,
            session_id=session_id,
            now=now,
            lifetime=timedelta(days=settings.refresh_token_days),
        )
        self.sessions.add(
            AuthSession(
                id=session_id,
                user_id=user.id,
                created_at=clock.now_ms(),
                expires_at=access.expires_at_ms,
                refresh_expires_at=refresh.expires_at_ms,
                last_activity=clock.now_ms(),
                ip_address=client.ip_address,
                user_agent=(client.user_agent or "")[:512] or None,
                refresh_jti=refresh.jti,
            )
        )
        return LoginResponse(
            access_token=access.token,
            refresh_token=refresh.token,
            user=UserAccount.of(user),
            expires_at=access.expires_at_ms,
        )

    def logout(self, principal: Principal) -> None:
        session = self.sessions.get(principal.session_id)
        if session is not None:
            self.sessions.revoke(session, clock.now_ms(), "logout")

    def refresh(
        self, refresh_token: str, on_failure: Callable[[Callable[[Session], None]], None]
    ) -> RefreshResponse:
        now = clock.now()
        claims = self.services.tokens.decode(refresh_token, expected_type="refresh", now=now)
        session = self.sessions.get(claims.session_id)
        if session is None or session.user_id != claims.user_id:
            raise SessionInvalid()
        if session.revoked_at is not None:
            raise SessionInvalid(message="This session has ended; sign in again")
        user = self.users.get(session.user_id)
        if user is None or not user.is_active:
            raise SessionInvalid(message="This account is no longer active")
        settings = self.services.settings
        access = self.services.tokens.issue(
            token_type="access",
            user_id=user.id,
            session_id=session.id,
            role=user.role,
            now=now,
            lifetime=timedelta(minutes=settings.access_token_minutes),
        )
        # The refresh token keeps the session's original end: rotation never extends it.
        remaining = timedelta(milliseconds=session.refresh_expires_at - clock.now_ms())
        new_refresh = self.services.tokens.issue(
            token_type="refresh",
            user_id=user.id,
            session_id=session.id,
            now=now,
            lifetime=remaining,
        )
        rotated = self.sessions.rotate_refresh(
            session.id,
            claims.jti,
            new_refresh.jti,
            expires_at=access.expires_at_ms,
            last_activity=clock.now_ms(),
        )
        if not rotated:
            # A rotated (already used) refresh token came back: whoever holds it may
            # have stolen it, so the whole session ends (refresh-token reuse detection).
            # The command fails, so the revocation is written in a transaction of its own.
            # Capture the id now: after the rollback the ORM object is expired.
            session_id = session.id
            on_failure(
                lambda db: SessionRepository(db).revoke_by_id(
                    session_id, clock.now_ms(), "refresh_token_reuse"
                )
            )
            raise SessionInvalid(
                message="This refresh token was already used; the session has been ended"
            )
        return RefreshResponse(
            access_token=access.token,
            refresh_token=new_refresh.token,
            expires_at=access.expires_at_ms,
        )


class SessionAuthenticator:
    """The dispatcher's view of auth: a token in, a live principal out."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def has_users(self, db: Session) -> bool:
        return UserRepository(db).any_exists()

    def resolve(self, db: Session, token: str) -> Principal:
        claims = self.services.tokens.decode(token, expected_type="access", now=clock.now())
        session = SessionRepository(db).get(claims.session_id)
        if session is None or session.user_id != claims.user_id:
            raise SessionInvalid()
        if session.revoked_at is not None:
            raise SessionInvalid(message="This session has ended; sign in again")
        if session.refresh_expires_at <= clock.now_ms():
            raise SessionExpired()
        user = UserRepository(db).get(claims.user_id)
        if user is None or not user.is_active:
            raise SessionInvalid(message="This account is no longer active")
        return Principal(
            user_id=user.id,
            # The role comes from the database, not the token: a changed role applies now.
            role=Role(user.role),
            session_id=session.id,
            email=user.email,
            expires_at_ms=claims.expires_at_ms,
        )
