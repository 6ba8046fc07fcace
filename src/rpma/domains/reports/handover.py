"""The customer handover report of one intervention (issue 7 item 4; docs/EXPORTS.md).

The document a PPF shop hands to the customer with the car and keeps for warranty
claims. This module gathers what it shows through the interventions, tasks, clients and
photos services (never their tables); ``handover_pdf`` draws it.

Who: admins, supervisors, and the technician the intervention's task is assigned to.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from rpma.core.clock import clock, from_ms
from rpma.core.context import CommandContext
from rpma.core.errors import AppError, AuthorizationError
from rpma.core.permissions import STAFF, Role
from rpma.domains.clients.schemas import Client
from rpma.domains.clients.service import ClientService
from rpma.domains.interventions.models import Intervention, InterventionStep
from rpma.domains.interventions.service import InterventionService
from rpma.domains.photos.service import PhotoService
from rpma.domains.reports.export_schemas import HandoverExportRequest, HandoverExportResult
from rpma.domains.reports.export_service import ExportService, result
from rpma.domains.settings.service import company_name, shop_timezone
from rpma.domains.tasks.models import Task
from rpma.domains.users.repository import UserRepository

__all__ = ["MAX_PHOTOS", "HandoverData", "HandoverPhoto", "HandoverStep", "export_handover"]

log = logging.getLogger(__name__)

REPORT_TYPE: Final = "InterventionHandover"
# Thumbnails drawn in the report at most (the newest steps' photos past this are
# counted, not drawn): the report stays a few MB and prints in seconds.
MAX_PHOTOS: Final = 48
# Step data keys that hold the film's batch (lot, roll) numbers, as technicians record
# them in a step's data.
BATCH_KEYS: Final = (
    "film_batch",
    "film_batch_number",
    "batch_number",
    "batch_numbers",
    "film_lot",
    "lot_number",
    "roll_number",
)


@dataclass(frozen=True)
class HandoverPhoto:
    step_number: int
    caption: str
    thumbnail: bytes


@dataclass(frozen=True)
class HandoverStep:
    number: int
    name: str
    status: str
    completed_at: datetime | None
    checklist: list[tuple[str, bool]]  # label, ticked
    checkpoints: list[tuple[str, bool | None]]  # label, passed (None: not marked)
    measurements: list[tuple[str, str]]
    notes: str | None
    photos: list[HandoverPhoto] = field(default_factory=list)
    photo_count: int = 0


@dataclass(frozen=True)
class HandoverData:
    workshop: str
    generated_at: datetime  # in the shop's time zone
    intervention: Intervention
    task: Task
    client: Client | None
    technician: str | None
    zone: ZoneInfo
    batches: list[str]
    steps: list[HandoverStep]
    signature: bytes | None
    photos_left_out: int = 0

    def local(self, ms: int | None) -> datetime | None:
        return from_ms(ms).astimezone(self.zone) if ms is not None else None


def export_handover(ctx: CommandContext, req: HandoverExportRequest) -> HandoverExportResult:
    from rpma.domains.reports.handover_pdf import render_handover  # reportlab on demand

    data = gather(ctx, req.intervention_id)
    exports = ExportService(ctx)
    plate = "".join(ch for ch in (data.intervention.vehicle_plate or "") if ch.isalnum())
    day = (data.local(data.intervention.completed_at) or data.generated_at).date().isoformat()
    record = exports.write(
        kind="handover",
        report_type=REPORT_TYPE,
        export_format="pdf",
        file_name=f"handover_{plate or 'vehicle'}_{day}.pdf",
        content_type="application/pdf",
        write=lambda target: render_handover(data, target),
        subject_id=data.intervention.id,
    )
    return HandoverExportResult(
        **result(record).model_dump(), download=exports.deliver(record, req.transfer)
    )


def gather(ctx: CommandContext, intervention_id: str) -> HandoverData:
    interventions = InterventionService.from_context(ctx)
    row = interventions.get(intervention_id)
    task = interventions.tasks.get(row.task_id)
    _check_reader(ctx, task)
    photos = PhotoService.from_context(ctx)
    steps, left_out = _steps(interventions.steps(row.id), photos, row.id)
    zone = shop_timezone(ctx.db)
    technician = UserRepository(ctx.db).get(row.technician_id) if row.technician_id else None
    return HandoverData(
        workshop=company_name(ctx.db),
        generated_at=clock.now().astimezone(zone),
        intervention=row,
        task=task,
        client=_client(ctx, row.client_id or task.client_id),
        technician=technician.full_name if technician is not None else None,
        zone=zone,
        batches=_batches(interventions.steps(row.id)),
        steps=steps,
        signature=_signature(row.customer_signature),
        photos_left_out=left_out,
    )


def _check_reader(ctx: CommandContext, task: Task) -> None:
    user = ctx.user
    if user.role in STAFF:
        return
    if user.role is Role.TECHNICIAN and task.technician_id == user.user_id:
        return
    raise AuthorizationError(
        message="A technician may print the handover report of their own interventions only",
        task_id=task.id,
    )


def _client(ctx: CommandContext, client_id: str | None) -> Client | None:
    if client_id is None:
        return None
    service = ClientService(ctx.db, ctx.user, ctx.publish_after_commit)
    try:
        return service.get(client_id)
    except AppError:  # deleted since: the intervention keeps the name it copied
        return None


def _steps(
    rows: list[InterventionStep], photos: PhotoService, intervention_id: str
) -> tuple[list[HandoverStep], int]:
    by_step: dict[int, list[HandoverPhoto]] = {}
    counts: dict[int, int] = {}
    drawn = left_out = 0
    for photo in photos.list_for(intervention_id, None, None):
        counts[photo.step_number] = counts.get(photo.step_number, 0) + 1
        if drawn >= MAX_PHOTOS:
            left_out += 1
            continue
        try:
            content = photos.get(photo.id, "thumbnail")
        except AppError:  # a file missing from storage: the report still prints
            log.warning("handover report: photo %s has no readable thumbnail", photo.id)
            continue
        caption = " · ".join(p for p in (photo.zone, photo.photo_type) if p)
        thumbnail = base64.b64decode(content.data or "")
        by_step.setdefault(photo.step_number, []).append(
            HandoverPhoto(photo.step_number, caption.replace("_", " "), thumbnail)
        )
        drawn += 1
    steps = [
        HandoverStep(
            number=step.step_number,
            name=step.step_name,
            status=step.status,
            completed_at=from_ms(step.completed_at) if step.completed_at else None,
            checklist=_checklist(step),
            checkpoints=_checkpoints(step),
            measurements=_measurements(step.collected_data or {}),
            notes=(step.collected_data or {}).get("notes") or step.notes,
            photos=by_step.get(step.step_number, []),
            photo_count=counts.get(step.step_number, 0),
        )
        for step in rows
    ]
    return steps, left_out


def _checklist(step: InterventionStep) -> list[tuple[str, bool]]:
    ticked = (step.collected_data or {}).get("checklist", {})
    return [
        (str(item.get("label", item["id"])), bool(ticked.get(item["id"])))
        for item in step.checklist
    ]


def _checkpoints(step: InterventionStep) -> list[tuple[str, bool | None]]:
    marks = (step.collected_data or {}).get("quality_checkpoints", {})
    return [
        (
            str(c.get("label", c["id"])),
            marks.get(c["id"]) if isinstance(marks.get(c["id"]), bool) else None,
        )
        for c in step.quality_checkpoints
    ]


_UNITS: Final = {"um": "µm", "mm": "mm", "c": "°C", "pct": "%", "percent": "%", "min": "min"}


def _measurements(collected: dict[str, Any]) -> list[tuple[str, str]]:
    """``paint_depth_um: 120`` reads "Paint depth: 120 µm"."""
    values = collected.get("measurements") or {}
    if not isinstance(values, dict):
        return []
    shown = []
    for key, value in values.items():
        words = str(key).split("_")
        unit = _UNITS.get(words[-1]) if len(words) > 1 else None
        label = " ".join(words[:-1] if unit else words).capitalize()
        text = f"{value:g}" if isinstance(value, float) else str(value)
        shown.append((label, f"{text} {unit}" if unit else text))
    return shown


def _batches(rows: list[InterventionStep]) -> list[str]:
    found: list[str] = []
    for step in rows:
        data = step.collected_data or {}
        for key in BATCH_KEYS:
            value = data.get(key)
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, str | int) and str(item).strip() and str(item) not in found:
                    found.append(str(item).strip())
    return found


def _signature(value: str | None) -> bytes | None:
    """The stored signature is strict base64 of an image; a ``data:`` URL is accepted
    too, should an older client have stored one."""
    if not value:
        return None
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode(value, validate=True) or None
    except (binascii.Error, ValueError):
        return None
