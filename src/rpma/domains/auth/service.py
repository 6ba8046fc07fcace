"""Sign-in rules: accounts, login (with login protection and the 2FA challenge),
sessions and token rotation.

Services flush, never commit: the dispatcher owns the transaction. Whatever must be
written although the command fails (a failed-login event, a failure count, the end of
a session whose refresh token was reused) goes through ``on_failure``, i.e.
``ctx.even_on_failure``.
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
from rpma.core.security import TokenClaims
from rpma.core.services import Services
from rpma.domains.auth import lockout
from rpma.domains.auth.models import AuthSession
from rpma.domains.auth.repository import SessionRepository
from rpma.domains.auth.schemas import (
    CreateAccountRequest,
    LoginResponse,
    RefreshResponse,
    TwoFactorChallenge,
)
from rpma.domains.auth.twofactor import TwoFactorInvalidCode, TwoFactorService
from rpma.domains.security.service import EventType, record
from rpma.domains.settings.service import session_timeout_minutes
from rpma.domains.users.models import User
from rpma.domains.users.repository import UserRepository
from rpma.domains.users.schemas import UserAccount

FailureSink = Callable[[Callable[[Session], None]], None]

CHALLENGE_LIFETIME = timedelta(minutes=5)
# The challenge's "sid" claim is no session: it names the challenge and the account's
# last sign-in, so that a completed sign-in retires every challenge issued before it
# (a challenge opens at most one session).
CHALLENGE_PREFIX = "2fa"


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
    def login(
        self, email: str, password: str, client: ClientInfo, on_failure: FailureSink
    ) -> LoginResponse | TwoFactorChallenge:
        user = self.users.by_email(email)
        # Verify even when there is no such user (against a dummy hash), so that an
        # unknown email and a wrong password cost the same time and get the same answer.
        valid = self.services.passwords.verify(user.password_hash if user else None, password)
        if user is None:
            on_failure(lockout.unknown_account(email, client))
            raise AuthenticationError()
        reason = self._refusal(user, valid)
        if reason is not None:
            on_failure(
                lockout.failed_attempt(
                    user.id, client, EventType.LOGIN_FAILED, "Login failed", reason=reason
                )
            )
            raise AuthenticationError()
        if self.services.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.services.passwords.hash(password)
        if user.two_factor_enabled:
            # The failure count is not reset yet: a password alone must not buy an
            # attacker fresh guesses at the second factor.
            return self.challenge(user)
        return self.sign_in(user, client, method="password")

    @staticmethod
    def _refusal(user: User, password_ok: bool) -> str | None:
        """Why a sign-in of a known account is refused, for the trail. The caller's
        answer is the same whatever the reason: a locked account answers exactly like a
        wrong password, even to the right one."""
        if lockout.is_locked(user, clock.now_ms()):
            return "account_locked"
        if not password_ok:
            return "wrong_password"
        if not user.is_active:
            return "inactive"
        return None

    def challenge(self, user: User) -> TwoFactorChallenge:
        issued = self.services.tokens.issue(
            token_type="2fa_challenge",
            user_id=user.id,
            session_id=f"{CHALLENGE_PREFIX}:{user.last_login_at or 0}:{uuid.uuid4().hex}",
            now=clock.now(),
            lifetime=CHALLENGE_LIFETIME,
        )
        return TwoFactorChallenge(challenge_token=issued.token, expires_at=issued.expires_at_ms)

    def complete_challenge(
        self, claims: TokenClaims, code: str, client: ClientInfo, on_failure: FailureSink
    ) -> LoginResponse:
        """verify_2fa_code with a challenge token: the second factor, then the session."""
        user = self.users.get(claims.user_id)
        prefix, _, rest = claims.session_id.partition(":")
        issued_after = rest.partition(":")[0]
        if (
            user is None
            or not user.is_active
            or not user.two_factor_enabled
            or prefix != CHALLENGE_PREFIX
            or issued_after != str(user.last_login_at or 0)
        ):
            raise SessionInvalid(message="This sign-in challenge is no longer valid; sign in again")
        twofactor = TwoFactorService(self.db, self.services)
        locked = lockout.is_locked(user, clock.now_ms())
        method = None if locked else twofactor.check(user, code)
        if method is None:
            details = {"reason": "account_locked"} if locked else {}
            on_failure(
                lockout.failed_attempt(
                    user.id,
                    client,
                    EventType.TWO_FACTOR_FAILED,
                    "Wrong 2FA code at sign-in",
                    stage="login",
                    **details,
                )
            )
            raise TwoFactorInvalidCode()
        twofactor.record_success(user.id, method, client)
        return self.sign_in(user, client, method=method)

    def sign_in(self, user: User, client: ClientInfo, *, method: str) -> LoginResponse:
        lockout.reset(user)
        # Strictly increasing, even for two sign-ins in one millisecond: it retires
        # the 2FA challenges issued before this sign-in (see CHALLENGE_PREFIX).
        user.last_login_at = max(clock.now_ms(), (user.last_login_at or 0) + 1)
        record(
            self.db,
            EventType.LOGIN_SUCCESS,
            "Signed in",
            user_id=user.id,
            client=client,
            method=method,
        )
        return self.open_session(user, client)

    def _access_lifetime(self) -> timedelta:
        """The admin's session timeout (update_session_timeout), else the server's
        configured access-token lifetime. Read per token, so a change applies to the
        next sign-in or refresh, never retroactively."""
        default = self.services.settings.access_token_minutes
        return timedelta(minutes=session_timeout_minutes(self.db, default))

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
            lifetime=self._access_lifetime(),
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

    def logout(self, principal: Principal, client: ClientInfo) -> None:
        session = self.sessions.get(principal.session_id)
        if session is not None:
            self.sessions.revoke(session, clock.now_ms(), "logout")
        record(
            self.db,
            EventType.LOGOUT,
            "Signed out",
            user_id=principal.user_id,
            client=client,
            session_id=principal.session_id,
        )

    def refresh(
        self, refresh_token: str, client: ClientInfo, on_failure: FailureSink
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
        access = self.services.tokens.issue(
            token_type="access",
            user_id=user.id,
            session_id=session.id,
            role=user.role,
            now=now,
            lifetime=self._access_lifetime(),
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
            session_id, user_id = session.id, user.id

            def end_session(db: Session) -> None:
                SessionRepository(db).revoke_by_id(
                    session_id, clock.now_ms(), "refresh_token_reuse"
                )
                record(
                    db,
                    EventType.REFRESH_TOKEN_REUSE,
                    "A used refresh token came back; the session was ended",
                    user_id=user_id,
                    client=client,
                    session_id=session_id,
                )

            on_failure(end_session)
            raise SessionInvalid(
                message="This refresh token was already used; the session has been ended"
            )
        record(
            self.db,
            EventType.TOKEN_REFRESHED,
            "Session tokens refreshed",
            user_id=user.id,
            client=client,
            session_id=session.id,
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
        # The identity map holds objects weakly: keep the caller's row referenced for the
        # transaction, so a handler asking for it again does not reload it (bench/).
        db.info["caller"] = user
        return Principal(
            user_id=user.id,
            # The role comes from the database, not the token: a changed role applies now.
            role=Role(user.role),
            session_id=session.id,
            email=user.email,
            expires_at_ms=claims.expires_at_ms,
        )
