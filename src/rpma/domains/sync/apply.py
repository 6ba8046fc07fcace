"""Applying operations that come from another node, on a central server (pushed) or on
a node (pulled): idempotent, and the higher version wins (docs/SYNC.md "Conflicts").

Each operation is applied in a savepoint, so a bad one is refused alone. Ordering key:
(version, the entity's updated_at, the node that made it); the larger key wins, and the
loser is recorded with ``conflict`` set. Both sides order the same way, so a node and
the central agree on the winner whichever way the changes travel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Boolean, Date, Float, Integer, String
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.types import JsonDict, JsonList
from rpma.domains.sync import queue
from rpma.domains.sync.capture import APPLYING, defer, deferred
from rpma.domains.sync.entities import CREATE_DEFAULTS, SyncedEntity, synced_entities
from rpma.domains.sync.schemas import PushedOperation, PushOutcome

APPLIED, DUPLICATE, CONFLICT, REJECTED = "applied", "duplicate", "conflict", "rejected"


def _type_error(column: Any, value: Any) -> str | None:
    kind = column.type
    if isinstance(kind, Boolean):
        return None if isinstance(value, bool) else "a boolean"
    if isinstance(value, bool):
        return "not a boolean"
    if isinstance(kind, Integer):
        return None if isinstance(value, int) else "an integer"
    if isinstance(kind, Float):
        return None if isinstance(value, int | float) else "a number"
    if isinstance(kind, Date):
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return "a date (YYYY-MM-DD)"
        return None
    if isinstance(kind, JsonList):
        return None if isinstance(value, list) else "a list"
    if isinstance(kind, JsonDict):
        return None if isinstance(value, dict) else "an object"
    if isinstance(kind, String):  # Text too
        if not isinstance(value, str):
            return "a string"
        if kind.length is not None and len(value) > kind.length:
            return f"at most {kind.length} characters"
    return None


def payload_errors(entity: SyncedEntity, entity_id: str, payload: dict[str, Any]) -> list[str]:
    """What is wrong with ``payload`` for ``entity``: unknown or secret fields, wrong
    types, a missing required value, an id that is not the entity's."""
    columns = {c.name: c for c in entity.columns}
    errors = []
    for name, value in payload.items():
        column = columns.get(name)
        if column is None:
            errors.append(f"payload.{name}: not a synced field of {entity.name}")
        elif value is None:
            if not column.nullable:
                errors.append(f"payload.{name}: may not be null")
        elif (problem := _type_error(column, value)) is not None:
            errors.append(f"payload.{name}: must be {problem}")
    if "id" in payload and payload["id"] != entity_id:
        errors.append("payload.id: differs from entity_id")
    return errors


def operation_errors(op: PushedOperation) -> list[str]:
    entity = synced_entities().get(op.entity_type)
    if entity is None:
        known = ", ".join(synced_entities())
        return [f"entity_type: unknown ({op.entity_type!r}); one of {known}"]
    errors = payload_errors(entity, op.entity_id, op.payload)
    if "version" in op.payload and op.payload["version"] != op.version:
        errors.append("payload.version: differs from version")
    return errors


@dataclass(frozen=True)
class OrderKey:
    version: int
    updated_at: int
    node_id: str

    def as_tuple(self) -> tuple[int, int, str]:
        return (self.version, self.updated_at, self.node_id)


def _record(db: Session, op: PushedOperation, *, conflict: bool, reason: str | None) -> None:
    """Keep the operation (inserted at commit, in feed order): a repeat is then known,
    and a central server hands it on to the other nodes (not a conflict's loser)."""
    row = queue.new_row(
        entity_type=op.entity_type,
        entity_id=op.entity_id,
        kind=op.kind,
        payload=op.payload,
        version=op.version,
        node_id=op.node_id,
        operation_id=op.operation_id,
        priority=op.priority,
        status=queue.COMPLETED,
        conflict=conflict,
        last_error=reason,
    )
    defer(db, [row])


def _seen(db: Session, operation_id: str) -> bool:
    if any(row["operation_id"] == operation_id for row in deferred(db)):
        return True
    return queue.known_operation(db, operation_id)


def _origin(db: Session, entity_type: str, entity_id: str) -> str | None:
    for row in reversed(deferred(db)):
        same = (row["entity_type"], row["entity_id"]) == (entity_type, entity_id)
        if same and not row["conflict"]:
            return str(row["node_id"])
    return queue.last_origin(db, entity_type, entity_id)


def _write(db: Session, entity: SyncedEntity, op: PushedOperation, current: Any) -> None:
    values = entity.from_payload(op.payload)
    values.pop("id", None)
    values["version"] = op.version
    if current is None:
        if op.kind == "delete" and set(op.payload) <= {"id"}:
            return  # a hard delete of something never seen here: nothing to do
        defaults = CREATE_DEFAULTS.get(entity.table, {})
        db.add(entity.model(**{**defaults, **values, "id": op.entity_id}))
    else:
        for key, value in values.items():
            setattr(current, key, value)
        if op.kind == "delete" and current.deleted_at is None:
            current.deleted_at = clock.now_ms()
    db.flush()


def apply_one(db: Session, op: PushedOperation, own_node: str) -> PushOutcome:
    if _seen(db, op.operation_id):
        return PushOutcome(operation_id=op.operation_id, outcome=DUPLICATE)
    errors = operation_errors(op)
    if errors:
        return PushOutcome(operation_id=op.operation_id, outcome=REJECTED, reason="; ".join(errors))
    entity = synced_entities()[op.entity_type]
    current = db.get(entity.model, op.entity_id, populate_existing=True)
    remote = OrderKey(op.version, int(op.payload.get("updated_at") or 0), op.node_id)
    if current is not None:
        origin = _origin(db, op.entity_type, op.entity_id) or own_node
        local = OrderKey(int(current.version or 0), int(current.updated_at or 0), origin)
        if remote.as_tuple() == local.as_tuple():  # the same change, come another way
            _record(db, op, conflict=False, reason=None)
            return PushOutcome(operation_id=op.operation_id, outcome=DUPLICATE)
        if remote.as_tuple() < local.as_tuple():
            reason = (
                f"conflict: version {local.version} from {local.node_id} kept over "
                f"version {remote.version} from {remote.node_id}"
            )
            _record(db, op, conflict=True, reason=reason)
            return PushOutcome(operation_id=op.operation_id, outcome=CONFLICT, reason=reason)
    try:
        with db.begin_nested():
            _write(db, entity, op, current)
    except (IntegrityError, DataError):
        reason = (
            f"{entity.name} {op.entity_id} conflicts with data on the receiving server "
            "(a unique value taken, a missing referenced record, or a required field)"
        )
        return PushOutcome(operation_id=op.operation_id, outcome=REJECTED, reason=reason)
    _record(db, op, conflict=False, reason=None)
    return PushOutcome(operation_id=op.operation_id, outcome=APPLIED)


def apply_operations(
    db: Session, operations: list[PushedOperation], own_node: str
) -> list[PushOutcome]:
    """Apply in order; the changes are not captured again as this node's own."""
    db.info[APPLYING] = True
    try:
        return [apply_one(db, op, own_node) for op in operations]
    finally:
        db.info.pop(APPLYING, None)
