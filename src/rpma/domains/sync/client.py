"""Outbound HTTP to the central server: ``POST {sync_url}/ipc/<command>`` with the sync
credential as a bearer token. Messages never carry the token."""

from __future__ import annotations

from typing import Any

import httpx

from rpma import __version__
from rpma.config import Settings


class CentralUnavailable(Exception):
    """Worth retrying later: unreachable, timed out, or a server error (5xx)."""


class CentralRefused(Exception):
    """The central answered no (4xx): retrying the same request will not help."""


class CentralClient:
    def __init__(self, settings: Settings) -> None:
        if not settings.sync_url:
            raise ValueError("no central server configured")
        self.base_url = settings.sync_url.rstrip("/")
        self._token = settings.sync_token or ""
        self._timeout = settings.sync_timeout_seconds

    def call(self, command: str, body: dict[str, Any]) -> Any:
        headers = {"User-Agent": f"rpma-sync/{__version__}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = httpx.post(
                f"{self.base_url}/ipc/{command}", json=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException:
            raise CentralUnavailable(f"central server {self.base_url} timed out") from None
        except httpx.HTTPError as error:
            raise CentralUnavailable(
                f"central server {self.base_url} unreachable: {type(error).__name__}"
            ) from None
        try:
            envelope = response.json()
        except ValueError:
            envelope = {}
        failure = envelope.get("error") if isinstance(envelope, dict) else None
        if response.status_code >= 500 or (response.status_code != 200 and failure is None):
            detail = failure.get("code") if isinstance(failure, dict) else None
            raise CentralUnavailable(
                f"central server {self.base_url} answered HTTP {response.status_code}"
                + (f" ({detail})" if detail else "")
            )
        if response.status_code != 200 or not envelope.get("success"):
            code = failure.get("code", "ERROR") if isinstance(failure, dict) else "ERROR"
            message = failure.get("message", "") if isinstance(failure, dict) else ""
            raise CentralRefused(f"central server refused {command}: {code} {message}".strip())
        return envelope.get("data")

    def push(self, node_id: str, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        data = self.call("sync_push_batch", {"node_id": node_id, "operations": operations})
        return list(data["results"])

    def pull(self, node_id: str, since: int, limit: int) -> dict[str, Any]:
        data = self.call("sync_pull_changes", {"node_id": node_id, "since": since, "limit": limit})
        return dict(data)
