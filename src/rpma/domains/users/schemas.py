"""What a user looks like on the wire: never a hash, a secret or a backup code."""

from __future__ import annotations

from pydantic import BaseModel

from rpma.core.permissions import Role
from rpma.domains.users.models import User


class UserAccount(BaseModel):
    id: str
    email: str
    username: str
    first_name: str
    last_name: str
    full_name: str
    role: Role
    phone: str | None
    is_active: bool
    last_login_at: int | None
    two_factor_enabled: bool
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, user: User) -> UserAccount:
        return cls(
            id=user.id,
            email=user.email,
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            full_name=user.full_name,
            role=Role(user.role),
            phone=user.phone,
            is_active=user.is_active,
            last_login_at=user.last_login_at,
            two_factor_enabled=user.two_factor_enabled,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )
