"""Photos of an intervention's steps (issue 5 item 4; CONTRACT.md section 8).

client.photos.upload(intervention_id, 1, [
    photo(open("hood.jpg", "rb").read(), "hood.jpg", "before", zone="hood"),
])
thumb = client.photos.get(photo_id, "thumbnail")   # {photo, variant, mime_type, data}
jpeg = base64.b64decode(thumb["data"])
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from ._base import Namespace, R, fields

__all__ = ["PhotosApi", "photo"]


def photo(
    data: bytes | None,
    file_name: str,
    photo_type: str,
    *,
    mime_type: str | None = None,
    stream_id: str | None = None,
    category: str | None = None,
    zone: str | None = None,
    notes: str | None = None,
    gps: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of `photo_upload`'s `photos`: the bytes, or the `stream_id` of a
    completed stream (then `data` is None). `mime_type` is only what you claim: the
    server sniffs the real one."""
    return fields(
        file_name=file_name,
        photo_type=photo_type,
        data=data,
        stream_id=stream_id,
        mime_type=mime_type,
        category=category,
        zone=zone,
        notes=notes,
        gps=dict(gps) if gps is not None else None,
    )


class PhotosApi(Namespace[R]):
    def upload(
        self, intervention_id: str, step_number: int, photos: Sequence[Mapping[str, Any]]
    ) -> R:
        """`photo_upload`, 1 to 20 photos (build them with `photo(...)`). Bytes in
        `data` travel raw over MessagePack and base64 over JSON; a `str` is sent as it
        is (already base64). Answers `{photos: [Photo]}`."""
        return self._call(
            "photo_upload",
            {
                "intervention_id": intervention_id,
                "step_number": step_number,
                "photos": [self._encoded(item) for item in photos],
            },
        )

    def list(
        self,
        intervention_id: str,
        step_number: int | None = None,
        photo_type: str | None = None,
    ) -> R:
        """Answers `{photos: [Photo]}`."""
        return self._call(
            "photo_list",
            {
                "intervention_id": intervention_id,
                **fields(step_number=step_number, photo_type=photo_type),
            },
        )

    def get(self, photo_id: str, variant: str = "metadata") -> R:
        """`variant`: `metadata`, `thumbnail` or `full`; the last two add `mime_type`
        and `data` (base64)."""
        return self._call("photo_get", {"id": photo_id, "variant": variant})

    def update(self, photo_id: str, **changes: Any) -> R:
        """`notes`, `category`, `zone` (None clears `notes` or `zone`). Answers `{photo}`."""
        return self._call("photo_update", {**changes, "id": photo_id})

    def delete(self, photo_id: str) -> R:
        """Answers `{id, deleted, step_photo_count}`."""
        return self._call("photo_delete", {"id": photo_id})

    def _encoded(self, item: Mapping[str, Any]) -> dict[str, Any]:
        entry = dict(item)
        data = entry.get("data")
        if isinstance(data, bytes | bytearray | memoryview):
            raw = bytes(data)
            msgpack = getattr(self._client, "encoding", "json") == "msgpack"
            entry["data"] = raw if msgpack else base64.b64encode(raw).decode("ascii")
        return entry
