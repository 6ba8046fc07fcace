"""The in-process event bus. Domains publish after commit; the live-update transport
and, later, other processes (through Redis) subscribe."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    # Who may see it: None means every signed-in user; otherwise the users and roles.
    audience_users: frozenset[str] | None = None
    audience_roles: frozenset[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # one broken listener must not stop the others
                log.exception("event subscriber failed for %s", event.type)
