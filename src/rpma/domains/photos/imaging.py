"""What a photo really is, decided from its bytes with Pillow (DOMAIN.md "Photo").

Nothing here trusts the client: the format is sniffed, never taken from the file name or
the claimed MIME type; the size and pixel caps are checked before anything is decoded;
the whole image is decoded once so a truncated file is refused here, not found broken
later. Pure functions of the bytes: no I/O, no clock, no database.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from rpma.core.validation import validate_gps_coordinates

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES: Final = 20 * 1024 * 1024
MAX_PIXELS: Final = 40_000_000
THUMBNAIL_EDGE: Final = 320
THUMBNAIL_QUALITY: Final = 82

# Sniffed Pillow format -> (MIME type, file extension used for the stored file).
FORMATS: Final[dict[str, tuple[str, str]]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
ACCEPTED: Final = "JPEG, PNG or WEBP"


def _heif_decoder() -> bool:
    """HEIC photos are accepted only where the optional pillow-heif decoder is
    installed (it is not a dependency of this server)."""
    try:
        from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
    except ImportError:
        return False
    register_heif_opener()
    FORMATS["HEIF"] = ("image/heic", "heic")
    return True


HEIF_SUPPORTED: Final = _heif_decoder()

# ISO base media files announce their brand after "ftyp"; these are HEIF/HEIC photos
# (what iPhones take by default).
_HEIF_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
HEIC_MESSAGE: Final = (
    "HEIC is not supported on this server (the pillow-heif decoder is not installed); "
    "convert the photo to JPEG and upload it again"
)

_ORIENTATION_TAG: Final = 0x0112
_OFFSET_TIME_ORIGINAL: Final = 0x9011
# EXIF orientations that turn the picture a quarter, so width and height swap.
_QUARTER_TURNS: Final = frozenset({5, 6, 7, 8})
_EXIF_TIME_FORMAT: Final = "%Y:%m:%d %H:%M:%S"


class ImageRejected(ValueError):
    """The bytes are not an image this server accepts; ``reason`` is machine-readable
    (too_large, unsupported_format, heic_unsupported, too_many_pixels, damaged)."""

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details


@dataclass(frozen=True)
class ExifGps:
    latitude: float
    longitude: float
    accuracy: float | None


@dataclass(frozen=True)
class InspectedImage:
    """What was verified about one photo, and its thumbnail (a 320-px JPEG)."""

    format: str
    mime_type: str
    extension: str
    size: int
    width: int  # as displayed, after the EXIF orientation
    height: int
    orientation: int
    sha256: str
    captured_at: int | None  # Unix ms from DateTimeOriginal (UTC unless an offset is given)
    gps: ExifGps | None
    thumbnail: bytes


def check_size(size: int) -> None:
    """Refuse a photo over the cap; called before any decoding."""
    if size > MAX_PHOTO_BYTES:
        raise ImageRejected(
            "too_large",
            f"The photo is {size / (1024 * 1024):.1f} MB; the limit is "
            f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB",
            size=size,
            max_bytes=MAX_PHOTO_BYTES,
        )


def is_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def inspect_image(data: bytes) -> InspectedImage:
    """Verify ``data`` and describe it, or raise :class:`ImageRejected`."""
    check_size(len(data))
    fmt, width, height = _identify(data)
    image = _decode(data)
    try:
        orientation, captured_at, gps = _read_exif(image)
        thumbnail = _thumbnail(image)
    finally:
        image.close()
    mime_type, extension = FORMATS[fmt]
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    return InspectedImage(
        format=fmt,
        mime_type=mime_type,
        extension=extension,
        size=len(data),
        width=width,
        height=height,
        orientation=orientation,
        sha256=hashlib.sha256(data).hexdigest(),
        captured_at=captured_at,
        gps=gps,
        thumbnail=thumbnail,
    )


# Steps --------------------------------------------------------------------------------------
def _identify(data: bytes) -> tuple[str, int, int]:
    """Open (headers only), check the format and the pixel count, then ``verify()``."""
    if is_heif(data) and not HEIF_SUPPORTED:
        raise ImageRejected("heic_unsupported", HEIC_MESSAGE)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
            _check_format(fmt)
            _check_pixels(width, height)
            probe.verify()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard fired (far beyond our cap): the header claims a huge image.
        raise ImageRejected(
            "too_many_pixels",
            f"The image has too many pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels",
            max_pixels=MAX_PIXELS,
        ) from exc
    except UnidentifiedImageError as exc:
        if _looks_accepted(data):  # the right signature, but Pillow cannot read on
            raise _damaged() from exc
        raise ImageRejected("unsupported_format", f"The file is not a {ACCEPTED} image") from exc
    except Exception as exc:  # a header Pillow could not make sense of
        raise _damaged() from exc
    return fmt, width, height


def _decode(data: bytes) -> Image.Image:
    """Reopen (``verify()`` leaves the image unusable) and decode every pixel, which is
    what finds a truncated JPEG."""
    image = Image.open(io.BytesIO(data))
    try:
        image.load()
    except Exception as exc:  # OSError "image file is truncated", SyntaxError, ...
        image.close()
        raise _damaged() from exc
    return image


def _looks_accepted(data: bytes) -> bool:
    """The file starts as a JPEG, PNG or WEBP does."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ImageRejected(
            "unsupported_format",
            f"{fmt or 'This'} images are not accepted; upload a {ACCEPTED} photo",
            format=fmt or None,
        )


def _check_pixels(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise _damaged()
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            "too_many_pixels",
            f"The image is {width}x{height} ({width * height / 1_000_000:.1f} megapixels); "
            f"the limit is {MAX_PIXELS // 1_000_000} megapixels",
            width=width,
            height=height,
            max_pixels=MAX_PIXELS,
        )


def _damaged() -> ImageRejected:
    return ImageRejected("damaged", "The image is damaged or truncated")


# EXIF ---------------------------------------------------------------------------------------
def _read_exif(image: Image.Image) -> tuple[int, int | None, ExifGps | None]:
    """Orientation, capture time and GPS. A camera's odd EXIF never refuses a photo:
    whatever cannot be read is left out."""
    try:
        exif = image.getexif()
    except Exception:
        log.debug("unreadable EXIF ignored", exc_info=True)
        return 1, None, None
    orientation = exif.get(_ORIENTATION_TAG, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    return orientation, _captured_at(exif), _gps(exif)


def _captured_at(exif: Image.Exif) -> int | None:
    try:
        details = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        return None
    raw = details.get(ExifTags.Base.DateTimeOriginal) or details.get(
        ExifTags.Base.DateTimeDigitized
    )
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip("\x00 "), _EXIF_TIME_FORMAT)
    except ValueError:
        return None
    return int(
        moment.replace(tzinfo=_offset(details.get(_OFFSET_TIME_ORIGINAL))).timestamp() * 1000
    )


def _offset(raw: Any) -> timezone:
    """EXIF 2.31's ``OffsetTimeOriginal`` (``+02:00``); UTC when absent or malformed."""
    if isinstance(raw, str):
        text = raw.strip("\x00 ")
        if len(text) == 6 and text[0] in "+-" and text[3] == ":":
            try:
                hours, minutes = int(text[1:3]), int(text[4:6])
            except ValueError:
                return UTC
            if hours <= 14 and minutes < 60:
                sign = -1 if text[0] == "-" else 1
                return timezone(sign * timedelta(hours=hours, minutes=minutes))
    return UTC


def _gps(exif: Image.Exif) -> ExifGps | None:
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        latitude = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
        longitude = _degrees(
            gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef)
        )
    except Exception:
        return None
    if latitude is None or longitude is None:
        return None
    try:
        validate_gps_coordinates(latitude, longitude)
    except ValueError:
        return None
    accuracy = _number(gps.get(ExifTags.GPS.GPSHPositioningError))
    if accuracy is not None and (not math.isfinite(accuracy) or accuracy < 0):
        accuracy = None
    return ExifGps(latitude=round(latitude, 7), longitude=round(longitude, 7), accuracy=accuracy)


def _degrees(value: Any, ref: Any) -> float | None:
    """Degrees, minutes, seconds (three rationals) and N/S/E/W -> signed decimal degrees."""
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    parts = [_number(part) for part in value]
    if any(part is None or not math.isfinite(part) for part in parts):
        return None
    degrees, minutes, seconds = (float(part) for part in parts if part is not None)
    decimal = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if isinstance(ref, str) and ref.strip("\x00 ").upper() in {"S", "W"}:
        decimal = -decimal
    return decimal


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, tuple) and len(value) == 2:  # (numerator, denominator)
            return float(value[0]) / float(value[1]) if value[1] else None
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


# Thumbnail ----------------------------------------------------------------------------------
def _thumbnail(image: Image.Image) -> bytes:
    """At most 320 px on its longer side, upright, RGB, without the original's EXIF (so
    the GPS position does not travel with every preview)."""
    # In place: the full-size pixels are not needed any more, and a copy of a 40 MP
    # image would double the memory this takes.
    image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE), Image.Resampling.LANCZOS)
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:
        upright = image
    out = io.BytesIO()
    _as_rgb(upright).save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()


def _as_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode == "I" or image.mode.startswith("I;16"):  # 16-bit greyscale: scale down
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGB")
    if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")
