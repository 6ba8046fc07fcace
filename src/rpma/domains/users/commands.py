"""user_crud (seed: Permission Matrix, "User" rows; CONTRACT.md section 8). Thin: parse
the action's data, call the service, answer."""

from __future__ import annotations

from collections.abc import Callable

from rpma.core.commands import command
from rpma.core.context import CommandContext
from rpma.core.errors import ValidationFailed
from rpma.core.pagination import Pagination
from rpma.core.parsing import parse
from rpma.core.permissions import ADMIN, Role
from rpma.domains.auth.schemas import CreateAccountRequest
from rpma.domains.users.models import User
from rpma.domains.users.schemas import (
    ChangeRoleData,
    ResetPasswordData,
    UserAccount,
    UserCrudRequest,
    UserCrudResponse,
    UserFilters,
    UserIdData,
    UserUpdateData,
)
from rpma.domains.users.service import UserService

# The seed's matrix: creating and deleting users is admin only, updating is admin or
# the supervisor on their own account, reading is for everyone. Role changes, (de)
# activation and password resets are the admin's, like creation.
PERMISSIONS = {
    "Create": "user.create",
    "Get": "user.read",
    "List": "user.read",
    "Update": "user.update",
    "Delete": "user.delete",
    "ChangeRole": ADMIN,
    "Activate": ADMIN,
    "Deactivate": ADMIN,
    "ResetPassword": ADMIN,
}


def _one(user: User) -> UserCrudResponse:
    return UserCrudResponse(user=UserAccount.of(user))


def _list(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    data = req.data or {}
    # The seed puts filters and pagination beside data; inside data is accepted too.
    filters = parse(UserFilters, req.filters or data.get("filters"), "filters")
    pagination = parse(Pagination, req.pagination or data.get("pagination"), "pagination")
    users, info = service.list(filters, pagination)
    return UserCrudResponse(users=[UserAccount.of(u) for u in users], pagination=info)


def _create(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    return _one(service.create(parse(CreateAccountRequest, req.data, "data")))


def _get(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    return _one(service.get(parse(UserIdData, req.data, "data").id))


def _update(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    data = req.data or {}
    # Refused rather than ignored: a caller who sent a role must not believe it applied.
    elsewhere = {"role": "ChangeRole", "password": "ResetPassword", "is_active": "Deactivate"}
    for name, action in elsewhere.items():
        if name in data:
            raise ValidationFailed(
                message=f"data.{name} cannot be changed by Update; use {action}",
                fields=[{"field": f"data.{name}", "message": f"use {action}"}],
            )
    return _one(service.update(parse(UserUpdateData, data, "data")))


def _delete(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    service.delete(parse(UserIdData, req.data, "data").id)
    return UserCrudResponse(message="User deleted")


def _change_role(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    data = parse(ChangeRoleData, req.data, "data")
    return _one(service.change_role(data.id, Role(data.role)))


def _activate(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    return _one(service.activate(parse(UserIdData, req.data, "data").id))


def _deactivate(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    return _one(service.deactivate(parse(UserIdData, req.data, "data").id))


def _reset_password(service: UserService, req: UserCrudRequest) -> UserCrudResponse:
    data = parse(ResetPasswordData, req.data, "data")
    ended = service.reset_password(data.id, data.new_password)
    return UserCrudResponse(message=f"Password reset; {ended} session(s) ended")


ACTIONS: dict[str, Callable[[UserService, UserCrudRequest], UserCrudResponse]] = {
    "Create": _create,
    "Get": _get,
    "List": _list,
    "Update": _update,
    "Delete": _delete,
    "ChangeRole": _change_role,
    "Activate": _activate,
    "Deactivate": _deactivate,
    "ResetPassword": _reset_password,
}
assert set(ACTIONS) == set(PERMISSIONS)


@command(
    "user_crud",
    request=UserCrudRequest,
    response=UserCrudResponse,
    permission=PERMISSIONS,
    writes=frozenset(PERMISSIONS) - {"Get", "List"},
    errors=[
        "VALIDATION_ERROR",
        "VALIDATION_EMAIL_INVALID",
        "VALIDATION_EMAIL_TAKEN",
        "VALIDATION_USERNAME_TAKEN",
        "VALIDATION_PASSWORD_WEAK",
        "NOT_FOUND_USER",
        "AUTH_FORBIDDEN",
        "AUTH_SESSION_INVALID",
        "AUTH_SESSION_EXPIRED",
    ],
)
def user_crud(ctx: CommandContext, req: UserCrudRequest) -> UserCrudResponse:
    """Manage user accounts: `Create Get List Update Delete ChangeRole Activate
    Deactivate ResetPassword`. `data.id` names the user; `Create` takes `email,
    first_name, last_name, password, role, phone`; `Update` any of `first_name,
    last_name, phone, username, email`; `ChangeRole` `role`; `ResetPassword`
    `new_password`. `List` takes `filters: {role, is_active, search}` and `pagination:
    {page, page_size}` and answers `{users, pagination}`.
    """
    service = UserService(
        ctx.db, ctx.services, ctx.user, ctx.client, on_failure=ctx.even_on_failure
    )
    return ACTIONS[req.action](service, req)
