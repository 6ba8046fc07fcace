"""Photos of an intervention's steps (issue 5 item 4; DOMAIN.md "Photo").

Who may touch which intervention, and whether it is still open to changes, is the
interventions service's to say (``get_for_photos``). This service checks everything
about the photos themselves BEFORE a byte is stored: the step exists and has room, the
request's GPS fix is plausible, each photo is a real JPEG, PNG or WEBP within 20 MB and
40 megapixels (imaging.py). Only then are the files written; if anything fails after
that, the files written so far are removed before the error goes on, so a refused or
failed call leaves no file behind. The step's ``photo_count`` is recounted from the
photos table after every change, never taken from a client.
Services flush, never commit: the dispatcher owns the transaction.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import CommandContext, Principal
from rpma.core.errors import IoError, NotFound, ValidationFailed
from rpma.core.events import Event
from rpma.core.services import Services
from rpma.core.validation import (
    FieldValidationError,
    validate_gps_accuracy,
    validate_gps_coordinates,
    validate_gps_freshness,
)
from rpma.domains.interventions.models import Intervention
from rpma.domains.interventions.service import InterventionService
from rpma.domains.photos import imaging
from rpma.domains.photos.models import Photo as PhotoRow
from rpma.domains.photos.repository import PhotoRepository
from rpma.domains.photos.schemas import (
    Photo,
    PhotoContent,
    PhotoGps,
    PhotoUpdateRequest,
    PhotoUploadItem,
    PhotoUploadRequest,
)
from rpma.domains.photos.storage import PhotoStorage, photo_key, storage_for, thumbnail_key
from rpma.domains.streams.service import StreamService
from rpma.domains.tasks.history import sortable_id

log = logging.getLogger(__name__)

EVENT_TYPE: Final = "photo_updated"
THUMBNAIL_MIME: Final = "image/jpeg"
# Base64 carries 3 bytes in 4 characters: longer text cannot decode to 20 MB or less.
_MAX_BASE64_CHARS: Final = -(-imaging.MAX_PHOTO_BYTES // 3) * 4
_UPDATABLE: Final = ("notes", "category", "zone")

AfterCommit = Callable[[Callable[[], Any]], None]


@dataclass(frozen=True)
class _Prepared:
    """One verified photo, ready to store."""

    item: PhotoUploadItem
    data: bytes
    image: imaging.InspectedImage


class PhotoService:
    def __init__(
        self,
        db: Session,
        services: Services,
        actor: Principal,
        *,
        after_commit: AfterCommit,
        interventions: InterventionService,
        storage: PhotoStorage | None = None,
        on_rollback: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.on_rollback = on_rollback
        self.db = db
        self.services = services
        self.actor = actor
        self.after_commit = after_commit
        self.interventions = interventions
        self.storage = storage if storage is not None else storage_for(services.settings)
        self.photos = PhotoRepository(db)

    @classmethod
    def from_context(cls, ctx: CommandContext, storage: PhotoStorage | None = None) -> PhotoService:
        return cls(
            ctx.db,
            ctx.services,
            ctx.user,
            after_commit=ctx.after_commit,
            interventions=InterventionService.from_context(ctx),
            storage=storage,
            on_rollback=ctx.on_rollback,
        )

    # Reading --------------------------------------------------------------------------------
    def list_for(
        self, intervention_id: str, step_number: int | None, photo_type: str | None
    ) -> list[Photo]:
        intervention = self._intervention(intervention_id, write=False)
        rows = self.photos.for_intervention(
            intervention.id, step_number=step_number, photo_type=photo_type
        )
        return [Photo.of(row) for row in rows]

    def get(self, photo_id: str, variant: str) -> PhotoContent:
        """The metadata, and the bytes (base64) of the thumbnail or the original."""
        row = self._row(photo_id, write=False)
        photo = Photo.of(row)
        if variant == "metadata":
            return PhotoContent(photo=photo, variant="metadata")
        if variant == "thumbnail" and row.thumbnail_key is not None:
            key, mime_type = row.thumbnail_key, THUMBNAIL_MIME
        else:  # "full" (or, should a thumbnail ever be missing, the original)
            key, mime_type = row.storage_key, row.mime_type
        try:
            data = self.storage.get(key)
        except FileNotFoundError:
            log.error("photo %s: file %s is missing from storage", row.id, variant)
            raise IoError(message=f"The photo's {variant} file is missing from storage") from None
        return PhotoContent(
            photo=photo,
            variant="thumbnail" if variant == "thumbnail" else "full",
            mime_type=mime_type,
            data=base64.b64encode(data).decode("ascii"),
        )

    # Writing --------------------------------------------------------------------------------
    def upload(self, req: PhotoUploadRequest) -> list[Photo]:
        intervention = self._intervention(req.intervention_id, write=True)
        step_number = req.step_number
        self._check_room(intervention, step_number, len(req.photos))
        now = clock.now_ms()
        for index, item in enumerate(req.photos):
            if item.gps is not None:
                self._check_gps(item, index, now)
        streams = StreamService(self.db, self.services, self.actor, after_commit=self.after_commit)
        prepared: list[_Prepared] = []
        for index, item in enumerate(req.photos):
            data = self._bytes(item, index, streams)
            prepared.append(_Prepared(item, data, self._inspect(data, index)))
        # Everything is verified: from here on, files are written, and removed again if
        # the command fails before it returns.
        written: list[str] = []
        if self.on_rollback is not None:
            # Also when the commit itself fails, after this method has returned.
            self.on_rollback(lambda: self._remove(list(written)))
        try:
            rows = [self._store(intervention.id, step_number, p, now, written) for p in prepared]
            self.photos.add_all(rows)
            self._recount(intervention.id, step_number)
            for item in req.photos:
                if item.stream_id is not None:
                    streams.discard(item.stream_id)
        except BaseException:
            self._remove(written)
            raise
        for row in rows:
            self._publish(row, "uploaded")
        return [Photo.of(row) for row in rows]

    def update(self, req: PhotoUpdateRequest) -> Photo:
        row = self._row(req.id, write=True, lock=True)
        given = {name: getattr(req, name) for name in req.model_fields_set if name in _UPDATABLE}
        if "category" in given and given["category"] is None:
            raise ValidationFailed(
                message="category: may not be null",
                fields=[{"field": "category", "message": "may not be null"}],
            )
        changes = {name: value for name, value in given.items() if getattr(row, name) != value}
        if changes:
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = clock.now_ms()
            row.updated_by = self.actor.user_id
            self.db.flush()
            self._publish(row, "updated")
        return Photo.of(row)

    def delete(self, photo_id: str) -> int:
        """Removes the row now and the files once the deletion has committed (so a
        failed call keeps both); answers the step's photo count afterwards."""
        row = self._row(photo_id, write=True, lock=True)
        keys = [key for key in (row.storage_key, row.thumbnail_key) if key]
        self.photos.delete(row)
        count = self._recount(row.intervention_id, row.step_number)
        storage = self.storage
        self.after_commit(lambda: self._remove(keys, storage))
        self._publish(row, "deleted")
        return count

    # Rules ------------------------------------------------------------------------------------
    def _intervention(self, intervention_id: str, *, write: bool) -> Intervention:
        return self.interventions.get_for_photos(intervention_id, self.actor, write=write)

    def _check_room(self, intervention: Intervention, step_number: int, adding: int) -> None:
        step = self.interventions.get_step(intervention.id, step_number)
        existing = self.photos.count_for_step(intervention.id, step_number)
        allowed = step.max_photos_allowed
        if existing + adding > allowed:
            raise ValidationFailed(
                message=f"Step {step_number} takes at most {allowed} photos; it has "
                f"{existing} and {adding} more would make {existing + adding}",
                step_number=step_number,
                max_photos_allowed=allowed,
                photo_count=existing,
                adding=adding,
            )

    @staticmethod
    def _check_gps(item: PhotoUploadItem, index: int, now_ms: int) -> None:
        gps = item.gps
        assert gps is not None
        try:
            validate_gps_coordinates(gps.latitude, gps.longitude)
            validate_gps_accuracy(gps.accuracy)
            validate_gps_freshness(gps.timestamp, now_ms)
        except FieldValidationError as exc:
            field = f"photos.{index}.gps"
            raise ValidationFailed(
                exc.code,
                f"{field}: {exc.message}",
                fields=[{"field": field, "message": exc.message}],
            ) from None

    def _bytes(self, item: PhotoUploadItem, index: int, streams: StreamService) -> bytes:
        """The photo's bytes, its size checked before they are decoded (or read)."""
        field = f"photos.{index}"
        if item.stream_id is not None:
            with streams.open_completed(item.stream_id) as payload:
                data = payload.read(imaging.MAX_PHOTO_BYTES + 1)
                if len(data) > imaging.MAX_PHOTO_BYTES:
                    payload.seek(0, 2)
                    self._too_large(payload.tell(), f"{field}.stream_id")
            return data
        raw = item.data
        if isinstance(raw, bytes):  # MessagePack
            self._check_size(len(raw), f"{field}.data")
            return raw
        assert raw is not None
        if len(raw) > _MAX_BASE64_CHARS:
            self._too_large(len(raw) * 3 // 4, f"{field}.data")
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(
                message=f"{field}.data: not valid base64",
                fields=[{"field": f"{field}.data", "message": "not valid base64"}],
            ) from None
        self._check_size(len(data), f"{field}.data")
        return data

    def _check_size(self, size: int, field: str) -> None:
        if size > imaging.MAX_PHOTO_BYTES:
            self._too_large(size, field)
        if size == 0:
            raise ValidationFailed(
                message=f"{field}: the photo is empty",
                fields=[{"field": field, "message": "empty"}],
            )

    @staticmethod
    def _too_large(size: int, field: str) -> None:
        try:
            imaging.check_size(size)
        except imaging.ImageRejected as exc:
            raise _rejected(exc, field) from None

    @staticmethod
    def _inspect(data: bytes, index: int) -> imaging.InspectedImage:
        try:
            return imaging.inspect_image(data)
        except imaging.ImageRejected as exc:
            raise _rejected(exc, f"photos.{index}") from None

    def _store(
        self,
        intervention_id: str,
        step_number: int,
        prepared: _Prepared,
        now: int,
        written: list[str],
    ) -> PhotoRow:
        item, image = prepared.item, prepared.image
        photo_id = sortable_id()  # a UUIDv7: a call's photos list in the order sent
        key = photo_key(intervention_id, photo_id, image.extension)
        thumb = thumbnail_key(intervention_id, photo_id)
        written.append(key)
        self.storage.put(key, prepared.data)
        written.append(thumb)
        self.storage.put(thumb, image.thumbnail)
        gps = _gps_of(item, image)
        return PhotoRow(
            id=photo_id,
            intervention_id=intervention_id,
            step_number=step_number,
            photo_type=item.photo_type,
            category=item.category,
            zone=item.zone,
            file_name=item.file_name,
            mime_type=image.mime_type,
            size_bytes=image.size,
            width=image.width,
            height=image.height,
            sha256=image.sha256,
            captured_at=image.captured_at,
            latitude=gps.latitude if gps else None,
            longitude=gps.longitude if gps else None,
            accuracy=gps.accuracy if gps else None,
            notes=item.notes,
            storage_key=key,
            thumbnail_key=thumb,
            created_at=now,
            updated_at=now,
            created_by=self.actor.user_id,
            updated_by=self.actor.user_id,
        )

    def _recount(self, intervention_id: str, step_number: int) -> int:
        count = self.photos.count_for_step(intervention_id, step_number)
        self.interventions.set_photo_count(intervention_id, step_number, count)
        return count

    def _row(self, photo_id: str, *, write: bool, lock: bool = False) -> PhotoRow:
        row = self.photos.get(photo_id, lock=lock)
        if row is None:
            raise NotFound("NOT_FOUND_PHOTO", "Photo not found", photo_id=photo_id)
        # Access to a photo is access to its intervention (raises for anyone else).
        self._intervention(row.intervention_id, write=write)
        return row

    def _remove(self, keys: list[str], storage: PhotoStorage | None = None) -> None:
        target = storage or self.storage
        for key in keys:
            try:
                target.delete(key)
            except Exception:  # keep removing the others; report this one
                log.exception("could not remove photo file %s", key)

    def _publish(self, row: PhotoRow, action: str) -> None:
        event = Event(
            type=EVENT_TYPE,
            data={
                "photo_id": row.id,
                "intervention_id": row.intervention_id,
                "step_number": row.step_number,
                "action": action,
            },
        )
        events = self.services.events
        self.after_commit(lambda: events.publish(event))


def _rejected(exc: imaging.ImageRejected, field: str) -> ValidationFailed:
    return ValidationFailed(
        message=f"{field}: {exc.message}",
        field=field,
        reason=exc.reason,
        **exc.details,
    )


def _gps_of(item: PhotoUploadItem, image: imaging.InspectedImage) -> PhotoGps | None:
    """The request's fix (already checked) wins; else the one in the EXIF."""
    if item.gps is not None:
        return PhotoGps(
            latitude=item.gps.latitude, longitude=item.gps.longitude, accuracy=item.gps.accuracy
        )
    if image.gps is not None:
        return PhotoGps(
            latitude=image.gps.latitude,
            longitude=image.gps.longitude,
            accuracy=image.gps.accuracy,
        )
    return None
