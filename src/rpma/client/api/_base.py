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
