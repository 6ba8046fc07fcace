"""Requests and responses of the auth commands (seed: Auth Commands)."""

from __future__ import annotations

from typing import Literal

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


class ValidateSessionResponse(BaseModel):
    user: UserAccount
    expires_at: int


class RefreshResponse(BaseModel):
    access_token: str
    refresh_token: str
    expires_at: int
