"""The task status machine (DOMAIN.md "Tasks"): which move is allowed from which state."""

from __future__ import annotations

from typing import Final, Literal

from rpma.core.errors import ValidationFailed

TaskStatus = Literal[
    "draft",
    "scheduled",
    "in_progress",
    "paused",
    "on_hold",
    "completed",
    "cancelled",
    "archived",
]
TaskPriority = Literal["low", "medium", "high", "urgent"]

STATUSES: Final[tuple[str, ...]] = (
    "draft",
    "scheduled",
    "in_progress",
    "paused",
    "on_hold",
    "completed",
    "cancelled",
    "archived",
)
PRIORITIES: Final[tuple[str, ...]] = ("low", "medium", "high", "urgent")

# Finished work: never overdue, never delayed, never available for an intervention.
CLOSED: Final = frozenset({"completed", "cancelled", "archived"})

TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "draft": ("scheduled", "cancelled"),
    "scheduled": ("in_progress", "on_hold", "cancelled"),
    "in_progress": ("paused", "on_hold", "completed", "cancelled"),
    "paused": ("in_progress", "cancelled"),
    "on_hold": ("scheduled", "in_progress", "cancelled"),
    "completed": ("archived",),
    "cancelled": (),
    "archived": (),
}
assert set(TRANSITIONS) == set(STATUSES)


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check_transition(old: str, new: str) -> None:
    """Refuse a move the machine does not allow; the answer names both states and lists
    where the task may go instead."""
    if new in allowed_next(old):
        return
    allowed = list(allowed_next(old))
    where = ", ".join(allowed) if allowed else "none: it is final"
    raise ValidationFailed(
        message=f"A task cannot move from {old} to {new} (allowed from {old}: {where})",
        from_status=old,
        to_status=new,
        allowed=allowed,
    )
