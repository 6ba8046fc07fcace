"""`client_crud` (seed: Client Commands), with the seed's `ipcClient.clients` helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import CrudNamespace, R, fields

__all__ = ["ClientsApi"]


class ClientsApi(CrudNamespace[R]):
    """`client_crud`: create, get, update, delete and list come from CrudNamespace."""

    command = "client_crud"

    def get_with_tasks(self, client_id: str) -> R:
        """Answers `{client_with_tasks}`: the client and its newest tasks (at most 100)."""
        return self.crud("GetWithTasks", {"id": client_id})

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
