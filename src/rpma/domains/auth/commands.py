"""The auth commands (seed: Auth Commands). Thin: parse, call the service, answer."""

from __future__ import annotations

from rpma.core.commands import RateClass, command
from rpma.core.context import CommandContext
from rpma.core.permissions import PUBLIC, SIGNED_IN, Role
from rpma.domains.auth.schemas import (
    CreateAccountRequest,
    LoginRequest,
    LoginResponse,
    RefreshRequest,
    RefreshResponse,
    TokenRequest,
    TwoFactorChallenge,
    ValidateSessionResponse,
)
from rpma.domains.auth.service import AuthService
from rpma.domains.users.repository import UserRepository
from rpma.domains.users.schemas import UserAccount

SESSION_ERRORS = ("AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED")


@command(
    "auth_login",
    request=LoginRequest,
    # The tokens, or, for an account with 2FA on, a challenge for verify_2fa_code.
    response=LoginResponse | TwoFactorChallenge,
    permission=PUBLIC,
    limit=RateClass.AUTH,
    errors=["AUTH_INVALID", "VALIDATION_EMAIL_INVALID", "VALIDATION_ERROR", "RATE_LIMIT"],
)
def auth_login(ctx: CommandContext, req: LoginRequest) -> LoginResponse | TwoFactorChallenge:
    """Sign in with email and password; answers the session's tokens or a 2FA challenge.

    With 2FA on, the answer is `{requires_2fa, challenge_token, expires_at}` and no
    tokens: verify_2fa_code turns the challenge into a session. Five failures on one
    account within 15 minutes lock it for 15 minutes; a locked account answers exactly
    like a wrong password.
    """
    return AuthService(ctx.db, ctx.services).login(
        req.email, req.password, ctx.client, ctx.even_on_failure
    )


@command(
    "auth_create_account",
    request=CreateAccountRequest,
    response=LoginResponse,
    permission="account.create",
    limit=RateClass.AUTH,
    errors=[
        "VALIDATION_EMAIL_INVALID",
        "VALIDATION_EMAIL_TAKEN",
        "VALIDATION_PASSWORD_WEAK",
        "VALIDATION_ERROR",
        "AUTH_FORBIDDEN",
        *SESSION_ERRORS,
        "RATE_LIMIT",
    ],
)
def auth_create_account(ctx: CommandContext, req: CreateAccountRequest) -> LoginResponse:
    """Create an account and sign it in. Open while no user exists (that first account
    is an admin); afterwards admin only."""
    service = AuthService(ctx.db, ctx.services)
    first_user = ctx.principal is None
    role = Role.ADMIN if first_user else Role(req.role or Role.TECHNICIAN.value)
    user = service.create_user(req, role=role, actor_id=ctx.actor_id)
    return service.open_session(user, ctx.client)


@command(
    "auth_logout",
    request=TokenRequest,
    response=None,
    permission=SIGNED_IN,
    token_field="token",
    limit=RateClass.AUTH,
    errors=[*SESSION_ERRORS, "RATE_LIMIT"],
)
def auth_logout(ctx: CommandContext, req: TokenRequest) -> None:
    """End the session of the given token."""
    AuthService(ctx.db, ctx.services).logout(ctx.user, ctx.client)


@command(
    "auth_validate_session",
    request=TokenRequest,
    response=ValidateSessionResponse,
    permission=SIGNED_IN,
    token_field="token",
    limit=RateClass.AUTH,
    writes=False,
    errors=[*SESSION_ERRORS, "RATE_LIMIT"],
)
def auth_validate_session(ctx: CommandContext, req: TokenRequest) -> ValidateSessionResponse:
    """Check that a session token is still valid; answers its user and expiry."""
    user = UserRepository(ctx.db).get(ctx.user.user_id)
    assert user is not None  # the authenticator just loaded it in this transaction
    return ValidateSessionResponse(user=UserAccount.of(user), expires_at=ctx.user.expires_at_ms)


@command(
    "auth_refresh_token",
    request=RefreshRequest,
    response=RefreshResponse,
    permission=PUBLIC,
    limit=RateClass.AUTH,
    errors=[*SESSION_ERRORS, "RATE_LIMIT"],
)
def auth_refresh_token(ctx: CommandContext, req: RefreshRequest) -> RefreshResponse:
    """Trade a refresh token (single use) for a new access and refresh token."""
    return AuthService(ctx.db, ctx.services).refresh(
        req.refresh_token, ctx.client, ctx.even_on_failure
    )
