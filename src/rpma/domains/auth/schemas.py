"""Requests and responses of the auth commands (seed: Auth Commands)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from rpma.core.commands import IpcRequest
from rpma.core.validation import Email, Password, PersonName
from rpma.domains.users.schemas import UserAccount

RoleName = Literal["admin", "supervisor", "technician", "viewer"]


class LoginRequest(IpcRequest):
    email: Email
    # Strength is checked when a password is set, not at login: a stricter policy must
    # not lock out existing users, and the answer must not hint at anything.
    password: str = Field(min_length=1, max_length=128)


class CreateAccountRequest(IpcRequest):
    email: Email
    first_name: PersonName
    last_name: PersonName
    password: Password
    role: RoleName | None = None
    phone: str | None = Field(default=None, max_length=32)


class TokenRequest(IpcRequest):
    """auth_logout and auth_validate_session: the seed's ``token`` field (or the
    Authorization header)."""

    token: str | None = Field(default=None, max_length=4096)


class RefreshRequest(IpcRequest):
    refresh_token: str = Field(min_length=1, max_length=4096)


class LoginResponse(BaseModel):
    access_token: str
    refresh_token: str
    user: UserAccount
    expires_at: int = Field(description="Access token expiry, Unix milliseconds")


class TwoFactorChallenge(BaseModel):
    """auth_login's answer when the account has 2FA on (CONTRACT.md section 8): no
    tokens yet, only a short-lived challenge for verify_2fa_code."""

    requires_2fa: Literal[True] = True
    challenge_token: str
    expires_at: int = Field(description="Challenge expiry, Unix milliseconds")


class ValidateSessionResponse(BaseModel):
    user: UserAccount
    expires_at: int


class RefreshResponse(BaseModel):
    access_token: str
    refresh_token: str
    expires_at: int


# 2FA ----------------------------------------------------------------------------------
# Codes are plain strings here: a wrong-looking code is 2FA_INVALID_CODE (decided by the
# service, like any wrong code), only a non-string or an absurd length is a
# VALIDATION_ERROR.
TwoFactorCode = Annotated[
    str, Field(max_length=64, description="A 6-digit TOTP code or a backup code")
]


class TwoFactorSetup(BaseModel):
    secret: str = Field(description="The TOTP secret (base32), shown once")
    qr_code_url: str = Field(description="The otpauth URI as a QR code, a PNG data URL")
    otpauth_uri: str
    backup_codes: list[str] = Field(description="10 single-use backup codes, shown once")


class Verify2FASetupRequest(IpcRequest):
    user_id: str = Field(max_length=64)
    code: TwoFactorCode


class Verify2FACodeRequest(IpcRequest):
    code: TwoFactorCode


class Disable2FARequest(IpcRequest):
    password: str = Field(min_length=1, max_length=128)
