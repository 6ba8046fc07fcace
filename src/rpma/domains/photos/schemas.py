"""Photos on the wire (CONTRACT.md section 8, "photo_upload"; DOMAIN.md "Photo")."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from rpma.core.commands import IpcRequest
from rpma.core.validation import invalid, text_field
from rpma.domains.photos.models import Photo as PhotoRow

PhotoType = Literal["before", "during", "after"]
PhotoCategory = Literal[
    "vehicle_condition", "defect", "step_progress", "qc_check", "final_result", "other"
]
Variant = Literal["metadata", "thumbnail", "full"]
MAX_PHOTOS_PER_CALL: Final = 20
NOTES_MAX: Final = 2000


FileName = Annotated[str, text_field(255, "file_name", required=True)]
Zone = Annotated[str, text_field(64, "zone")]
Notes = Annotated[str, text_field(NOTES_MAX, "notes")]
PhotoId = Annotated[str, Field(min_length=1, max_length=64)]


class GpsFix(IpcRequest):
    """A position from the device: degrees, metres, Unix ms."""

    latitude: float
    longitude: float
    accuracy: float
    timestamp: int


class PhotoUploadItem(IpcRequest):
    """One photo: its bytes in ``data`` (base64 in JSON, raw bytes in MessagePack) or a
    completed stream's ``stream_id``. ``mime_type`` is what the client claims; the
    server sniffs the real format and answers that one."""

    file_name: FileName = Field(max_length=1000)
    mime_type: str | None = Field(default=None, max_length=100)
    data: str | bytes | None = None
    stream_id: str | None = Field(default=None, min_length=1, max_length=64)
    photo_type: PhotoType
    category: PhotoCategory = "step_progress"
    zone: Zone | None = Field(default=None, max_length=1000)
    notes: Notes | None = Field(default=None, max_length=4 * NOTES_MAX)
    gps: GpsFix | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PhotoUploadItem:
        if (self.data is None) == (self.stream_id is None):
            raise invalid("give exactly one of data and stream_id")
        return self


class PhotoUploadRequest(IpcRequest):
    intervention_id: PhotoId
    step_number: int = Field(ge=1, le=1000)
    photos: list[PhotoUploadItem] = Field(min_length=1, max_length=MAX_PHOTOS_PER_CALL)

    @model_validator(mode="after")
    def _streams_once(self) -> PhotoUploadRequest:
        streams = [item.stream_id for item in self.photos if item.stream_id is not None]
        if len(streams) != len(set(streams)):
            raise invalid("each stream_id may be used by one photo only")
        return self


class PhotoListRequest(IpcRequest):
    intervention_id: PhotoId
    step_number: int | None = Field(default=None, ge=1, le=1000)
    photo_type: PhotoType | None = None


class PhotoGetRequest(IpcRequest):
    id: PhotoId
    variant: Variant = "metadata"


class PhotoUpdateRequest(IpcRequest):
    """Only the fields given change; ``null`` clears ``notes`` or ``zone``."""

    id: PhotoId
    notes: Notes | None = Field(default=None, max_length=4 * NOTES_MAX)
    category: PhotoCategory | None = None
    zone: Zone | None = Field(default=None, max_length=1000)


class PhotoIdRequest(IpcRequest):
    id: PhotoId


# Answers -----------------------------------------------------------------------------------
class PhotoGps(BaseModel):
    latitude: float
    longitude: float
    accuracy: float | None


class Photo(BaseModel):
    """A stored photo. ``mime_type`` is the sniffed type, which may differ from what the
    client claimed (a PNG named ``.jpg`` is ``image/png``); ``width`` and ``height``
    are as displayed, after the EXIF orientation; ``captured_at`` is Unix ms from the
    EXIF capture time; ``storage_url`` is informational (fetch with ``photo_get``)."""

    id: str
    intervention_id: str
    step_number: int
    photo_type: str
    category: str
    zone: str | None
    file_name: str
    mime_type: str
    size: int
    width: int
    height: int
    sha256: str
    captured_at: int | None
    gps: PhotoGps | None
    notes: str | None
    storage_url: str
    created_at: int
    updated_at: int
    created_by: str | None

    @classmethod
    def of(cls, row: PhotoRow) -> Photo:
        gps = None
        if row.latitude is not None and row.longitude is not None:
            gps = PhotoGps(latitude=row.latitude, longitude=row.longitude, accuracy=row.accuracy)
        return cls(
            id=row.id,
            intervention_id=row.intervention_id,
            step_number=row.step_number,
            photo_type=row.photo_type,
            category=row.category,
            zone=row.zone,
            file_name=row.file_name,
            mime_type=row.mime_type,
            size=row.size_bytes,
            width=row.width,
            height=row.height,
            sha256=row.sha256,
            captured_at=row.captured_at,
            gps=gps,
            notes=row.notes,
            storage_url=f"/photos/{row.id}",
            created_at=row.created_at,
            updated_at=row.updated_at,
            created_by=row.created_by,
        )


class PhotosResponse(BaseModel):
    photos: list[Photo]


class PhotoResponse(BaseModel):
    photo: Photo


class PhotoContent(BaseModel):
    """``photo_get``: the metadata, and for ``thumbnail`` or ``full`` the bytes,
    base64, in ``data`` with their ``mime_type`` (the thumbnail is always a JPEG).
    Keys without a value are left out."""

    photo: Photo
    variant: Variant
    mime_type: str | None = None
    data: str | None = Field(default=None, description="the file's bytes, base64")

    # No return annotation on purpose (see ClientResponse): the OpenAPI document would
    # lose the fields.
    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}


class PhotoDeleted(BaseModel):
    id: str
    deleted: bool
    step_photo_count: int
