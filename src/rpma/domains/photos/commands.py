"""photo_upload, photo_list, photo_get, photo_update, photo_delete (issue 5 item 4;
CONTRACT.md section 8). Thin: validate, call the service, answer."""

from __future__ import annotations

from rpma.core.commands import RateClass, command
from rpma.core.context import CommandContext
from rpma.core.permissions import SIGNED_IN
from rpma.domains.photos.schemas import (
    PhotoContent,
    PhotoDeleted,
    PhotoGetRequest,
    PhotoIdRequest,
    PhotoListRequest,
    PhotoResponse,
    PhotosResponse,
    PhotoUpdateRequest,
    PhotoUploadRequest,
)
from rpma.domains.photos.service import PhotoService

_SESSION_ERRORS = ("AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED")
_WRITE_ERRORS = (
    "VALIDATION_ERROR",
    "NOT_FOUND_PHOTO",
    "NOT_FOUND_INTERVENTION",
    "INTERVENTION_INVALID_STATE",
    *_SESSION_ERRORS,
)


@command(
    "photo_upload",
    request=PhotoUploadRequest,
    response=PhotosResponse,
    permission="photo.upload",
    limit=RateClass.UPLOAD,
    errors=[
        "VALIDATION_ERROR",
        "NOT_FOUND",
        "NOT_FOUND_INTERVENTION",
        "INTERVENTION_INVALID_STATE",
        "INTERVENTION_STEP_NOT_FOUND",
        "RATE_LIMIT",
        *_SESSION_ERRORS,
    ],
)
def photo_upload(ctx: CommandContext, req: PhotoUploadRequest) -> PhotosResponse:
    """Add 1 to 20 photos to one step of an active intervention: `{intervention_id,
    step_number, photos: [{file_name, mime_type, data | stream_id, photo_type (before |
    during | after), category? (vehicle_condition | defect | step_progress (default) |
    qc_check | final_result | other), zone?, notes?, gps?: {latitude, longitude,
    accuracy, timestamp}}]}`. `data` is base64 in JSON, raw bytes in MessagePack;
    `stream_id` names a complete stream of the caller's (removed once used). Each photo
    is checked from its bytes, whatever its name or claimed `mime_type`: a JPEG, PNG
    or WEBP (HEIC is not supported on this server), at most 20 MB and 40 megapixels,
    not damaged or truncated. The answer's `mime_type` is the sniffed one; `width` and
    `height` follow the EXIF orientation; `captured_at` and, without a request `gps`,
    the position come from the EXIF. A request `gps` must be a valid position with an
    accuracy of at most 100 m, taken in the last 10 minutes. The step must exist and
    stay within its `max_photos_allowed`. A technician uploads only to the
    interventions of tasks assigned to them. Any refusal stores nothing. One call
    counts once against the upload rate limit. Answers `{photos: [Photo]}`."""
    return PhotosResponse(photos=PhotoService.from_context(ctx).upload(req))


@command(
    "photo_list",
    request=PhotoListRequest,
    response=PhotosResponse,
    permission=SIGNED_IN,
    writes=False,
    errors=["VALIDATION_ERROR", "NOT_FOUND_INTERVENTION", *_SESSION_ERRORS],
)
def photo_list(ctx: CommandContext, req: PhotoListRequest) -> PhotosResponse:
    """An intervention's photos, by step then oldest first, optionally only one
    `step_number` and/or one `photo_type`. Answers `{photos: [Photo]}`."""
    service = PhotoService.from_context(ctx)
    return PhotosResponse(
        photos=service.list_for(req.intervention_id, req.step_number, req.photo_type)
    )


@command(
    "photo_get",
    request=PhotoGetRequest,
    response=PhotoContent,
    permission=SIGNED_IN,
    writes=False,
    errors=[
        "VALIDATION_ERROR",
        "NOT_FOUND_PHOTO",
        "NOT_FOUND_INTERVENTION",
        "IO_ERROR",
        *_SESSION_ERRORS,
    ],
)
def photo_get(ctx: CommandContext, req: PhotoGetRequest) -> PhotoContent:
    """One photo: `variant` `metadata` (default) answers `{photo, variant}`;
    `thumbnail` (a JPEG of at most 320 px, upright, without EXIF) or `full` (the
    original bytes) add `mime_type` and `data`, base64 (as `get_stream_data` answers
    its payload, in JSON and MessagePack alike)."""
    return PhotoService.from_context(ctx).get(req.id, req.variant)


@command(
    "photo_update",
    request=PhotoUpdateRequest,
    response=PhotoResponse,
    permission="photo.upload",
    errors=list(_WRITE_ERRORS),
)
def photo_update(ctx: CommandContext, req: PhotoUpdateRequest) -> PhotoResponse:
    """Change a photo's `notes`, `category` or `zone` (only the fields given; `null`
    clears `notes` or `zone`). Same writers as `photo_upload`; the intervention must be
    active. Answers `{photo}`."""
    return PhotoResponse(photo=PhotoService.from_context(ctx).update(req))


@command(
    "photo_delete",
    request=PhotoIdRequest,
    response=PhotoDeleted,
    permission="photo.upload",
    errors=list(_WRITE_ERRORS),
)
def photo_delete(ctx: CommandContext, req: PhotoIdRequest) -> PhotoDeleted:
    """Delete a photo and its files; the step's `photo_count` is counted again. Same
    writers as `photo_upload`; the intervention must be active. Answers `{id,
    deleted, step_photo_count}`."""
    count = PhotoService.from_context(ctx).delete(req.id)
    return PhotoDeleted(id=req.id, deleted=True, step_photo_count=count)
