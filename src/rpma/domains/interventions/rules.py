"""The workflow rules that need no database (DOMAIN.md "Interventions and steps";
CONTRACT.md section 8 "Steps"): the status machine, how a step's data merges into its
``collected_data``, what a step still lacks before it can be completed, progress figures,
the quality score and the customer's signature."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from typing import Any, Final

from rpma.core.errors import InterventionInvalidState, ValidationFailed
from rpma.domains.interventions.models import InterventionStep

# The intervention status machine --------------------------------------------------------------
TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "pending": ("in_progress", "cancelled"),
    "in_progress": ("paused", "completed", "cancelled"),
    "paused": ("in_progress", "cancelled"),
    "completed": (),
    "cancelled": (),
}
DONE_STEP_STATUSES: Final = frozenset({"completed", "skipped"})
MAX_COLLECTED_BYTES: Final = 256 * 1024
MAX_SIGNATURE_BYTES: Final = 2 * 1024 * 1024
# Base64 of MAX_SIGNATURE_BYTES, checked before decoding anything.
MAX_SIGNATURE_CHARS: Final = 4 * math.ceil(MAX_SIGNATURE_BYTES / 3)

_ACTIONS: Final = {
    "in_progress": "resume",
    "paused": "pause",
    "completed": "finalize",
    "cancelled": "cancel",
}


def check_transition(current: str, target: str) -> None:
    """Refuse a move the machine does not allow, saying where the intervention may go."""
    allowed = TRANSITIONS.get(current, ())
    if target in allowed:
        return
    verb = _ACTIONS.get(target, f"move to {target}")
    hint = " (resume it first)" if current == "paused" else ""
    raise InterventionInvalidState(
        message=f"Cannot {verb} an intervention that is {current}{hint}",
        status=current,
        wanted=target,
        allowed=[_ACTIONS.get(s, s) for s in allowed],
    )


def require_in_progress(status: str, action: str) -> None:
    """Step work and finalizing need a running intervention (not paused, not closed)."""
    if status != "in_progress":
        hint = "; resume it first" if status == "paused" else ""
        raise InterventionInvalidState(
            message=f"Cannot {action}: the intervention is {status}{hint}", status=status
        )


# Step data ------------------------------------------------------------------------------------
def _unknown(field: str, ids: Iterable[str], known: set[str], step: InterventionStep) -> None:
    wrong = sorted(set(ids) - known)
    if wrong:
        raise ValidationFailed(
            message=f"{field}: step {step.step_number} ({step.step_name}) has no item "
            + ", ".join(repr(w) for w in wrong),
            fields=[
                {"field": f"{field}.{w}", "message": "no such item on this step"} for w in wrong
            ],
            known=sorted(known),
        )


def merge_data(
    step: InterventionStep, data: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    """The step's ``collected_data`` with ``data`` merged in: checklist ticks, checkpoint
    marks and measurements key by key, notes replaced, any other key kept as sent.
    ``data`` holds the checked known keys, ``extra`` the others."""
    collected = dict(step.collected_data or {})
    checklist = data.get("checklist")
    if checklist:
        _unknown("data.checklist", checklist, {i["id"] for i in step.checklist}, step)
        collected["checklist"] = {**collected.get("checklist", {}), **checklist}
    checkpoints = data.get("quality_checkpoints")
    if checkpoints:
        known = {c["id"] for c in step.quality_checkpoints}
        _unknown("data.quality_checkpoints", checkpoints, known, step)
        collected["quality_checkpoints"] = {
            **collected.get("quality_checkpoints", {}),
            **checkpoints,
        }
    if data.get("measurements"):
        collected["measurements"] = {**collected.get("measurements", {}), **data["measurements"]}
    if "notes" in data:
        collected["notes"] = data["notes"]
    collected.update(extra)
    try:
        size = len(json.dumps(collected, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise ValidationFailed(
            message="data: only JSON values can be stored in a step",
            fields=[{"field": "data", "message": "not JSON"}],
        ) from None
    if size > MAX_COLLECTED_BYTES:
        raise ValidationFailed(
            message=f"data: a step holds at most {MAX_COLLECTED_BYTES // 1024} KB of data",
            fields=[{"field": "data", "message": "too large"}],
            size=size,
        )
    return collected


def missing(step: InterventionStep, collected: dict[str, Any]) -> dict[str, Any] | None:
    """What ``step`` still lacks before it may be completed, or None: photos below its
    minimum and required checklist items not ticked."""
    problems: list[str] = []
    details: dict[str, Any] = {"step_number": step.step_number}
    short = step.min_photos_required - step.photo_count
    if short > 0:
        problems.append(
            f"{short} more photo{'s' if short > 1 else ''} "
            f"({step.min_photos_required} required, {step.photo_count} taken)"
        )
        details["photos"] = {"required": step.min_photos_required, "taken": step.photo_count}
    ticked = collected.get("checklist", {})
    unchecked = [
        item
        for item in step.checklist
        if item.get("required") and ticked.get(item["id"]) is not True
    ]
    if unchecked:
        problems.extend(f"checklist: {item['label']}" for item in unchecked)
        details["unchecked"] = [{"id": i["id"], "label": i["label"]} for i in unchecked]
    if not problems:
        return None
    details["missing"] = problems
    return details


# Figures --------------------------------------------------------------------------------------
def completion_percentage(steps: Iterable[InterventionStep]) -> float:
    """Completed or skipped steps / all steps * 100, to two decimals."""
    statuses = [s.status for s in steps]
    if not statuses:
        return 0.0
    done = sum(1 for s in statuses if s in DONE_STEP_STATUSES)
    return round(done / len(statuses) * 100, 2)


def half_up(value: float) -> int:
    return math.floor(value + 0.5)


def computed_quality_score(steps: Iterable[InterventionStep]) -> int:
    """Passed checkpoints / checkpoints marked (passed or failed) * 100, rounded half up;
    0 when none was marked."""
    passed = marked = 0
    for step in steps:
        for value in (step.collected_data or {}).get("quality_checkpoints", {}).values():
            marked += 1
            passed += value is True
    return half_up(passed / marked * 100) if marked else 0


# The customer's signature ---------------------------------------------------------------------
_IMAGE_MAGIC: Final = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def check_signature(value: str) -> str:
    """Strict base64 (no whitespace, no data: prefix) of a PNG, JPEG or WebP image of at
    most 2 MB; raises ValueError with the reason."""
    if len(value) > MAX_SIGNATURE_CHARS:
        raise ValueError(f"the signature is over {MAX_SIGNATURE_BYTES // (1024 * 1024)} MB")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the signature is not valid base64") from None
    if not raw:
        raise ValueError("the signature is empty")
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise ValueError(f"the signature is over {MAX_SIGNATURE_BYTES // (1024 * 1024)} MB")
    is_webp = raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"
    if not (raw.startswith(_IMAGE_MAGIC) or is_webp):
        raise ValueError("the signature is not a PNG, JPEG or WebP image")
    return value
