"""The command registry: every command of every transport is declared here once.

    @command("auth_login", request=LoginRequest, response=LoginResponse,
             permission=PUBLIC, limit=RateClass.AUTH, errors=["AUTH_INVALID"])
    def auth_login(ctx: CommandContext, req: LoginRequest) -> LoginResponse: ...

Handlers are plain functions run in a worker thread inside the command's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from rpma.core.permissions import Rule, rule_for

if TYPE_CHECKING:
    from rpma.core.context import CommandContext


class RateClass(StrEnum):
    """The seed's rate-limit classes (CONTRACT.md section 7)."""

    AUTH = "auth"
    TASKS = "tasks"
    UPLOAD = "upload"
    CALENDAR = "calendar"
    REPORTS = "reports"


class IpcRequest(BaseModel):
    """Base of every request model. Strict: a field of the wrong type is refused, not
    coerced. ``session_token`` and ``correlation_id`` are taken off by the dispatcher
    before validation, so models only describe the command's own fields."""

    model_config = ConfigDict(strict=True, extra="ignore")


class EmptyRequest(IpcRequest):
    pass


class ActionRequest(IpcRequest):
    """The ``*_crud`` commands: an action and its data."""

    action: str
    data: dict[str, Any] | None = Field(default=None)


Handler = Callable[["CommandContext", Any], Any]
F = TypeVar("F", bound=Handler)


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    request: type[IpcRequest]
    response: Any
    # One operation of the role matrix, or one per action for ``*_crud`` commands.
    permission: str | Mapping[str, str]
    limit: RateClass | None = None
    # The body field that carries the session token (the seed says ``token`` for
    # auth_logout and auth_validate_session).
    token_field: str = "session_token"
    # Whether the command writes, or (``*_crud``) the actions that write: reads run in
    # a plain transaction, writes take SQLite's write lock up front (BEGIN IMMEDIATE).
    writes: bool | frozenset[str] = True
    summary: str = ""
    errors: tuple[str, ...] = ()
    domain: str = ""
    # Arguments that must reach the handler raw (bytes in MessagePack, for example).
    extra: dict[str, Any] = field(default_factory=dict)

    def writes_for(self, action: str | None) -> bool:
        if isinstance(self.writes, bool):
            return self.writes
        return action in self.writes

    def rule(self, action: str | None) -> Rule:
        if isinstance(self.permission, str):
            return rule_for(self.permission)
        if action is None or action not in self.permission:
            raise KeyError(action)
        return rule_for(self.permission[action])

    @property
    def actions(self) -> tuple[str, ...]:
        return () if isinstance(self.permission, str) else tuple(self.permission)


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, cmd: Command) -> None:
        if cmd.name in self._commands:
            raise ValueError(f"command {cmd.name!r} registered twice")
        # Fail at import, not at the first call, when a permission is not in the matrix.
        if isinstance(cmd.permission, str):
            rule_for(cmd.permission)
        else:
            for operation in cmd.permission.values():
                rule_for(operation)
        self._commands[cmd.name] = cmd

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def __len__(self) -> int:
        return len(self._commands)

    def names(self) -> list[str]:
        return sorted(self._commands)


registry = Registry()


def command(
    name: str,
    *,
    request: type[IpcRequest] = EmptyRequest,
    response: Any = None,
    permission: str | Mapping[str, str],
    limit: RateClass | None = None,
    token_field: str = "session_token",
    writes: bool | frozenset[str] = True,
    errors: tuple[str, ...] | list[str] = (),
    summary: str | None = None,
) -> Callable[[F], F]:
    def register(handler: F) -> F:
        doc = (handler.__doc__ or "").strip().splitlines()
        registry.add(
            Command(
                name=name,
                handler=handler,
                request=request,
                response=response,
                permission=permission,
                limit=limit,
                token_field=token_field,
                writes=writes,
                summary=summary or (doc[0] if doc else name),
                errors=tuple(errors),
                domain=handler.__module__.split(".")[-2],
            )
        )
        return handler

    return register
