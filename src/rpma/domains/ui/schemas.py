"""UI command requests and responses (seed: UI Commands)."""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, model_validator

from rpma.core.clock import clock
from rpma.core.commands import IpcRequest
from rpma.core.validation import (
    FieldValidationError,
    invalid,
    validate_gps_accuracy,
    validate_gps_coordinates,
    validate_gps_freshness,
)

URL_MAX_LENGTH: Final = 2048
ALLOWED_SCHEMES: Final = frozenset({"http", "https"})


def check_open_url(value: str) -> str:
    """An address the host's browser may open: http or https, with a host name, nothing
    else (``file:``, ``javascript:``, ``data:``, custom schemes would run or read things
    on the host). No whitespace or control characters, no ``user:password@``."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise invalid("The URL must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise invalid("The URL is malformed") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise invalid(
            "Only http and https addresses can be opened (got {scheme})",
            {"scheme": repr(parts.scheme.lower()[:20] or "no scheme")},
        )
    if not hostname:
        raise invalid("The URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise invalid("The URL must not carry a user or password")
    return value


OpenUrl = Annotated[
    str, Field(min_length=1, max_length=URL_MAX_LENGTH), AfterValidator(check_open_url)
]


class WindowMinimizeRequest(IpcRequest):
    # Absent counts as true: `{}` minimizes, as invoke('ui_window_minimize') would.
    minimize: bool = True


class WindowMaximizeRequest(IpcRequest):
    maximize: bool = True


class OpenUrlRequest(IpcRequest):
    url: OpenUrl


class GpsPosition(BaseModel):
    latitude: float
    longitude: float
    accuracy: float
    timestamp: int
    source: str  # "host" (the computer's own GPS) or "browser" (ui_gps_report_position)


class ReportPositionRequest(IpcRequest):
    """A position from the browser's Geolocation API, checked with the seed's GPS rules:
    coordinates in range, accuracy at most 100 m, taken at most 10 minutes ago."""

    latitude: float
    longitude: float
    accuracy: float
    timestamp: int = Field(description="Unix milliseconds of the fix")

    @model_validator(mode="after")
    def _seed_rules(self) -> ReportPositionRequest:
        try:
            validate_gps_coordinates(self.latitude, self.longitude)
            validate_gps_accuracy(self.accuracy)
            validate_gps_freshness(self.timestamp, clock.now_ms())
        except FieldValidationError as exc:
            raise invalid(exc.message) from None
        return self
