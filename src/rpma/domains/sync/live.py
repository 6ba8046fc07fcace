"""Live updates for changes that arrive by sync: a task a node pushed to the central (or
the central's change a node pulled) reaches the `/ws` listeners like a local change.

The events keep each domain's shape with ``"source": "sync"`` added; a listener that
wants the whole record reads it (the payload is not a diff).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rpma.core.events import Event
from rpma.domains.sync.schemas import PushedOperation, PushOutcome

APPLIED = "applied"


def _task(op: PushedOperation) -> Event:
    return Event("task_updated", {"task_id": op.entity_id, "updates": dict(op.payload)})


def _client(op: PushedOperation) -> Event:
    data = {"client_id": op.entity_id, "action": op.kind, "changes": dict(op.payload)}
    return Event("client_updated", data)


def _intervention(op: PushedOperation) -> Event:
    payload = op.payload
    data = {
        "intervention_id": op.entity_id,
        "step_number": payload.get("current_step"),
        "status": payload.get("status"),
    }
    return Event("intervention_updated", data)


def _material(op: PushedOperation) -> Event:
    data = {"material_id": op.entity_id, "change": op.kind, "version": op.version}
    return Event("material_updated", data)


def _calendar(op: PushedOperation) -> Event:
    data = {
        "event_id": op.entity_id,
        "action": op.kind,
        "technician_id": op.payload.get("technician_id"),
        "changes": dict(op.payload),
    }
    return Event("calendar_updated", data)


# Users are left out: account changes are the security trail's business, not a feed's.
_BUILDERS: dict[str, Callable[[PushedOperation], Event]] = {
    "task": _task,
    "client": _client,
    "intervention": _intervention,
    "material": _material,
    "calendar_event": _calendar,
}


def events_for(
    operations: Sequence[PushedOperation], outcomes: Sequence[PushOutcome]
) -> list[Event]:
    """One event per operation that was applied (not a duplicate, conflict or refusal)."""
    found: list[Event] = []
    for op, outcome in zip(operations, outcomes, strict=True):
        build = _BUILDERS.get(op.entity_type)
        if build is None or outcome.outcome != APPLIED:
            continue
        event = build(op)
        data: dict[str, Any] = {**event.data, "source": "sync"}
        found.append(Event(event.type, data))
    return found
