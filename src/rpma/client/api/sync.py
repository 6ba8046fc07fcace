"""Sync commands (seed: "Sync Commands"; docs/SYNC.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["SyncApi"]


class SyncApi(Namespace[R]):
    # This machine's sync (admin) -------------------------------------------------------
    def start_background_service(self) -> R:
        return self._call("sync_start_background_service")

    def stop_background_service(self) -> R:
        return self._call("sync_stop_background_service")

    def sync_now(self) -> R:
        """Answers the seed's `SyncResult`."""
        return self._call("sync_now")

    def status(self) -> R:
        return self._call("sync_get_status")

    def metrics(self) -> R:
        return self._call("sync_get_metrics")

    def enqueue(self, operation: Mapping[str, Any], priority: str = "normal") -> R:
        """`operation`: `entity_type`, `entity_id`, `kind`, `payload`, `version` (and an
        optional `operation_id`); answers the queue id."""
        return self._call("sync_enqueue", {"operation": dict(operation), "priority": priority})

    def dequeue_batch(self, limit: int) -> R:
        return self._call("sync_dequeue_batch", {"limit": limit})

    def list_operations(self, status: str | None = None, limit: int = 50) -> R:
        return self._call("sync_list_operations", fields(status=status, limit=limit))

    def retry_failed(self, ids: Sequence[int] | None = None) -> R:
        """Every failed operation, or those of `ids`, back to pending."""
        body = {"all": True} if ids is None else {"ids": list(ids)}
        return self._call("sync_retry_failed", body)

    def acknowledge(
        self, completed: Sequence[int] = (), failed: Mapping[int, str] | None = None
    ) -> R:
        """Settle dequeued operations: `completed` ids, `failed` as {id: error}."""
        return self._call(
            "sync_acknowledge",
            {
                "completed": list(completed),
                "failed": [{"id": k, "error": v} for k, v in (failed or {}).items()],
            },
        )

    # Central server ----------------------------------------------------------------------
    def issue_token(self, name: str) -> R:
        """A credential for a workshop machine (admin); the token is shown once."""
        return self._call("sync_issue_token", {"name": name})

    def revoke_token(self, credential_id: str) -> R:
        return self._call("sync_revoke_token", {"id": credential_id})

    def push_batch(self, node_id: str, operations: Sequence[Mapping[str, Any]]) -> R:
        """Node to central, with the sync credential as the client's token."""
        return self._call(
            "sync_push_batch", {"node_id": node_id, "operations": [dict(o) for o in operations]}
        )

    def pull_changes(self, node_id: str, since: int, limit: int = 500) -> R:
        return self._call("sync_pull_changes", {"node_id": node_id, "since": since, "limit": limit})
