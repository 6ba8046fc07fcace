"""The 2FA commands (seed: Auth Commands, enable_2fa ... is_2fa_enabled; CONTRACT.md
section 8 "2FA login"). Thin: parse, call the service, answer.

They are auth endpoints, so they share the auth rate limit (per client IP): a
6-digit code must not be guessable at network speed.
"""

from __future__ import annotations

from rpma.core.clock import clock
from rpma.core.commands import EmptyRequest, RateClass, command
from rpma.core.context import CommandContext
from rpma.core.errors import InternalError, SessionInvalid
from rpma.core.permissions import PUBLIC, SIGNED_IN
from rpma.domains.auth.schemas import (
    Disable2FARequest,
    LoginResponse,
    TwoFactorSetup,
    Verify2FACodeRequest,
    Verify2FASetupRequest,
)
from rpma.domains.auth.service import AuthService
from rpma.domains.auth.twofactor import TwoFactorService

SESSION_ERRORS = ("AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED")


@command(
    "enable_2fa",
    response=TwoFactorSetup,
    permission=SIGNED_IN,
    limit=RateClass.AUTH,
    errors=["2FA_ALREADY_ENABLED", *SESSION_ERRORS, "RATE_LIMIT"],
)
def enable_2fa(ctx: CommandContext, req: EmptyRequest) -> TwoFactorSetup:
    """Start 2FA setup: a new TOTP secret, its QR code and 10 backup codes, shown once.

    2FA is not on until verify_2fa_setup accepts a code made from this secret; calling
    enable_2fa again before that replaces the secret and the backup codes.
    """
    return TwoFactorService(ctx.db, ctx.services).enable(ctx.user.user_id)


@command(
    "verify_2fa_setup",
    request=Verify2FASetupRequest,
    response=bool,
    permission=SIGNED_IN,
    limit=RateClass.AUTH,
    errors=[
        "2FA_INVALID_CODE",
        "2FA_ALREADY_ENABLED",
        "2FA_NOT_ENABLED",
        "AUTH_FORBIDDEN",
        "VALIDATION_ERROR",
        *SESSION_ERRORS,
        "RATE_LIMIT",
    ],
)
def verify_2fa_setup(ctx: CommandContext, req: Verify2FASetupRequest) -> bool:
    """Turn 2FA on with a first code from the authenticator app; `user_id` is the
    caller's own."""
    return TwoFactorService(ctx.db, ctx.services).confirm_setup(
        ctx.user.user_id, req.user_id, req.code, ctx.client
    )


@command(
    "verify_2fa_code",
    request=Verify2FACodeRequest,
    response=LoginResponse | bool,
    # Public to the dispatcher because the token may be a 2FA challenge, which is no
    # session; the handler resolves the token itself (challenge first, then access).
    permission=PUBLIC,
    limit=RateClass.AUTH,
    errors=[
        "2FA_INVALID_CODE",
        "2FA_NOT_ENABLED",
        "VALIDATION_ERROR",
        *SESSION_ERRORS,
        "RATE_LIMIT",
    ],
)
def verify_2fa_code(ctx: CommandContext, req: Verify2FACodeRequest) -> LoginResponse | bool:
    """Check a TOTP or backup code: with a challenge token, finish the sign-in.

    With the `challenge_token` of auth_login (in `session_token` or the Authorization
    header) a good code answers the full login response and opens the session; with a
    session's access token it re-verifies the second factor and answers `true`. Wrong
    codes count as failed sign-in attempts.
    """
    if not ctx.token:
        raise SessionInvalid(message="Authentication required: no session token")
    try:
        claims = ctx.services.tokens.decode(
            ctx.token, expected_type="2fa_challenge", now=clock.now()
        )
    except SessionInvalid:
        claims = None  # not a challenge (an expired one raises SessionExpired): a session?
    if claims is not None:
        return AuthService(ctx.db, ctx.services).complete_challenge(
            claims, req.code, ctx.client, ctx.even_on_failure
        )
    authenticator = ctx.services.authenticator
    if authenticator is None:  # pragma: no cover - wiring error
        raise InternalError(message="No authenticator configured")
    ctx.principal = authenticator.resolve(ctx.db, ctx.token)
    return TwoFactorService(ctx.db, ctx.services).reverify(
        ctx.principal.user_id, req.code, ctx.client, ctx.even_on_failure
    )


@command(
    "disable_2fa",
    request=Disable2FARequest,
    response=str,
    permission=SIGNED_IN,
    limit=RateClass.AUTH,
    errors=["AUTH_INVALID", "2FA_NOT_ENABLED", "VALIDATION_ERROR", *SESSION_ERRORS, "RATE_LIMIT"],
)
def disable_2fa(ctx: CommandContext, req: Disable2FARequest) -> str:
    """Turn 2FA off (the account's password is required); forgets the secret and the
    backup codes."""
    return TwoFactorService(ctx.db, ctx.services).disable(
        ctx.user.user_id, req.password, ctx.client
    )


@command(
    "regenerate_backup_codes",
    response=list[str],
    permission=SIGNED_IN,
    limit=RateClass.AUTH,
    errors=["2FA_NOT_ENABLED", *SESSION_ERRORS, "RATE_LIMIT"],
)
def regenerate_backup_codes(ctx: CommandContext, req: EmptyRequest) -> list[str]:
    """Replace every 2FA backup code with 10 new ones, shown once."""
    return TwoFactorService(ctx.db, ctx.services).regenerate_backup_codes(
        ctx.user.user_id, ctx.client
    )


@command(
    "is_2fa_enabled",
    response=bool,
    permission=SIGNED_IN,
    limit=RateClass.AUTH,
    writes=False,
    errors=[*SESSION_ERRORS, "RATE_LIMIT"],
)
def is_2fa_enabled(ctx: CommandContext, req: EmptyRequest) -> bool:
    """Whether 2FA is on for the caller's account."""
    return TwoFactorService(ctx.db, ctx.services).is_enabled(ctx.user.user_id)
