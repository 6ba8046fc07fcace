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
# Runs inside the writing command's transaction (``db`` is its Session); answers further
# events to publish after the commit, if any.
WriteHook = Callable[[Any, Event], "list[Event] | None"]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._write_hooks: dict[str, list[WriteHook]] = {}

    def on_write(self, event_type: str, hook: WriteHook) -> Callable[[], None]:
        """Have ``hook(db, event)`` run inside the transaction that produces ``event``,
        so that what it writes (a notification in the outbox) commits or rolls back
        with the change. A hook that raises fails the command: nothing is half-written."""
        hooks = self._write_hooks.setdefault(event_type, [])
        hooks.append(hook)
        return lambda: hooks.remove(hook)

    def written(self, db: Any, event: Event) -> list[Event]:
        """Called by the domain, in its transaction, for an event it will publish after
        the commit; answers the hooks' further events, to publish after it."""
        follow_ups: list[Event] = []
        for hook in list(self._write_hooks.get(event.type, ())):
            follow_ups.extend(hook(db, event) or ())
        return follow_ups

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # one broken listener must not stop the others
                log.exception("event subscriber failed for %s", event.type)
