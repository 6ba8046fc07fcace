"""One live message, encoded once and shared by every connection that receives it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rpma.core import envelope
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.core.permissions import ALL_ROLES, Role
from rpma.live.topics import readers


def control(kind: str, data: dict[str, Any] | None = None) -> str:
    """A protocol frame (welcome, ping, error...): no event id, never replayed."""
    return json.dumps({"type": kind, "data": data or {}}, separators=(",", ":"))


@dataclass(frozen=True)
class Addressing:
    """Who an event is for, in the plain form that travels through Redis."""

    users: frozenset[str] | None
    roles: frozenset[Role] | None
    exclude_clients: frozenset[str]

    @classmethod
    def of(cls, event: Event) -> Addressing:
        exclude = event.meta.get("exclude_clients") or ()
        roles = event.audience_roles
        if event.audience_users is None and roles is None:
            roles = readers(event.type)
        return cls(
            users=event.audience_users,
            roles=frozenset(Role(r) for r in roles) if roles is not None else None,
            exclude_clients=frozenset(str(c) for c in exclude),
        )

    def to_plain(self) -> dict[str, Any]:
        return {
            "users": sorted(self.users) if self.users is not None else None,
            "roles": sorted(self.roles) if self.roles is not None else None,
            "exclude_clients": sorted(self.exclude_clients),
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any]) -> Addressing:
        users, roles = plain.get("users"), plain.get("roles")
        known = frozenset(Role(r) for r in roles if r in ALL_ROLES) if roles is not None else None
        return cls(
            users=frozenset(users) if users is not None else None,
            roles=known,
            exclude_clients=frozenset(plain.get("exclude_clients") or ()),
        )

    def admits(self, user_id: str, role: Role, client_id: str) -> bool:
        if client_id in self.exclude_clients:
            return False
        if self.users is not None and user_id in self.users:
            return True
        return self.roles is not None and role in self.roles


@dataclass(frozen=True)
class LiveMessage:
    id: int
    type: str
    to: Addressing
    text: str  # the frame as sent: {"type", "id", "data", "timestamp"}


def outgoing(event: Event) -> dict[str, Any]:
    """What is published (locally or through Redis) before an id is assigned."""
    return {
        "type": event.type,
        "data": envelope.json_safe(envelope.to_plain(event.data)),
        "timestamp": clock.now_ms(),
        "to": Addressing.of(event).to_plain(),
    }


def stamped(event_id: int, published: dict[str, Any]) -> LiveMessage:
    """The message once its id is known; the JSON text is built here, once."""
    frame = {
        "type": published["type"],
        "id": event_id,
        "data": published["data"],
        "timestamp": published["timestamp"],
    }
    return LiveMessage(
        id=event_id,
        type=str(published["type"]),
        to=Addressing.from_plain(published["to"]),
        text=json.dumps(frame, separators=(",", ":"), default=str),
    )
