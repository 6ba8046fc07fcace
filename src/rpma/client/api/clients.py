"""`client_crud` (seed: Client Commands), with the seed's `ipcClient.clients` helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["ClientsApi"]


class ClientsApi(Namespace[R]):
    def crud(self, action: str, data: Mapping[str, Any] | None = None, **extra: Any) -> R:
        """`action` as the seed spells it (`Create`, `GetWithTasks`, `Stats`, ...).

        `extra` carries any further top-level fields (`filters`, `pagination`).
        """
        args: dict[str, Any] = {"action": action, **extra}
        # Omitted rather than `{}`: the server validates `data` by action.
        if data is not None:
            args["data"] = dict(data)
        return self._call("client_crud", args)

    def create(self, data: Mapping[str, Any]) -> R:
        """Answers `{client}`."""
        return self.crud("Create", data)

    def get(self, client_id: str) -> R:
        return self.crud("Get", {"id": client_id})

    def get_with_tasks(self, client_id: str) -> R:
        """Answers `{client_with_tasks}`: the client and its newest tasks (at most 100)."""
        return self.crud("GetWithTasks", {"id": client_id})

    def update(
        self, client_id: str, changes: Mapping[str, Any], expected_version: int | None = None
    ) -> R:
        return self.crud(
            "Update", {**changes, "id": client_id, **fields(expected_version=expected_version)}
        )

    def delete(self, client_id: str) -> R:
        return self.crud("Delete", {"id": client_id})

    def list(
        self,
        filters: Mapping[str, Any] | None = None,
        pagination: Mapping[str, Any] | None = None,
    ) -> R:
        """Answers `{clients, pagination}`."""
        return self.crud("List", **fields(filters=filters, pagination=pagination))

    def list_with_tasks(
        self,
        filters: Mapping[str, Any] | None = None,
        pagination: Mapping[str, Any] | None = None,
    ) -> R:
        """Answers `{clients_with_tasks, pagination}`."""
        return self.crud("ListWithTasks", **fields(filters=filters, pagination=pagination))

    def search(self, query: str, limit: int | None = None) -> R:
        """Full-text search, best match first; answers `{clients}`."""
        return self.crud("Search", {"query": query, **fields(limit=limit)})

    def stats(self) -> R:
        """Answers `{statistics}`."""
        return self.crud("Stats")
