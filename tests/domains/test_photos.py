"""Photos through the real HTTP server (and once over MessagePack with raw bytes), with
real images made by Pillow here: EXIF orientation, capture time and GPS read; a PNG
named .jpg stored as a PNG; every bad input refused precisely (truncated, a
decompression bomb, 45 MP, 25 MB, HEIC, bad GPS, a full step, another's intervention)
with nothing changed and NO FILE LEFT BEHIND; the thumbnail; upload from a stream;
delete and the step's photo count; the storage and imaging units on their own."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select, update

from rpma.client import IpcClient, IpcError
from rpma.client.api.photos import photo
from rpma.client.api.streams import chunks
from rpma.core.clock import clock, to_ms
from rpma.core.events import Event
from rpma.domains.interventions.models import InterventionStep
from rpma.domains.interventions.service import InterventionService
from rpma.domains.photos import imaging
from rpma.domains.photos.models import Photo
from rpma.domains.photos.storage import LocalPhotoStorage
from tests.conftest import LiveServer, make_user
from tests.helpers import count, refused

TAKEN = "2024:01:15 09:30:00"
TAKEN_MS = to_ms(datetime(2024, 1, 15, 9, 30, tzinfo=UTC))
# The Eiffel tower: 48°51'29.6"N 2°17'40.2"E.
EXIF_LAT, EXIF_LON = 48 + 51 / 60 + 29.6 / 3600, 2 + 17 / 60 + 40.2 / 3600


# Images -----------------------------------------------------------------------------------------
def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Random pixels: they do not compress, so a cut lands in the image data."""
    bands = len(mode)
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * bands))


def jpeg(
    size: tuple[int, int] = (400, 200),
    *,
    orientation: int | None = 6,
    taken: str | None = TAKEN,
    gps: tuple[float, float] | None = (EXIF_LAT, EXIF_LON),
    image: Image.Image | None = None,
) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if gps is not None:
        lat, lon = gps
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        info[ExifTags.GPS.GPSLatitude] = _dms(abs(lat))
        info[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        info[ExifTags.GPS.GPSLongitude] = _dms(abs(lon))
    out = io.BytesIO()
    (image or Image.new("RGB", size, (200, 30, 30))).save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4)


def encoded(fmt: str, size: tuple[int, int] = (640, 480), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "navy").save(out, fmt)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    whole = jpeg(image=noise((600, 400)), orientation=None, taken=None, gps=None)
    return whole[: len(whole) // 2]


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width``x``height`` (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def heic() -> bytes:
    """The start of an iPhone photo: an ISO-BMFF ``ftyp`` box of brand ``heic``."""
    box = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", len(box) + 4) + box + b"\x00" * 64


def dims(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


# Fixtures and helpers ---------------------------------------------------------------------------
@dataclass
class Shop:
    server: LiveServer
    admin: IpcClient
    tech: IpcClient
    other: IpcClient  # a technician the task is not assigned to
    viewer: IpcClient
    tech_id: str
    intervention_id: str
    steps: list[dict[str, Any]]

    @property
    def root(self) -> Path:
        return self.server.services.settings.data_dir / "photos"

    def files(self) -> list[str]:
        """Every file under the photos folder, temporary ones included."""
        if not self.root.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def upload(self, *photos: dict[str, Any], step: int = 1, client: IpcClient | None = None,
               intervention_id: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
        answer = (client or self.tech).photos.upload(
            intervention_id or self.intervention_id, step, list(photos)
        )
        return list(answer["photos"])

    def refused(self, call: Callable[[], Any], code: str, status: int = 400) -> IpcError:
        """Refused with ``code``, nothing changed in the database, no file added."""
        before = self.files()
        error = refused(self.server.services, call, code, status)
        assert self.files() == before
        return error

    def photo_count(self, step: int = 1) -> int:
        with self.server.services.db.session(write=False) as db:
            row = db.scalar(
                select(InterventionStep).where(
                    InterventionStep.intervention_id == self.intervention_id,
                    InterventionStep.step_number == step,
                )
            )
            assert row is not None
            return row.photo_count


def me(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])


def start_intervention(admin: IpcClient, tech: IpcClient, tech_id: str) -> dict[str, Any]:
    task = admin.tasks.create(
        {"vehicle_plate": "AB-123-CD", "title": "Hood film", "technician_id": tech_id}
    )["task"]
    return dict(
        tech.call("intervention_start", {"task_id": task["id"], "intervention_type": "ppf"})
    )


@pytest.fixture
def shop(server: LiveServer, admin: IpcClient) -> Iterator[Shop]:
    root = server.services.settings.data_dir / "photos"
    shutil.rmtree(root, ignore_errors=True)  # the server outlives one test
    tech = make_user(admin, server, "technician")
    other = make_user(admin, server, "technician")
    viewer = make_user(admin, server, "viewer")
    tech_id = me(tech)
    started = start_intervention(admin, tech, tech_id)
    yield Shop(server, admin, tech, other, viewer, tech_id, started["intervention"]["id"],
               started["steps"])  # fmt: skip
    for client in (tech, other, viewer):
        client.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def events(server: LiveServer) -> Iterator[list[Event]]:
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    yield seen
    unsubscribe()


def now_fix(**changes: Any) -> dict[str, Any]:
    return {"latitude": 45.764, "longitude": 4.8357, "accuracy": 8.5,
            "timestamp": clock.now_ms(), **changes}  # fmt: skip


# Uploading ----------------------------------------------------------------------------------------
def test_upload_one_jpeg_reads_its_exif(shop: Shop, events: list[Event]) -> None:
    data = jpeg()
    [answer] = shop.upload(photo(data, "hood.jpeg", "before", mime_type="image/jpeg",
                                 zone="hood", notes="  scratch on the left  "))  # fmt: skip
    photo_id = answer["id"]
    assert answer == {
        "id": photo_id,
        "intervention_id": shop.intervention_id,
        "step_number": 1,
        "photo_type": "before",
        "category": "step_progress",
        "zone": "hood",
        "file_name": "hood.jpeg",
        "mime_type": "image/jpeg",
        "size": len(data),
        "width": 200,  # orientation 6: the 400x200 picture stands upright
        "height": 400,
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_at": TAKEN_MS,
        "gps": {
            "latitude": pytest.approx(EXIF_LAT, abs=1e-6),
            "longitude": pytest.approx(EXIF_LON, abs=1e-6),
            "accuracy": None,
        },
        "notes": "scratch on the left",
        "storage_url": f"/photos/{photo_id}",
        "created_at": answer["created_at"],
        "updated_at": answer["created_at"],
        "created_by": shop.tech_id,
    }
    iid = shop.intervention_id
    assert shop.files() == [f"{iid}/{photo_id}.jpg", f"{iid}/{photo_id}.thumb.jpg"]
    assert (shop.root / iid / f"{photo_id}.jpg").read_bytes() == data
    assert shop.photo_count() == 1
    assert (
        shop.tech.call("intervention_get_step", {"intervention_id": iid, "step_number": 1})[
            "photo_count"
        ]
        == 1
    )
    # The full image is the original bytes; the thumbnail an upright JPEG of ≤ 320 px.
    full = shop.viewer.photos.get(photo_id, "full")
    assert (full["variant"], full["mime_type"]) == ("full", "image/jpeg")
    assert base64.b64decode(full["data"]) == data
    thumb = shop.viewer.photos.get(photo_id, "thumbnail")
    assert (thumb["variant"], thumb["mime_type"]) == ("thumbnail", "image/jpeg")
    thumbnail = base64.b64decode(thumb["data"])
    assert dims(thumbnail) == (160, 320)
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == "JPEG"
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # no position in previews
    assert shop.viewer.photos.get(photo_id) == {"photo": answer, "variant": "metadata"}
    assert [(e.type, e.data) for e in events if e.type == "photo_updated"] == [
        ("photo_updated", {"photo_id": photo_id, "intervention_id": iid, "step_number": 1,
                           "action": "uploaded"}),
    ]  # fmt: skip


def test_upload_several_formats_in_one_call(shop: Shop) -> None:
    fix = now_fix()
    sent = [
        photo(jpeg(orientation=None, taken=None, gps=None), "a.jpg", "before", gps=fix,
              category="vehicle_condition"),
        photo(encoded("PNG", (300, 100), "RGBA"), "b.png", "during", category="defect"),
        photo(encoded("WEBP", (1000, 500)), "c.webp", "after", category="final_result"),
    ]  # fmt: skip
    answer = shop.upload(*sent)
    assert [(p["file_name"], p["mime_type"], p["width"], p["height"], p["photo_type"],
             p["category"], p["captured_at"]) for p in answer] == [
        ("a.jpg", "image/jpeg", 400, 200, "before", "vehicle_condition", None),
        ("b.png", "image/png", 300, 100, "during", "defect", None),
        ("c.webp", "image/webp", 1000, 500, "after", "final_result", None),
    ]  # fmt: skip
    assert answer[0]["gps"] == {"latitude": 45.764, "longitude": 4.8357, "accuracy": 8.5}
    assert answer[1]["gps"] is None
    assert shop.photo_count() == 3
    assert len(shop.files()) == 6
    thumb = base64.b64decode(shop.tech.photos.get(answer[2]["id"], "thumbnail")["data"])
    assert dims(thumb) == (320, 160)
    listed = shop.viewer.photos.list(shop.intervention_id)["photos"]
    assert [p["id"] for p in listed] == [p["id"] for p in answer]
    during = shop.other.photos.list(shop.intervention_id, photo_type="during")["photos"]
    assert [p["file_name"] for p in during] == ["b.png"]
    assert shop.tech.photos.list(shop.intervention_id, step_number=2)["photos"] == []


def test_request_gps_wins_over_exif(shop: Shop) -> None:
    [answer] = shop.upload(photo(jpeg(), "hood.jpg", "before", gps=now_fix(accuracy=100)))
    assert answer["gps"] == {"latitude": 45.764, "longitude": 4.8357, "accuracy": 100.0}
    assert answer["captured_at"] == TAKEN_MS


def test_png_named_jpg_is_stored_as_png(shop: Shop) -> None:
    data = encoded("PNG", (50, 40))
    [answer] = shop.upload(photo(data, "looks-like.jpg", "before", mime_type="image/jpeg"))
    assert (answer["file_name"], answer["mime_type"]) == ("looks-like.jpg", "image/png")
    # The stored name is the server's, with the sniffed extension.
    assert f"{shop.intervention_id}/{answer['id']}.png" in shop.files()
    assert shop.tech.photos.get(answer["id"], "full")["mime_type"] == "image/png"


def test_messagepack_carries_raw_bytes(shop: Shop) -> None:
    data = jpeg(gps=None)
    with shop.server.client(token=shop.tech.token, encoding="msgpack") as packed:
        answer = packed.photos.upload(shop.intervention_id, 2, [photo(data, "m.jpg", "during")])
        [stored] = answer["photos"]
        assert stored["sha256"] == hashlib.sha256(data).hexdigest()
        full = packed.photos.get(stored["id"], "full")
        assert base64.b64decode(full["data"]) == data
    assert shop.photo_count(2) == 1


def test_upload_from_a_stream(shop: Shop) -> None:
    data = jpeg(image=noise((800, 600)), gps=None)
    shop.tech.streams.start("cam-1", len(data), "image/jpeg", chunk_size=64 * 1024,
                            checksum=hashlib.sha256(data).hexdigest())  # fmt: skip
    for index, part in enumerate(chunks(data, 64 * 1024)):
        shop.tech.streams.send_chunk("cam-1", index, part)
    [answer] = shop.upload(photo(None, "big.jpg", "after", stream_id="cam-1"))
    assert (answer["size"], answer["width"], answer["height"]) == (len(data), 600, 800)
    assert (shop.root / shop.intervention_id / f"{answer['id']}.jpg").read_bytes() == data
    # The stream was used up; somebody else's stream is not found.
    shop.refused(lambda: shop.tech.streams.get_data("cam-1"), "NOT_FOUND", 404)
    shop.tech.streams.start("cam-2", 4, "image/jpeg")
    shop.tech.streams.send_chunk("cam-2", 0, b"\xff\xd8\xff\xe0")
    twice = [photo(None, f"{n}.jpg", "after", stream_id="cam-2") for n in range(2)]
    error = shop.refused(lambda: shop.upload(*twice), "VALIDATION_ERROR")
    assert "each stream_id may be used by one photo only" in error.message
    damaged = shop.refused(lambda: shop.upload(twice[0]), "VALIDATION_ERROR")
    assert damaged.message == "photos.0: The image is damaged or truncated"
    shop.tech.streams.start("cam-3", 8, "image/jpeg")  # never completed
    shop.refused(
        lambda: shop.upload(photo(None, "x.jpg", "after", stream_id="cam-3")), "VALIDATION_ERROR"
    )
    shop.admin.streams.start("adm-1", len(data), "image/jpeg")
    shop.refused(
        lambda: shop.upload(photo(None, "x.jpg", "after", stream_id="adm-1")), "NOT_FOUND", 404
    )


# Refusals: nothing stored, no file left behind --------------------------------------------------
BAD_IMAGES: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "truncated_jpeg": (truncated_jpeg, "damaged", "The image is damaged or truncated"),
    "decompression_bomb": (
        partial(png_claiming, 50_000, 50_000),
        "too_many_pixels",
        "The image has too many pixels; the limit is 40 megapixels",
    ),
    "45_megapixels": (
        partial(png_claiming, 9000, 5000),
        "too_many_pixels",
        "The image is 9000x5000 (45.0 megapixels); the limit is 40 megapixels",
    ),
    "heic": (heic, "heic_unsupported", imaging.HEIC_MESSAGE),
    "gif": (
        partial(encoded, "GIF", (20, 20), "P"),
        "unsupported_format",
        "GIF images are not accepted; upload a JPEG, PNG or WEBP photo",
    ),
    "text": (
        lambda: b"not an image at all",
        "unsupported_format",
        "The file is not a JPEG, PNG or WEBP image",
    ),
}


@pytest.mark.parametrize("case", list(BAD_IMAGES))
def test_bad_images_are_refused(shop: Shop, case: str) -> None:
    make, reason, message = BAD_IMAGES[case]
    shop.upload(photo(jpeg(), "kept.jpg", "before"))
    files = shop.files()
    # A good photo first: the whole call is refused for the bad second one.
    call = partial(shop.upload, photo(jpeg(), "good.jpg", "before"),
                   photo(make(), "bad.jpg", "before", mime_type="image/jpeg"))  # fmt: skip
    error = shop.refused(call, "VALIDATION_ERROR")
    assert error.message == f"photos.1: {message}"
    assert error.details is not None
    assert error.details["reason"] == reason
    assert shop.files() == files
    assert shop.photo_count() == 1


def test_a_25_mb_photo_is_refused_before_decoding(shop: Shop) -> None:
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (25 * 1024 * 1024)
    error = shop.refused(lambda: shop.upload(photo(big, "huge.jpg", "before")), "VALIDATION_ERROR")
    assert error.message == "photos.0.data: The photo is 25.0 MB; the limit is 20 MB"
    assert error.details is not None
    assert error.details["reason"] == "too_large"
    with shop.server.client(token=shop.tech.token, encoding="msgpack") as packed:
        call = partial(
            packed.photos.upload, shop.intervention_id, 1, [photo(big, "h.jpg", "before")]
        )
        details = shop.refused(call, "VALIDATION_ERROR").details
        assert details is not None
        assert details["reason"] == "too_large"
    assert shop.files() == []


@pytest.mark.parametrize(
    ("fix", "message"),
    [
        ({"latitude": 91.0}, "Latitude must be a number between -90 and 90 degrees."),
        ({"longitude": -180.5}, "Longitude must be a number between -180 and 180 degrees."),
        ({"accuracy": 150}, "GPS accuracy 150.0m exceeds maximum 100.0m"),
        ({"timestamp_age_minutes": 10.5},
         "GPS location 11 minutes old exceeds maximum 10 minutes"),
        ({"timestamp_age_minutes": -5},
         "GPS location timestamp is in the future; please check the device clock."),
    ],
)  # fmt: skip
def test_request_gps_is_checked(shop: Shop, fix: dict[str, Any], message: str) -> None:
    changes = dict(fix)
    age = changes.pop("timestamp_age_minutes", None)
    if age is not None:
        changes["timestamp"] = clock.now_ms() - int(age * 60_000)
    bad = photo(jpeg(), "a.jpg", "before", gps=now_fix(**changes))
    error = shop.refused(lambda: shop.upload(photo(jpeg(), "ok.jpg", "before"), bad),
                         "VALIDATION_ERROR")  # fmt: skip
    assert error.message == f"photos.1.gps: {message}"


def test_malformed_requests(shop: Shop) -> None:
    good = photo(jpeg(), "a.jpg", "before")
    tech = shop.tech
    shop.refused(lambda: shop.upload(good, step=99), "INTERVENTION_STEP_NOT_FOUND")
    shop.refused(lambda: shop.upload(good, intervention_id=str(uuid.uuid4())),
                 "NOT_FOUND_INTERVENTION", 404)  # fmt: skip
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "data": "@@not base64@@"}, "photos.0.data: not valid base64"),
        ({**good, "photo_type": "sideways"}, "photos.0.photo_type"),
        ({**good, "category": "selfie"}, "photos.0.category"),
        ({**good, "stream_id": "s1"}, "give exactly one of data and stream_id"),
        ({"file_name": "a.jpg", "photo_type": "before"}, "give exactly one of data and stream_id"),
        ({**good, "file_name": "  "}, "file_name is required"),
        ({**good, "data": ""}, "photos.0.data: the photo is empty"),
    ]
    for item, fragment in cases:
        error = shop.refused(lambda item=item: shop.upload(item), "VALIDATION_ERROR")  # type: ignore[misc]
        assert fragment in error.message, (item.keys(), error.message)
    too_many = [photo(jpeg(), f"{i}.jpg", "before") for i in range(21)]
    shop.refused(lambda: tech.photos.upload(shop.intervention_id, 1, too_many), "VALIDATION_ERROR")
    shop.refused(lambda: tech.photos.upload(shop.intervention_id, 1, []), "VALIDATION_ERROR")


def test_a_full_step_takes_no_more(shop: Shop) -> None:
    with shop.server.services.db.session(write=True) as db:
        db.execute(
            update(InterventionStep)
            .where(InterventionStep.intervention_id == shop.intervention_id)
            .values(max_photos_allowed=3)
        )
        db.commit()
    shop.upload(photo(jpeg(), "1.jpg", "before"), photo(jpeg(), "2.jpg", "before"))
    three = [photo(jpeg(), f"{i}.jpg", "during") for i in range(2)]
    error = shop.refused(lambda: shop.upload(*three), "VALIDATION_ERROR")
    assert error.message == ("Step 1 takes at most 3 photos; it has 2 and 2 more would make 4")
    shop.upload(three[0])
    assert shop.photo_count() == 3


def test_who_may_upload(shop: Shop) -> None:
    good = photo(jpeg(), "a.jpg", "before")
    error = shop.refused(lambda: shop.upload(good, client=shop.other), "AUTH_FORBIDDEN", 403)
    assert "assigned to them" in error.message
    shop.refused(lambda: shop.upload(good, client=shop.viewer), "AUTH_FORBIDDEN", 403)
    with shop.server.client() as anonymous:
        shop.refused(lambda: shop.upload(good, client=anonymous), "AUTH_SESSION_INVALID", 401)
    supervisor = make_user(shop.admin, shop.server, "supervisor")
    try:
        assert len(shop.upload(good, client=supervisor)) == 1
    finally:
        supervisor.close()
    assert len(shop.upload(good, client=shop.admin)) == 1
    assert shop.photo_count() == 2


def test_a_closed_intervention_takes_no_photos(shop: Shop) -> None:
    [kept] = shop.upload(photo(jpeg(), "a.jpg", "before"))
    shop.tech.call(
        "intervention_cancel", {"intervention_id": shop.intervention_id, "reason": "customer left"}
    )
    error = shop.refused(lambda: shop.upload(photo(jpeg(), "b.jpg", "before")),
                         "INTERVENTION_INVALID_STATE")  # fmt: skip
    assert error.message == "The intervention is cancelled; its photos can no longer change"
    shop.refused(lambda: shop.tech.photos.delete(kept["id"]), "INTERVENTION_INVALID_STATE")
    shop.refused(lambda: shop.tech.photos.update(kept["id"], notes="late"),
                 "INTERVENTION_INVALID_STATE")  # fmt: skip
    assert [p["id"] for p in shop.viewer.photos.list(shop.intervention_id)["photos"]] == [
        kept["id"]
    ]


def test_files_are_removed_when_the_database_fails(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the disk under the database is full")

    monkeypatch.setattr(InterventionService, "set_photo_count", broken)
    call = partial(
        shop.upload, photo(jpeg(), "a.jpg", "before"), photo(encoded("PNG"), "b.png", "before")
    )
    error = shop.refused(call, "INTERNAL_ERROR", 500)
    assert "disk" not in error.message
    assert shop.files() == []
    assert count(shop.server.services, "photos") == 0


# Changing and deleting --------------------------------------------------------------------------
def test_update_notes_category_zone(shop: Shop, events: list[Event]) -> None:
    [first] = shop.upload(photo(jpeg(), "a.jpg", "before", zone="hood", notes="n"))
    events.clear()
    changed = shop.tech.photos.update(first["id"], notes="  edge lifted ", category="defect")[
        "photo"
    ]
    assert (changed["notes"], changed["category"], changed["zone"]) == (
        "edge lifted",
        "defect",
        "hood",
    )
    cleared = shop.admin.photos.update(first["id"], zone=None, notes=None)["photo"]
    assert (cleared["notes"], cleared["zone"], cleared["category"]) == (None, None, "defect")
    assert [e.data["action"] for e in events] == ["updated", "updated"]
    pid = first["id"]
    shop.refused(lambda: shop.tech.photos.update(pid, category=None), "VALIDATION_ERROR")
    shop.refused(lambda: shop.tech.photos.update(pid, category="selfie"), "VALIDATION_ERROR")
    shop.refused(lambda: shop.other.photos.update(pid, notes="mine"), "AUTH_FORBIDDEN", 403)
    shop.refused(lambda: shop.viewer.photos.update(pid, notes="mine"), "AUTH_FORBIDDEN", 403)
    shop.refused(lambda: shop.tech.photos.update("nope", notes="x"), "NOT_FOUND_PHOTO", 404)


def test_delete_removes_files_and_recounts(shop: Shop, events: list[Event]) -> None:
    first, second = shop.upload(
        photo(jpeg(), "a.jpg", "before"), photo(encoded("WEBP"), "b.webp", "after")
    )
    assert shop.photo_count() == 2
    shop.refused(lambda: shop.other.photos.delete(first["id"]), "AUTH_FORBIDDEN", 403)
    shop.refused(lambda: shop.viewer.photos.delete(first["id"]), "AUTH_FORBIDDEN", 403)
    events.clear()
    assert shop.tech.photos.delete(first["id"]) == {"id": first["id"], "deleted": True,
                                                     "step_photo_count": 1}  # fmt: skip
    iid = shop.intervention_id
    assert shop.files() == [f"{iid}/{second['id']}.thumb.jpg", f"{iid}/{second['id']}.webp"]
    assert shop.photo_count() == 1
    assert [e.data for e in events if e.type == "photo_updated"] == [
        {"photo_id": first["id"], "intervention_id": iid, "step_number": 1, "action": "deleted"}
    ]
    shop.refused(lambda: shop.tech.photos.get(first["id"]), "NOT_FOUND_PHOTO", 404)
    shop.refused(lambda: shop.tech.photos.delete(first["id"]), "NOT_FOUND_PHOTO", 404)
    shop.admin.photos.delete(second["id"])
    assert shop.files() == []
    assert shop.photo_count() == 0


def test_reading_photos(shop: Shop) -> None:
    [first] = shop.upload(photo(jpeg(), "a.jpg", "before"))
    assert shop.other.photos.get(first["id"])["photo"] == first
    shop.refused(lambda: shop.tech.photos.get(first["id"], "huge"), "VALIDATION_ERROR")
    shop.refused(lambda: shop.tech.photos.list(str(uuid.uuid4())), "NOT_FOUND_INTERVENTION", 404)
    (shop.root / shop.intervention_id / f"{first['id']}.jpg").unlink()
    error = shop.refused(lambda: shop.tech.photos.get(first["id"], "full"), "IO_ERROR", 500)
    assert error.message == "The photo's full file is missing from storage"


def test_one_call_counts_once_against_the_upload_limit(shop: Shop) -> None:
    from rpma.core.ratelimit import RateLimiter
    from tests.conftest import fast_settings

    services = shop.server.services
    original = services.rate_limiter
    limiter = RateLimiter(fast_settings(services.settings.data_dir, rate_limits_enabled=True))
    limiter.reset()
    services.rate_limiter = limiter
    try:
        for i in range(5):  # the seed's 5/minute, each call with three photos
            shop.upload(*(photo(jpeg(), f"{i}-{n}.jpg", "during") for n in range(3)))
        error = shop.refused(
            lambda: shop.upload(photo(jpeg(), "6.jpg", "during")), "RATE_LIMIT", 429
        )
        assert error.status == 429
        assert shop.photo_count() == 15
        assert len(shop.tech.photos.list(shop.intervention_id)["photos"]) == 15  # reads are free
    finally:
        limiter.reset()
        services.rate_limiter = original


# Units: imaging and storage ---------------------------------------------------------------------
def test_inspect_reads_orientation_time_and_gps() -> None:
    data = jpeg((400, 200), orientation=8, gps=(-33.8568, -151.2153))
    seen = imaging.inspect_image(data)
    assert (seen.format, seen.mime_type, seen.extension) == ("JPEG", "image/jpeg", "jpg")
    assert (seen.width, seen.height, seen.orientation) == (200, 400, 8)
    assert seen.captured_at == TAKEN_MS
    assert seen.gps is not None
    assert seen.gps.latitude == pytest.approx(-33.8568, abs=1e-6)
    assert seen.gps.longitude == pytest.approx(-151.2153, abs=1e-6)
    assert dims(seen.thumbnail) == (160, 320)
    plain = imaging.inspect_image(jpeg((640, 480), orientation=None, taken=None, gps=None))
    assert (plain.width, plain.height, plain.captured_at, plain.gps) == (640, 480, None, None)


@pytest.mark.parametrize("mode", ["RGBA", "P", "LA", "I;16", "L", "1"])
def test_every_png_mode_gets_a_thumbnail(mode: str) -> None:
    seen = imaging.inspect_image(encoded("PNG", (1000, 10), mode))
    assert (seen.width, seen.height) == (1000, 10)
    assert dims(seen.thumbnail) == (320, 3)


def test_capture_time_offset_and_odd_exif() -> None:
    exif = Image.Exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = TAKEN
    details[0x9011] = "+02:00"  # OffsetTimeOriginal
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "JPEG", exif=exif)
    assert imaging.inspect_image(out.getvalue()).captured_at == TAKEN_MS - 2 * 3_600_000
    odd = jpeg(orientation=42, taken="yesterday", gps=None)
    seen = imaging.inspect_image(odd)
    assert (seen.width, seen.height, seen.orientation, seen.captured_at) == (400, 200, 1, None)


def test_local_storage(tmp_path: Path) -> None:
    store = LocalPhotoStorage(tmp_path / "photos")
    store.put("i1/p1.jpg", b"abc")
    store.put("i1/p1.jpg", b"abcd")  # replaced whole
    assert store.get("i1/p1.jpg") == b"abcd"
    assert store.exists("i1/p1.jpg")
    assert [p.name for p in (tmp_path / "photos" / "i1").iterdir()] == ["p1.jpg"]  # no temp
    for key in ("../escape.jpg", "/etc/passwd", "i1/../../x", ".hidden/x", "i1/.x", "", "a\\b"):
        with pytest.raises(ValueError, match="invalid storage key"):
            store.put(key, b"x")
    with pytest.raises(FileNotFoundError):
        store.get("i1/missing.jpg")
    store.delete("i1/p1.jpg")
    store.delete("i1/p1.jpg")  # already gone: fine
    assert not (tmp_path / "photos" / "i1").exists()  # no empty folder left


def test_photo_rows_match_files(shop: Shop) -> None:
    """Every row names two files that exist, and no file exists without its row."""
    shop.upload(photo(jpeg(), "a.jpg", "before"), photo(encoded("PNG"), "b.png", "during"))
    with shop.server.services.db.session(write=False) as db:
        rows = list(db.scalars(select(Photo)))
    keys = sorted(k for row in rows for k in (row.storage_key, row.thumbnail_key) if k)
    assert keys == shop.files()


def test_stale_fix_uses_the_server_clock(shop: Shop) -> None:
    clock.freeze()
    fix = now_fix()
    clock.advance(timedelta(minutes=10))
    assert len(shop.upload(photo(jpeg(), "a.jpg", "before", gps=fix))) == 1
    clock.advance(timedelta(seconds=1))
    error = shop.refused(lambda: shop.upload(photo(jpeg(), "b.jpg", "before", gps=fix)),
                         "VALIDATION_ERROR")  # fmt: skip
    assert error.message == "photos.0.gps: GPS location 11 minutes old exceeds maximum 10 minutes"
