"""Interventions for `rpma demo`, in every state, with real photos.

Unlike the rest of the demo (bulk inserts), every intervention here is worked through
the domain services, as a technician's app would: ``InterventionService`` starts it,
``PhotoService`` stores each step's photos (real JPEGs drawn with Pillow, written to the
photo storage, counted on their step), the workflow advances the steps with their
checklists ticked and checkpoints marked, then pauses, cancels or finalizes it. So every
rule applies, and each task's status follows its intervention through ``TaskService``
with its history.

The tasks are chosen among the demo's own rows before they are inserted (``plan``): a
chosen task is written as a scheduled, unstarted job, and the workflow moves it on
(a finalized intervention completes its task, a paused one pauses it, a cancelled one
puts it on hold). Interventions start "now" (``rpma.core.clock``).
"""

from __future__ import annotations

import base64
import io
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, Final, Literal

from PIL import ExifTags, Image, ImageDraw, ImageFont, ImageOps
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import Principal
from rpma.core.permissions import Role
from rpma.core.services import Services
from rpma.domains.interventions.models import Intervention, InterventionStep
from rpma.domains.interventions.schemas import (
    CancelInterventionRequest,
    FinalizeInterventionRequest,
    GpsFix,
    LightingCondition,
    StartInterventionRequest,
    StateChangeRequest,
    StepWriteRequest,
    WeatherCondition,
    WorkLocation,
)
from rpma.domains.interventions.service import InterventionService
from rpma.domains.interventions.templates import InterventionType, zone_label
from rpma.domains.photos.schemas import GpsFix as PhotoGpsFix
from rpma.domains.photos.schemas import PhotoCategory, PhotoType, PhotoUploadItem
from rpma.domains.photos.schemas import PhotoUploadRequest as UploadRequest
from rpma.domains.photos.service import PhotoService
from rpma.domains.photos.storage import PhotoStorage, storage_for
from rpma.domains.tasks.models import Task

Outcome = Literal["completed", "in_progress", "paused", "cancelled"]
OUTCOMES: Final[tuple[Outcome, ...]] = ("completed", "in_progress", "paused", "cancelled")
OUTCOME_WEIGHTS: Final = (50, 20, 15, 15)
# Where to look for a task for each outcome, best first: a task the demo had drawn in
# the status the outcome leaves it in, then any other open (or completed) job.
# Cancelled and archived tasks are never taken: no intervention starts on them.
SOURCES: Final[dict[Outcome, tuple[str, ...]]] = {
    "completed": ("completed", "in_progress", "scheduled", "on_hold", "paused", "draft"),
    "in_progress": ("in_progress", "scheduled", "on_hold", "paused", "draft", "completed"),
    "paused": ("paused", "in_progress", "scheduled", "on_hold", "draft", "completed"),
    "cancelled": ("on_hold", "scheduled", "in_progress", "paused", "draft", "completed"),
}
TYPES: Final[tuple[InterventionType, ...]] = ("ppf", "ceramic", "detailing")
TYPE_WEIGHTS: Final = (75, 15, 10)
WEATHER: Final[tuple[WeatherCondition, ...]] = ("sunny", "cloudy", "rainy", "windy")
LIGHTING: Final[tuple[LightingCondition, ...]] = ("artificial", "mixed", "natural")
LOCATIONS: Final[tuple[WorkLocation, ...]] = ("indoor", "indoor", "indoor", "semi_covered")
FILM_BRANDS: Final = (("XPEL", "Ultimate Plus"), ("3M", "Scotchgard Pro"), ("SunTek", "Ultra"))
# The workshop (Lyon), where every photo and start is located.
WORKSHOP: Final = (45.7578, 4.8320)
PAUSE_REASONS: Final = (
    "Lunch break",
    "Waiting for the film delivery",
    "Customer needs the car back for an hour",
    "Workshop too cold, waiting for the heater",
)
CANCEL_REASONS: Final = (
    "Customer called the job off",
    "Wrong vehicle brought in",
    "Paint too damaged for film; repaint first",
    "Customer left before the inspection",
)
COMMENTS: Final = (
    None,
    "Very clean work, thank you!",
    "Car looks brand new.",
    "A bit later than planned but great result.",
)
# Photo colours by step type: (dark end, light end) of the gradient.
STEP_COLOURS: Final = {
    "inspection": ((18, 38, 74), (96, 156, 222)),
    "preparation": ((74, 44, 12), (232, 170, 80)),
    "installation": ((10, 64, 60), (92, 206, 190)),
    "finalization": ((22, 66, 24), (150, 216, 120)),
}
PHOTO_TYPES: Final[dict[str, PhotoType]] = {"inspection": "before", "finalization": "after"}
PHOTO_CATEGORIES: Final[dict[str, PhotoCategory]] = {
    "inspection": "vehicle_condition",
    "finalization": "final_result",
}
PHOTO_SIZE: Final = (640, 480)
PHOTO_QUALITY: Final = 70
TASK_STATUS: Final[dict[Outcome, str]] = {
    "completed": "completed",
    "in_progress": "in_progress",
    "paused": "paused",
    "cancelled": "on_hold",
}

Progress = Callable[[str, int], None]
OnRollback = Callable[[Callable[[], None]], None]


@dataclass(frozen=True)
class Planned:
    """One intervention to run: on which task, by whom, ending how."""

    task_id: str
    technician_id: str
    outcome: Outcome


@dataclass
class InterventionsResult:
    by_outcome: Counter[str] = field(default_factory=Counter)
    # The final status of each task worked on, for the demo's status counts.
    task_statuses: Counter[str] = field(default_factory=Counter)
    photos: int = 0


def outcomes_for(count: int, rng: random.Random) -> list[Outcome]:
    """``count`` outcomes, every state among them as soon as there are four."""
    drawn = list(OUTCOMES[:count])
    drawn += rng.choices(OUTCOMES, OUTCOME_WEIGHTS, k=max(0, count - len(OUTCOMES)))
    rng.shuffle(drawn)
    return drawn


def plan(rows: list[dict[str, Any]], count: int, today: date, rng: random.Random) -> list[Planned]:
    """Choose the tasks of ``count`` interventions among the demo's task ``rows`` (not
    yet inserted) and rewrite each chosen row as a scheduled, unstarted job; the
    workflow moves it on. Tasks without a technician are left out (the technician
    works the intervention); fewer than ``count`` may be planned when the demo has
    too few tasks. The tasks nearest today are taken first."""
    pools: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        if row["technician_id"] is not None:
            pools.setdefault(row["status"], []).append(index)
    for pool in pools.values():  # farthest first: pop() takes the nearest
        pool.sort(key=lambda i: abs((rows[i]["scheduled_date"] - today).days), reverse=True)
    planned: list[Planned] = []
    for outcome in outcomes_for(count, rng):
        source = next((status for status in SOURCES[outcome] if pools.get(status)), None)
        if source is None:
            break
        row = rows[pools[source].pop()]
        row.update(status="scheduled", started_at=None, completed_at=None, actual_duration=None)
        planned.append(Planned(row["id"], row["technician_id"], outcome))
    return planned


# Photos -----------------------------------------------------------------------------------
@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@cache
def _background(step_type: str) -> Image.Image:
    dark, light = STEP_COLOURS.get(step_type, STEP_COLOURS["inspection"])
    # A diagonal gradient: Pillow's 256x256 gradient, turned a little and stretched.
    gradient = Image.linear_gradient("L").rotate(-35, resample=Image.Resampling.BILINEAR)
    gradient = gradient.crop((40, 40, 216, 216)).resize(PHOTO_SIZE, Image.Resampling.BILINEAR)
    return ImageOps.colorize(gradient, dark, light)


def demo_photo(lines: list[str], step_type: str, taken: datetime, frame: int) -> bytes:
    """A small real JPEG: the step's colour gradient, ``lines`` written on it, a
    frame mark so no two photos of a step are alike, and the EXIF capture time."""
    image = _background(step_type).copy()
    draw = ImageDraw.Draw(image)
    width, height = PHOTO_SIZE
    draw.rounded_rectangle((24, 24, width - 24, height - 24), radius=18, outline="white", width=3)
    y = 60
    for number, line in enumerate(lines):
        font = _font(40 if number == 0 else 26)
        draw.text((56, y), line, fill="white", font=font)
        y += 62 if number == 0 else 40
    spot = 60 + (frame * 97) % (width - 160)
    draw.ellipse((spot, height - 150, spot + 80, height - 70), outline="white", width=4)
    draw.text((56, height - 60), taken.strftime("%Y-%m-%d %H:%M UTC"), fill="white", font=_font(20))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "RPMA"
    exif[ExifTags.Base.Model] = "Demo camera"
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    details[ExifTags.Base.OffsetTimeOriginal] = "+00:00"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=PHOTO_QUALITY, optimize=True, exif=exif)
    return out.getvalue()


def demo_signature(rng: random.Random) -> str:
    """A customer's scribble: a small PNG, base64, as a signature pad sends it."""
    image = Image.new("L", (300, 100), 255)
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 26, rng.randint(30, 70)) for i in range(11)]
    draw.line(points, fill=20, width=3, joint="curve")
    draw.line([(30, 82), (270, 82)], fill=160, width=1)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


# Running the workflows --------------------------------------------------------------------
def _ignore(_effect: Callable[[], Any]) -> None:
    """Events after commit: nobody listens to the demo."""


class DemoInterventions:
    def __init__(
        self,
        db: Session,
        services: Services,
        rng: random.Random,
        *,
        emails: dict[str, str],
        on_rollback: OnRollback | None = None,
        storage: PhotoStorage | None = None,
    ) -> None:
        self.db = db
        self.services = services
        self.rng = rng
        self.emails = emails
        self.on_rollback = on_rollback
        self.storage = storage if storage is not None else storage_for(services.settings)
        self.result = InterventionsResult()

    def run(self, planned: list[Planned], progress: Progress) -> InterventionsResult:
        for item in planned:
            self.one(item)
            progress("interventions", 1)
        return self.result

    def _actor(self, technician_id: str) -> Principal:
        return Principal(
            user_id=technician_id,
            role=Role.TECHNICIAN,
            session_id=f"demo-{uuid.uuid4().hex[:12]}",
            email=self.emails.get(technician_id, "technician@demo.rpma"),
            expires_at_ms=clock.now_ms() + 3_600_000,
        )

    def _gps(self) -> tuple[float, float, float, int]:
        rng = self.rng
        lat = round(WORKSHOP[0] + rng.uniform(-0.0004, 0.0004), 6)
        lon = round(WORKSHOP[1] + rng.uniform(-0.0004, 0.0004), 6)
        return lat, lon, float(rng.randint(4, 25)), clock.now_ms()

    def one(self, item: Planned) -> Intervention:
        rng = self.rng
        actor = self._actor(item.technician_id)
        service = InterventionService(self.db, self.services, actor)
        photos = PhotoService(
            self.db,
            self.services,
            actor,
            after_commit=_ignore,
            interventions=service,
            storage=self.storage,
            on_rollback=self.on_rollback,
        )
        kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        brand, model = rng.choice(FILM_BRANDS) if kind == "ppf" else (None, None)
        lat, lon, accuracy, fix_time = self._gps()
        row, steps = service.start(
            StartInterventionRequest(
                task_id=item.task_id,
                intervention_type=kind,
                film_brand=brand,
                film_model=model,
                weather_condition=rng.choice(WEATHER),
                lighting_condition=rng.choice(LIGHTING),
                work_location=rng.choice(LOCATIONS),
                temperature_celsius=float(rng.randint(16, 27)),
                humidity_percentage=float(rng.randint(35, 65)),
                gps=GpsFix(latitude=lat, longitude=lon, accuracy=accuracy, timestamp=fix_time),
            )
        )
        total = len(steps)
        # How many steps are done before the intervention stops where it ends.
        done = total - 1 if item.outcome == "completed" else rng.randrange(total)
        for step in steps[:done]:
            optional = not step.is_mandatory and step.min_photos_required == 0
            if optional and rng.random() < 0.35:
                data: dict[str, Any] = {"skip": True}
            else:
                self._photos(photos, row, step, self._photo_count(step))
                data = self._step_data(step)
            service.workflow.advance(
                StepWriteRequest(
                    intervention_id=row.id,
                    step_number=step.step_number,
                    data=data,
                    expected_version=row.version,
                )
            )
        current = steps[done]
        if item.outcome == "completed":
            self._photos(photos, row, current, self._photo_count(current))
            self._finalize(service, row, current)
        else:
            self._partial(service, photos, row, current)
            if item.outcome == "paused":
                service.workflow.pause(
                    StateChangeRequest(
                        intervention_id=row.id,
                        reason=rng.choice(PAUSE_REASONS),
                        expected_version=row.version,
                    )
                )
            elif item.outcome == "cancelled":
                service.workflow.cancel(
                    CancelInterventionRequest(
                        intervention_id=row.id,
                        reason=rng.choice(CANCEL_REASONS),
                        expected_version=row.version,
                    )
                )
        task = self.db.get(Task, item.task_id)
        self.result.by_outcome[item.outcome] += 1
        self.result.task_statuses[task.status if task else TASK_STATUS[item.outcome]] += 1
        return row

    def _photo_count(self, step: InterventionStep) -> int:
        """The step's minimum, sometimes one more; a step that needs none gets one now
        and then."""
        extra = 1 if self.rng.random() < 0.3 else 0
        return min(step.max_photos_allowed, step.min_photos_required + extra)

    def _partial(
        self,
        service: InterventionService,
        photos: PhotoService,
        row: Intervention,
        step: InterventionStep,
    ) -> None:
        """Work under way on the current step: some of its photos, part of its
        checklist saved."""
        rng = self.rng
        self._photos(photos, row, step, rng.randint(0, step.min_photos_required))
        items = [i["id"] for i in step.checklist]
        ticked = dict.fromkeys(items[: rng.randint(0, len(items))], True)
        if ticked:
            service.workflow.save_progress(
                StepWriteRequest(
                    intervention_id=row.id,
                    step_number=step.step_number,
                    data={"checklist": ticked, "notes": "In progress"},
                    expected_version=row.version,
                )
            )

    def _finalize(
        self, service: InterventionService, row: Intervention, last: InterventionStep
    ) -> None:
        rng = self.rng
        satisfaction = rng.choices([10, 9, 8, 7, 6], [30, 35, 20, 10, 5])[0]
        lat, lon, accuracy, fix_time = self._gps()
        comments = rng.choice(COMMENTS)
        service.workflow.finalize(
            FinalizeInterventionRequest(
                intervention_id=row.id,
                collected_data=self._step_data(last),
                customer_satisfaction=satisfaction,
                final_observations=["Work completed as planned"]
                if satisfaction >= 8
                else ["Customer asked for a follow-up check"],
                customer_signature=demo_signature(rng),
                customer_comments=comments,
                gps=GpsFix(latitude=lat, longitude=lon, accuracy=accuracy, timestamp=fix_time),
                expected_version=row.version,
            )
        )

    def _step_data(self, step: InterventionStep) -> dict[str, Any]:
        """A finished step: every required item ticked (optional ones mostly), each
        checkpoint marked (a few fail), a measurement or two."""
        rng = self.rng
        checklist = {
            item["id"]: True
            for item in step.checklist
            if item.get("required") or rng.random() < 0.7
        }
        checkpoints = {c["id"]: rng.random() > 0.06 for c in step.quality_checkpoints}
        data: dict[str, Any] = {"checklist": checklist, "quality_checkpoints": checkpoints}
        if step.step_type == "inspection":
            data["measurements"] = {"paint_depth_um": rng.randint(90, 160)}
        elif step.step_type == "installation":
            data["measurements"] = {"film_thickness_um": rng.choice([150, 200, 210])}
        if rng.random() < 0.2:
            data["notes"] = rng.choice(
                ["Small chip on the hood noted", "All good", "Extra care on the edges"]
            )
        return data

    def _photos(
        self, photos: PhotoService, row: Intervention, step: InterventionStep, count: int
    ) -> None:
        if count <= 0:
            return
        zones = list(row.ppf_zones) or [None]
        photo_type = PHOTO_TYPES.get(step.step_type, "during")
        category = PHOTO_CATEGORIES.get(step.step_type, "step_progress")
        lat, lon, accuracy, fix_time = self._gps()
        vehicle = " ".join(p for p in (row.vehicle_make, row.vehicle_model) if p)
        items = []
        for index in range(count):
            zone = zones[index % len(zones)]
            taken = clock.now()
            lines = [
                step.step_name,
                zone_label(zone) if zone else "Whole vehicle",
                f"{vehicle} · {row.vehicle_plate}",
                f"Photo {index + 1} of {count}",
            ]
            items.append(
                PhotoUploadItem(
                    file_name=f"step{step.step_number}-{index + 1}.jpg",
                    mime_type="image/jpeg",
                    data=demo_photo(lines, step.step_type, taken, index),
                    photo_type=photo_type,
                    category=category,
                    zone=zone,
                    gps=PhotoGpsFix(
                        latitude=lat, longitude=lon, accuracy=accuracy, timestamp=fix_time
                    ),
                )
            )
        photos.upload(
            UploadRequest(intervention_id=row.id, step_number=step.step_number, photos=items)
        )
        self.result.photos += count
