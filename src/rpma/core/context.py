"""What a handler sees: its transaction, the caller, the server's services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from rpma.core.errors import AuthorizationError
from rpma.core.events import Event
from rpma.core.permissions import Role

if TYPE_CHECKING:
    from rpma.core.services import Services


@dataclass(frozen=True)
class Principal:
    """The signed-in caller, resolved from a verified token and a live session row."""

    user_id: str
    role: Role
    session_id: str
    email: str
    expires_at_ms: int

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class ClientInfo:
    ip_address: str | None = None
    user_agent: str | None = None
    transport: str = "http"


@dataclass
class CommandContext:
    db: Session
    services: Services
    client: ClientInfo
    correlation_id: str
    principal: Principal | None = None
    token: str | None = None
    # Work released only after the transaction commits (events, notifications).
    effects: list[Callable[[], Any]] = field(default_factory=list)
    # Writes that must land even though the command fails and its transaction rolls
    # back (ending a session on refresh-token reuse, a failed-login event). Each runs
    # in its own transaction after the rollback.
    failure_writes: list[Callable[[Session], None]] = field(default_factory=list)
    # Undo work outside the database (files written) when the transaction does not
    # commit, whatever the reason: a refusal, a database error, a failed commit.
    rollback_hooks: list[Callable[[], None]] = field(default_factory=list)

    @property
    def user(self) -> Principal:
        if self.principal is None:  # the dispatcher guarantees it for non-public commands
            raise AuthorizationError(message="Authentication required")
        return self.principal

    @property
    def actor_id(self) -> str | None:
        return self.principal.user_id if self.principal else None

    def after_commit(self, effect: Callable[[], Any]) -> None:
        self.effects.append(effect)

    def publish_after_commit(self, event: Event) -> None:
        """Publish ``event`` on the server's bus once the transaction has committed (the
        ``publish`` every domain service takes)."""
        events = self.services.events
        self.effects.append(lambda: events.publish(event))

    def even_on_failure(self, write: Callable[[Session], None]) -> None:
        self.failure_writes.append(write)

    def on_rollback(self, undo: Callable[[], None]) -> None:
        self.rollback_hooks.append(undo)
