"""`user_crud` (contract section 8)."""

from __future__ import annotations

from ._base import CrudNamespace, R

__all__ = ["UsersApi"]


class UsersApi(CrudNamespace[R]):
    """`user_crud`: `crud(action, data)` for every action (`ChangeRole`, ...)."""

    command = "user_crud"
