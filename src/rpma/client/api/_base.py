"""What every namespace needs: a way to invoke a command on its client."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Invoker", "Namespace", "R", "Then", "fields"]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

Then = Callable[[Any], Any]
"""Applied to a command's result before the caller sees it (e.g. to keep tokens)."""


class Invoker(Protocol[R_co]):
    """A client as namespaces see it.

    `R_co` is what invoking returns: the result itself for the sync client, an
    awaitable of it for the async one. Namespaces are generic in it, so one
    definition serves both clients and mypy still sees the awaitable.
    """

    token: str | None
    refresh_token: str | None

    def _invoke(self, command: str, args: Mapping[str, Any], then: Then | None = None) -> R_co: ...


def fields(**values: Any) -> dict[str, Any]:
    """Request fields without the optional ones left at None (the server applies defaults)."""
    return {key: value for key, value in values.items() if value is not None}


class Namespace(Generic[R]):
    def __init__(self, client: Invoker[R]) -> None:
        self._client = client

    def _call(
        self, command: str, args: Mapping[str, Any] | None = None, then: Then | None = None
    ) -> R:
        return self._client._invoke(command, args or {}, then)


class CrudNamespace(Namespace[R]):
    """The seed's `*_crud` commands: one command, an `action`, and per-action `data`.
    Subclasses name the command and add their own actions."""

    command: str = ""

    def crud(self, action: str, data: Mapping[str, Any] | None = None, **extra: Any) -> R:
        """`action` as the seed spells it (`Create`, `Get`, `List`, ...); `extra` carries
        further top-level fields (`filters`, `pagination`)."""
        args: dict[str, Any] = {"action": action, **extra}
        # Omitted rather than `{}`: the server validates `data` by action.
        if data is not None:
            args["data"] = dict(data)
        return self._call(self.command, args)

    def create(self, data: Mapping[str, Any]) -> R:
        return self.crud("Create", data)

    def get(self, record_id: str) -> R:
        return self.crud("Get", {"id": record_id})

    def update(
        self, record_id: str, changes: Mapping[str, Any], expected_version: int | None = None
    ) -> R:
        return self.crud(
            "Update", {**changes, "id": record_id, **fields(expected_version=expected_version)}
        )

    def delete(self, record_id: str) -> R:
        return self.crud("Delete", {"id": record_id})

    def list(
        self,
        filters: Mapping[str, Any] | None = None,
        pagination: Mapping[str, Any] | None = None,
    ) -> R:
        return self.crud("List", **fields(filters=filters, pagination=pagination))
