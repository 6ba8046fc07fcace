"""The seed's role matrix as data, checked in one place (the dispatcher).

Every command names one operation of this table (or one per action for the ``*_crud``
commands). Object-level scopes ("assigned", "self", "own") are enforced where the
object is known: in the repository query or the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"
    VIEWER = "viewer"


ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.SUPERVISOR})
WRITERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.TECHNICIAN})
ADMIN_ONLY = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    # None, or the object-level restriction the service applies for the narrower roles.
    scope: str | None = None
    public: bool = False
    # First-time setup: open to anyone while the database holds no user.
    open_while_no_users: bool = False

    def allows(self, role: Role) -> bool:
        return role in self.roles


PUBLIC = "public"
SIGNED_IN = "signed_in"
ADMIN = "admin"

MATRIX: dict[str, Rule] = {
    PUBLIC: Rule(ALL_ROLES, public=True),
    SIGNED_IN: Rule(ALL_ROLES),
    ADMIN: Rule(ADMIN_ONLY),
    # The seed's Permission Matrix, row by row.
    "task.create": Rule(WRITERS),
    "task.read": Rule(ALL_ROLES),
    "task.update": Rule(WRITERS, scope="technician: assigned only"),
    "task.delete": Rule(ADMIN_ONLY),
    "task.assign": Rule(STAFF),
    "intervention.start": Rule(WRITERS, scope="technician: assigned only"),
    "photo.upload": Rule(WRITERS, scope="technician: assigned only"),
    "client.create": Rule(STAFF),
    "client.read": Rule(ALL_ROLES),
    "client.update": Rule(STAFF),
    "client.delete": Rule(ADMIN_ONLY),
    "user.create": Rule(ADMIN_ONLY),
    "user.update": Rule(STAFF, scope="supervisor: self only"),
    "user.delete": Rule(ADMIN_ONLY),
    "report.view": Rule(ALL_ROLES, scope="technician: own only"),
    "report.export": Rule(STAFF),
    # Rows the seed's matrix implies but does not list.
    "account.create": Rule(ADMIN_ONLY, open_while_no_users=True),
    "user.read": Rule(ALL_ROLES),
    "system.admin": Rule(ADMIN_ONLY),
    # Materials ([5/8]): everyone reads the catalogue; the stock keepers (admin,
    # supervisor) manage it; technicians record what they use on their interventions.
    "material.read": Rule(ALL_ROLES),
    "material.manage": Rule(STAFF),
    "material.consume": Rule(WRITERS, scope="technician: assigned interventions only"),
    # Calendar ([5/8]): technicians manage their own events.
    "calendar.read": Rule(ALL_ROLES),
    "calendar.write": Rule(WRITERS, scope="technician: own events only"),
    # Notifications ([8/8]): everyone reads and marks their own in-app notifications.
    "notification.own": Rule(ALL_ROLES, scope="own notifications only"),
    "notification.send": Rule(STAFF),
    "notification.admin": Rule(ADMIN_ONLY),
}


def rule_for(operation: str) -> Rule:
    try:
        return MATRIX[operation]
    except KeyError:  # a command declaring an unknown operation is a programming error
        raise LookupError(f"operation {operation!r} is not in the role matrix") from None
