"""Input validation rules shared by request models and domain services.

Everything here is pure: no I/O, no clock, no database. Functions raise
:class:`FieldValidationError`, whose ``code`` is the stable machine-readable error
code the API returns; the ``message`` is written for the end user.

The ``Email``/``Password``/``Username``/``PersonName`` aliases plug the same rules
into pydantic v2 models so that ``ValidationError.errors()[i]["type"]`` is the code.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Final, TypeVar

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

__all__ = [
    "CODE_EMAIL_INVALID",
    "CODE_PASSWORD_WEAK",
    "CODE_VALIDATION_ERROR",
    "EMAIL_MAX_LENGTH",
    "GPS_FUTURE_TOLERANCE_MS",
    "PASSWORD_MAX_LENGTH",
    "PASSWORD_MIN_LENGTH",
    "PASSWORD_SPECIAL_CHARACTERS",
    "Email",
    "FieldValidationError",
    "Password",
    "PersonName",
    "Username",
    "as_pydantic",
    "clean_text",
    "clean_text_validator",
    "sanitize_text_input",
    "validate_email",
    "validate_gps_accuracy",
    "validate_gps_coordinates",
    "validate_gps_freshness",
    "validate_name",
    "validate_password",
    "validate_username",
]

CODE_EMAIL_INVALID: Final = "VALIDATION_EMAIL_INVALID"
CODE_PASSWORD_WEAK: Final = "VALIDATION_PASSWORD_WEAK"
CODE_VALIDATION_ERROR: Final = "VALIDATION_ERROR"

EMAIL_MAX_LENGTH: Final = 254  # RFC 5321 path limit minus the angle brackets.
PASSWORD_MIN_LENGTH: Final = 8
PASSWORD_MAX_LENGTH: Final = 128
PASSWORD_SPECIAL_CHARACTERS: Final = frozenset("!@#$%^&*()_+-=[]{};':\"\\|,.<>/?")
# Tablets in the field drift; a minute of skew is tolerated before a fix counts as "future".
GPS_FUTURE_TOLERANCE_MS: Final = 60_000

_MS_PER_MINUTE: Final = 60_000

_EMAIL_RE: Final = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*",
    re.ASCII,
)
_EMAIL_SUSPICIOUS: Final = ("script", "javascript")

_PASSWORD_BANNED: Final = ("password", "123456", "qwerty", "admin")
_REPEATED_CHAR_RE: Final = re.compile(r"(.)\1{3,}", re.DOTALL)

_USERNAME_RE: Final = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]{2,49}", re.ASCII)

# U+00D7 (multiplication sign) and U+00F7 (division sign) sit inside the Latin-1 letter
# block but are not letters, hence the split ranges.
_NAME_LETTERS: Final = "a-zA-Z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017e"
_NAME_RE: Final = re.compile(f"[{_NAME_LETTERS} '\\-]{{2,100}}")
_NAME_LETTER_RE: Final = re.compile(f"[{_NAME_LETTERS}]")

_CONTROL_CHARS_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE_RUN_RE: Final = re.compile(r"\s+")
# Longest entity html.escape emits ("&quot;" / "&#x27;"); bounds the truncation look-back.
_MAX_ENTITY_LENGTH: Final = 6


class FieldValidationError(ValueError):
    """A user-facing validation failure carrying a stable error ``code``."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        # Both go into args so the exception survives pickling (e.g. across worker processes).
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


def _fail(message: str, code: str = CODE_VALIDATION_ERROR) -> FieldValidationError:
    return FieldValidationError(code, message)


# --------------------------------------------------------------------------- identity


def validate_email(email: str) -> str:
    """Return the stripped, lower-cased ``email`` or raise ``VALIDATION_EMAIL_INVALID``.

    On top of the RFC 5322-style syntax check, the domain must contain at least one dot:
    the workshop's customers use real internet domains, so ``user@localhost`` is almost
    certainly a typo. Addresses containing ``script`` are refused outright because they
    are a common probe for stored-XSS in e-mail templates.
    """
    candidate = email.strip()
    if not candidate:
        raise _fail("Email address is required.", CODE_EMAIL_INVALID)
    if len(candidate) > EMAIL_MAX_LENGTH:
        raise _fail(
            f"Email address must be at most {EMAIL_MAX_LENGTH} characters.", CODE_EMAIL_INVALID
        )
    if _EMAIL_RE.fullmatch(candidate) is None:
        raise _fail("Email address is not valid.", CODE_EMAIL_INVALID)
    lowered = candidate.lower()
    if any(pattern in lowered for pattern in _EMAIL_SUSPICIOUS):
        raise _fail("Email address contains a disallowed pattern.", CODE_EMAIL_INVALID)
    if "." not in lowered.rpartition("@")[2]:
        raise _fail(
            "Email address must use a full domain name, such as example.com.",
            CODE_EMAIL_INVALID,
        )
    return lowered


def validate_password(password: str) -> str:
    """Return ``password`` unchanged or raise ``VALIDATION_PASSWORD_WEAK``."""
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise _fail(
            f"Password must be between {PASSWORD_MIN_LENGTH} and {PASSWORD_MAX_LENGTH} characters.",
            CODE_PASSWORD_WEAK,
        )
    classes = (
        any("A" <= ch <= "Z" for ch in password),
        any("a" <= ch <= "z" for ch in password),
        any("0" <= ch <= "9" for ch in password),
        any(ch in PASSWORD_SPECIAL_CHARACTERS for ch in password),
    )
    if sum(classes) < 3:
        raise _fail(
            "Password must contain 3 of: uppercase, lowercase, number, special.",
            CODE_PASSWORD_WEAK,
        )
    lowered = password.lower()
    if any(banned in lowered for banned in _PASSWORD_BANNED):
        raise _fail("Password contains a common word or sequence.", CODE_PASSWORD_WEAK)
    if _REPEATED_CHAR_RE.search(password) is not None:
        raise _fail(
            "Password must not repeat the same character 4 or more times in a row.",
            CODE_PASSWORD_WEAK,
        )
    return password


def validate_username(username: str) -> str:
    """Return ``username`` unchanged if it is 3-50 ASCII characters starting with a letter."""
    if _USERNAME_RE.fullmatch(username) is None:
        raise _fail(
            "Username must be 3 to 50 characters, start with a letter, and contain only "
            "letters, numbers, underscores or hyphens."
        )
    return username


def validate_name(name: str) -> str:
    """Return the stripped ``name`` if it is a plausible person name.

    Beyond the character whitelist we also require at least one letter, so that inputs
    such as ``"--"`` or ``"' '"`` are not accepted as names.
    """
    candidate = name.strip()
    if _NAME_RE.fullmatch(candidate) is None or _NAME_LETTER_RE.search(candidate) is None:
        raise _fail(
            "Name must be 2 to 100 characters and contain only letters, spaces, hyphens "
            "or apostrophes."
        )
    return candidate


# --------------------------------------------------------------------------------- GPS


def validate_gps_coordinates(lat: float, lon: float) -> None:
    """Raise unless ``lat`` is in [-90, 90] and ``lon`` in [-180, 180], both finite."""
    if not math.isfinite(lat) or not -90.0 <= lat <= 90.0:
        raise _fail("Latitude must be a number between -90 and 90 degrees.")
    if not math.isfinite(lon) or not -180.0 <= lon <= 180.0:
        raise _fail("Longitude must be a number between -180 and 180 degrees.")


def validate_gps_accuracy(accuracy: float, max_allowed: float = 100.0) -> None:
    """Raise unless ``accuracy`` (metres) is finite, non-negative and <= ``max_allowed``."""
    if not math.isfinite(accuracy) or accuracy < 0:
        raise _fail("GPS accuracy must be a non-negative number of metres.")
    if accuracy > max_allowed:
        raise _fail(f"GPS accuracy {accuracy}m exceeds maximum {max_allowed}m")


def _minutes(count: int | float) -> str:
    return "1 minute" if count == 1 else f"{count:g} minutes"


def validate_gps_freshness(timestamp_ms: int, now_ms: int, max_age_ms: int = 600_000) -> None:
    """Raise if a GPS fix is older than ``max_age_ms`` or implausibly in the future.

    ``now_ms`` is passed in rather than read here so the rule stays pure and testable.
    """
    age_ms = now_ms - timestamp_ms
    if age_ms < -GPS_FUTURE_TOLERANCE_MS:
        raise _fail("GPS location timestamp is in the future; please check the device clock.")
    if age_ms > max_age_ms:
        # Rounded up so the reported age is never shown as equal to the limit it exceeds.
        age_minutes = math.ceil(age_ms / _MS_PER_MINUTE)
        raise _fail(
            f"GPS location {_minutes(age_minutes)} old exceeds maximum "
            f"{_minutes(max_age_ms / _MS_PER_MINUTE)}"
        )


# -------------------------------------------------------------------------------- text


def _strip_control_characters(value: str) -> str:
    return _CONTROL_CHARS_RE.sub("", value)


def _truncate_escaped(value: str, max_length: int) -> str:
    if len(value) <= max_length:
        return value
    cut = value[:max_length]
    # Every "&" in escaped text starts an entity, so an "&" without a following ";" in
    # the tail means the cut landed mid-entity; drop the partial entity entirely.
    amp = cut.rfind("&", max(0, max_length - _MAX_ENTITY_LENGTH + 1))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip()


def sanitize_text_input(value: str, max_length: int) -> str:
    """Return ``value`` HTML-escaped, whitespace-collapsed and at most ``max_length`` long.

    Use this for text that will be rendered into HTML. For text stored verbatim, use
    :func:`clean_text`, which refuses over-long input instead of truncating it.
    """
    if max_length < 0:
        raise ValueError("max_length must be non-negative")
    # html.escape replaces "&" before the other characters, so "<" becomes "&lt;" and
    # never the double-escaped "&amp;lt;".
    escaped = html.escape(_strip_control_characters(value), quote=True)
    collapsed = _WHITESPACE_RUN_RE.sub(" ", escaped).strip()
    return _truncate_escaped(collapsed, max_length)


def clean_text(value: str, max_length: int, *, field: str) -> str:
    """Return ``value`` without control characters (tab/newline/CR kept), stripped.

    Raises rather than truncates when the result exceeds ``max_length``: silently losing
    the end of a technician's note is worse than asking them to shorten it. ``field`` is
    the human-readable label used in the error message.
    """
    cleaned = _strip_control_characters(value).strip()
    if len(cleaned) > max_length:
        raise _fail(f"{field} must be at most {max_length} characters.")
    return cleaned


# ---------------------------------------------------------------------------- pydantic

_T = TypeVar("_T")
_R = TypeVar("_R")


def as_pydantic(fn: Callable[[_T], _R]) -> Callable[[_T], _R]:
    """Wrap a validator so its errors surface in pydantic with ``type`` equal to the code."""

    def wrapper(value: _T) -> _R:
        try:
            return fn(value)
        except FieldValidationError as exc:
            raise PydanticCustomError(exc.code, exc.message) from exc

    wrapper.__name__ = getattr(fn, "__name__", "validator")
    wrapper.__doc__ = fn.__doc__
    return wrapper


def clean_text_validator(max_length: int, *, field: str) -> AfterValidator:
    """Build ``Annotated[str, clean_text_validator(500, field="Notes")]`` metadata."""

    def validate(value: str) -> str:
        return clean_text(value, max_length, field=field)

    return AfterValidator(as_pydantic(validate))


_ID_FORBIDDEN_RE: Final = re.compile(r"[\x00-\x1f\x7f]")


def invalid(message: str, context: dict[str, Any] | None = None) -> PydanticCustomError:
    """A field's refusal inside a Pydantic validator, answered as ``VALIDATION_ERROR``
    (``message`` may name ``{keys}`` of ``context``)."""
    return PydanticCustomError(CODE_VALIDATION_ERROR, message, context)


def encodable(value: str, label: str) -> str:
    """Refuse what JSON can carry but no database can store (a lone UTF-16 surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(f"{label} is not valid Unicode text") from None
    return value


def record_id(value: str) -> str:
    """An id as sent: no control characters, storable text (``AfterValidator(record_id)``)."""
    if _ID_FORBIDDEN_RE.search(value):
        raise invalid("an id holds no control characters")
    return encodable(value, "the id")


def text_field(max_length: int, label: str, *, required: bool = False) -> AfterValidator:
    """Text stored as typed (control characters dropped, ends trimmed), refused when it
    is not valid Unicode (a lone surrogate cannot be stored) or too long; blank optional
    text is no text (None). ``Annotated[str | None, text_field(500, "Notes")]``."""

    def check(value: str) -> str | None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError(
                CODE_VALIDATION_ERROR, f"{label} is not valid Unicode text"
            ) from None
        try:
            cleaned = clean_text(value, max_length, field=label)
        except FieldValidationError as exc:
            raise PydanticCustomError(exc.code, exc.message) from None
        if not cleaned:
            if required:
                raise PydanticCustomError(CODE_VALIDATION_ERROR, f"{label} is required")
            return None
        return cleaned

    return AfterValidator(check)


Email = Annotated[str, AfterValidator(as_pydantic(validate_email))]
Password = Annotated[str, AfterValidator(as_pydantic(validate_password))]
Username = Annotated[str, AfterValidator(as_pydantic(validate_username))]
PersonName = Annotated[str, AfterValidator(as_pydantic(validate_name))]
