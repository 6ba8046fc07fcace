"""Which entities sync, and how a row becomes plain JSON and back.

Every model with ``SyncMixin`` (a ``version`` and a soft delete) syncs; its entity type
is its table name in the singular (``tasks`` -> ``task``). Secrets never leave the
machine: the columns below are neither captured nor applied, whatever a payload says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Column, Date, DateTime, Table, inspect

from rpma.core.db import Base, SyncMixin

# Columns that are secret, or that belong to one machine (login protection counters).
PRIVATE_COLUMNS: dict[str, frozenset[str]] = {
    "users": frozenset(
        {
            "password_hash",
            "two_factor_enabled",
            "two_factor_secret",
            "two_factor_last_step",
            "password_changed_at",
            "failed_login_attempts",
            "first_failed_login_at",
            "locked_until",
            "last_login_at",
        }
    ),
}
# A second guard for columns added later: any name containing one of these never syncs.
SECRET_MARKERS = ("password", "secret", "token", "hash")
# Values for private NOT NULL columns when a remote entity is created here. A user made
# by sync cannot sign in on this machine until an admin sets a password: "!" is no
# Argon2 hash, so every password check fails.
CREATE_DEFAULTS: dict[str, dict[str, Any]] = {
    "users": {"password_hash": "!synced-without-password", "failed_login_attempts": 0},
}


@dataclass(frozen=True)
class SyncedEntity:
    name: str
    model: type[Any]
    columns: tuple[Column[Any], ...]

    @property
    def table(self) -> str:
        return str(self.model.__table__.name)

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)

    def to_payload(self, row: Any) -> dict[str, Any]:
        return {c.name: plain(getattr(row, c.key)) for c in self.columns}

    def from_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Model attribute values for the synced columns present in ``payload``."""
        values: dict[str, Any] = {}
        for column in self.columns:
            if column.name in payload:
                values[column.key] = typed(column, payload[column.name])
        return values


def _is_public(table: str, name: str) -> bool:
    if name in PRIVATE_COLUMNS.get(table, frozenset()):
        return False
    return not any(marker in name for marker in SECRET_MARKERS)


def _singular(table: str) -> str:
    return table[:-1] if table.endswith("s") else table


@cache
def synced_entities() -> dict[str, SyncedEntity]:
    from rpma.models import load_models

    load_models()
    found: dict[str, SyncedEntity] = {}
    for mapper in Base.registry.mappers:
        model = mapper.class_
        if not issubclass(model, SyncMixin):
            continue
        local: Table = mapper.local_table  # type: ignore[assignment]
        table = local.name
        columns = tuple(c for c in local.columns if _is_public(table, c.name))
        found[_singular(table)] = SyncedEntity(_singular(table), model, columns)
    return dict(sorted(found.items()))


def entity_of(instance: object) -> SyncedEntity | None:
    return entity_of_model(type(instance)) if isinstance(instance, SyncMixin) else None


def entity_of_model(model: type[Any]) -> SyncedEntity | None:
    table = inspect(model).local_table.name
    return synced_entities().get(_singular(str(table)))


def plain(value: Any) -> Any:
    """A JSON value: dates as ISO 8601 strings, lists and dicts copied."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def typed(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, DateTime) and isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    return value
