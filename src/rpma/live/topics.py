"""Which live messages exist and who may read them.

A message type the domains publish is a *topic*; its reader is the role matrix's read
rule for the object it describes (a task change goes to whoever holds ``task.read``).
An event that names its own audience (``audience_users`` / ``audience_roles``) goes to
that audience instead: the publisher decided (a notification for one user, an admin's
broadcast to some roles). A type that is neither in this table nor addressed is sent to
admins only, so a new event never leaks before someone decides who may read it.
"""

from __future__ import annotations

from typing import Final

from rpma.core.permissions import SIGNED_IN, Role, rule_for

# Topic -> the role-matrix operation that reads the object it describes.
READ_RULES: Final[dict[str, str]] = {
    "task_updated": "task.read",
    "intervention_updated": "task.read",  # interventions are read with their task
    "photo_updated": "task.read",
    "client_updated": "client.read",
    "clients_updated": "client.read",
    "material_updated": "material.read",
    "calendar_updated": "calendar.read",
    "system_notification": SIGNED_IN,
    "notification_created": "notification.own",
    "security_alert": "system.admin",
}

# Frames of the protocol itself: never an event type, so a broadcast cannot forge one.
CONTROL_TYPES: Final = frozenset(
    {
        "auth",
        "welcome",
        "ping",
        "pong",
        "subscribe",
        "unsubscribe",
        "subscribed",
        "error",
        "replay_gap",
        "replay_done",
    }
)

ADMINS_ONLY: Final = frozenset({Role.ADMIN})


def readers(topic: str) -> frozenset[Role]:
    """The roles that may read an unaddressed event of ``topic``."""
    operation = READ_RULES.get(topic)
    if operation is None:
        return ADMINS_ONLY
    return frozenset(rule_for(operation).roles)


def topics_for(role: Role) -> list[str]:
    """Every topic ``role`` may subscribe to, sorted."""
    return sorted(topic for topic in READ_RULES if role in readers(topic))
