"""Session management and the own-password change (seed: Security Commands
get_active_sessions, revoke_session, update_session_timeout; Settings Commands
settings_change_user_password). Thin: parse, call the service, answer."""

from __future__ import annotations

from pydantic import Field

from rpma.core.commands import IpcRequest, RateClass, command
from rpma.core.context import CommandContext
from rpma.core.permissions import ADMIN, SIGNED_IN
from rpma.core.validation import Password
from rpma.domains.auth.sessions import (
    ActiveSessionsRequest,
    RevokeSessionRequest,
    SessionService,
    SessionTimeoutRequest,
    UserSession,
)
from rpma.domains.users.service import UserService

SESSION_ERRORS = ("AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED")


class ChangePasswordRequest(IpcRequest):
    # Not checked for strength: it only has to match what is stored.
    current_password: str = Field(min_length=1, max_length=128)
    new_password: Password


@command(
    "get_active_sessions",
    request=ActiveSessionsRequest,
    response=list[UserSession],
    permission=SIGNED_IN,
    writes=False,
    errors=["AUTH_FORBIDDEN", "NOT_FOUND_USER", *SESSION_ERRORS],
)
def get_active_sessions(ctx: CommandContext, req: ActiveSessionsRequest) -> list[UserSession]:
    """The caller's live sessions, most recently active first (`is_current` marks the
    calling one); an admin may pass `user_id` for another user's."""
    return SessionService(ctx.db, ctx.user, ctx.client).active(req.user_id)


@command(
    "revoke_session",
    request=RevokeSessionRequest,
    response=str,
    permission=SIGNED_IN,
    errors=["NOT_FOUND", *SESSION_ERRORS],
)
def revoke_session(ctx: CommandContext, req: RevokeSessionRequest) -> str:
    """End one session at once: one's own, or any for an admin. Another user's session
    answers NOT_FOUND for a non-admin, like a session that does not exist."""
    return SessionService(ctx.db, ctx.user, ctx.client).revoke(req.session_id)


@command(
    "update_session_timeout",
    request=SessionTimeoutRequest,
    response=str,
    permission=ADMIN,
    errors=["VALIDATION_ERROR", "AUTH_FORBIDDEN", *SESSION_ERRORS],
)
def update_session_timeout(ctx: CommandContext, req: SessionTimeoutRequest) -> str:
    """Set the access-token lifetime of new sessions, in minutes (5 to 10080); sessions
    already open keep theirs."""
    default = ctx.services.settings.access_token_minutes
    return SessionService(ctx.db, ctx.user, ctx.client).set_timeout(req.timeout_minutes, default)


@command(
    "settings_change_user_password",
    request=ChangePasswordRequest,
    response=None,
    permission=SIGNED_IN,
    # It checks a password, so it is rate limited like a login: a stolen session must
    # not become a way to guess the account's password.
    limit=RateClass.AUTH,
    errors=[
        "AUTH_INVALID",
        "VALIDATION_PASSWORD_WEAK",
        "VALIDATION_ERROR",
        *SESSION_ERRORS,
        "RATE_LIMIT",
    ],
)
def settings_change_user_password(ctx: CommandContext, req: ChangePasswordRequest) -> None:
    """Change one's own password, proven by the current one. The user's other sessions
    end; the calling one goes on."""
    UserService(ctx.db, ctx.services, ctx.user, ctx.client).change_own_password(
        req.current_password, req.new_password
    )
