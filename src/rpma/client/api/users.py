"""`user_crud` (contract section 8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Namespace, R

__all__ = ["UsersApi"]


class UsersApi(Namespace[R]):
    def crud(self, action: str, data: Mapping[str, Any] | None = None, **extra: Any) -> R:
        """`action` as the seed spells it (`Create`, `Get`, `List`, `ChangeRole`, ...).

        `extra` carries any further top-level fields (`filters`, `pagination`).
        """
        args: dict[str, Any] = {"action": action, **extra}
        # Omitted rather than `{}`: a server may validate `data` by action.
        if data is not None:
            args["data"] = dict(data)
        return self._call("user_crud", args)
