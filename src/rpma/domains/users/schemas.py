"""What a user looks like on the wire: never a hash, a secret or a backup code."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from rpma.core.commands import ActionRequest, IpcRequest
from rpma.core.pagination import PageInfo
from rpma.core.permissions import Role
from rpma.core.validation import Email, Password, PersonName, Username
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


# user_crud (CONTRACT.md section 8) -----------------------------------------------------
RoleName = Literal["admin", "supervisor", "technician", "viewer"]
UserId = Annotated[str, Field(min_length=1, max_length=64)]


class UserCrudRequest(ActionRequest):
    """``data`` is checked per action (see the ``*Data`` models); ``List`` also takes
    ``filters`` and ``pagination`` (seed: TaskCrudRequest)."""

    filters: dict[str, Any] | None = None
    pagination: dict[str, Any] | None = None


class UserIdData(IpcRequest):
    id: UserId


class UserUpdateData(IpcRequest):
    """Profile fields only: the role has ``ChangeRole``, the password ``ResetPassword``
    or ``settings_change_user_password``. A field left out stays as it is; ``phone:
    null`` clears the phone."""

    id: UserId
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    phone: str | None = Field(default=None, max_length=32)
    username: Username | None = None
    email: Email | None = None


class ChangeRoleData(IpcRequest):
    id: UserId
    role: RoleName


class ResetPasswordData(IpcRequest):
    id: UserId
    new_password: Password


class UserFilters(IpcRequest):
    role: RoleName | None = None
    is_active: bool | None = None
    search: str | None = Field(default=None, max_length=100)


class UserCrudResponse(BaseModel):
    """The seed's response shape: ``{user}`` for one user, ``{users, pagination}`` for
    ``List``, ``{message}`` for ``Delete`` and ``ResetPassword``. Keys without a value
    are left out, not sent as null."""

    user: UserAccount | None = None
    users: list[UserAccount] | None = None
    pagination: PageInfo | None = None
    message: str | None = None

    # No return annotation on purpose: pydantic would take it as the answer's schema
    # and the OpenAPI document would lose the four fields.
    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}
