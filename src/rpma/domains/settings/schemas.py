"""Settings requests and responses (seed: Settings Commands).

Each category is a response model (what ``settings_get_app_settings`` answers) and an
update request whose fields are all optional: only the fields sent change. Update
requests are closed (``extra="forbid"``): a misspelt setting is an error, not a no-op.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from rpma.core.commands import IpcRequest
from rpma.core.validation import clean_text_validator, invalid
from rpma.domains.settings.service import SESSION_TIMEOUT_MAX, SESSION_TIMEOUT_MIN

Category = Literal["general", "security", "notifications", "performance"]
CATEGORIES: tuple[Category, ...] = ("general", "security", "notifications", "performance")
Theme = Literal["light", "dark", "auto"]
DateFormat = Literal["YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY"]

# BCP 47 language tags as the UI uses them: "en", "fr", "fr-FR", "pt-BR".
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")
_HHMM_RE = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@cache
def _iana_names() -> frozenset[str]:
    # Walks the tz database on disk: once per process is enough.
    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    # ZoneInfo alone accepts file-system paths in some builds and legacy aliases; the
    # IANA list is what the UI offers, so the name must be in it.
    name = value.strip()
    if name not in _iana_names():
        raise invalid(
            "Unknown time zone {name}: use an IANA name such as Europe/Paris",
            {"name": repr(name)[:80]},
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but unloadable
        raise invalid("Time zone cannot be loaded") from None
    return name


def _language(value: str) -> str:
    if _LANGUAGE_RE.fullmatch(value) is None:
        raise invalid("Language must be a tag such as en, fr or pt-BR")
    return value


def _clock_time(value: str) -> str:
    if _HHMM_RE.fullmatch(value) is None:
        raise invalid("Time must be HH:MM (00:00 to 23:59)")
    return value


def _company_name(value: str) -> str:
    if not value:
        raise invalid("Company name must not be empty")
    return value


TimeZoneName = Annotated[str, AfterValidator(_timezone)]
LanguageTag = Annotated[str, AfterValidator(_language)]
ClockTime = Annotated[str, AfterValidator(_clock_time)]
CompanyName = Annotated[
    str,
    clean_text_validator(200, field="Company name"),
    AfterValidator(_company_name),
]


class UpdateRequest(IpcRequest):
    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateRequest:
        if not self.model_fields_set:
            raise invalid("Nothing to change: send at least one setting")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


# --- general ----------------------------------------------------------------------------
class GeneralSettings(BaseModel):
    company_name: str
    default_language: str
    timezone: str
    date_format: str
    theme: str
    working_hours_start: str
    working_hours_end: str


class UpdateGeneralSettingsRequest(UpdateRequest):
    company_name: CompanyName | None = None
    default_language: LanguageTag | None = None
    timezone: TimeZoneName | None = None
    date_format: DateFormat | None = None
    theme: Theme | None = None
    working_hours_start: ClockTime | None = None
    working_hours_end: ClockTime | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> UpdateGeneralSettingsRequest:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise invalid("{fields} cannot be null", {"fields": ", ".join(sorted(nulls))})
        return self


# --- security ---------------------------------------------------------------------------
class SecuritySettings(BaseModel):
    session_timeout_minutes: int
    # Fixed by the server (the seed's rules), shown so the UI can explain them.
    password_min_length: int
    two_factor_available: bool


class UpdateSecuritySettingsRequest(UpdateRequest):
    session_timeout_minutes: int = Field(ge=SESSION_TIMEOUT_MIN, le=SESSION_TIMEOUT_MAX)


# --- notifications ----------------------------------------------------------------------
class NotificationSettings(BaseModel):
    """A view of the notification service's configuration (initialize_notification_service
    sets the providers and their credentials; no secret ever appears here)."""

    email_enabled: bool
    email_provider: str | None
    sms_enabled: bool
    sms_provider: str | None
    push_enabled: bool
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    timezone: str
    notify_clients: bool


class UpdateNotificationSettingsRequest(UpdateRequest):
    push_enabled: bool | None = None
    notify_clients: bool | None = None
    # null turns quiet hours off; both ends are sent together.
    quiet_hours_start: ClockTime | None = None
    quiet_hours_end: ClockTime | None = None

    @model_validator(mode="after")
    def _quiet_hours_together(self) -> UpdateNotificationSettingsRequest:
        toggles = ("push_enabled", "notify_clients")
        nulls = [n for n in toggles if n in self.model_fields_set and getattr(self, n) is None]
        if nulls:
            raise invalid("{fields} cannot be null", {"fields": ", ".join(nulls)})
        quiet = {"quiet_hours_start", "quiet_hours_end"} & self.model_fields_set
        if len(quiet) == 1:
            raise invalid("Send quiet_hours_start and quiet_hours_end together")
        if quiet and (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise invalid("Quiet hours need both ends, or both null to turn them off")
        if (
            quiet
            and self.quiet_hours_start is not None
            and (self.quiet_hours_start == self.quiet_hours_end)
        ):
            raise invalid("Quiet hours must not be empty")
        return self


# --- performance ------------------------------------------------------------------------
class PerformanceSettings(BaseModel):
    slow_database_threshold_ms: int
    stats_window_seconds: int


class UpdatePerformanceSettingsRequest(UpdateRequest):
    slow_database_threshold_ms: int | None = Field(default=None, ge=0, le=60_000)
    stats_window_seconds: int | None = Field(default=None, ge=10, le=300)

    @model_validator(mode="after")
    def _no_nulls(self) -> UpdatePerformanceSettingsRequest:
        if any(getattr(self, n) is None for n in self.model_fields_set):
            raise invalid("Performance settings cannot be null")
        return self


# --- reading ----------------------------------------------------------------------------
class GetAppSettingsRequest(IpcRequest):
    category: Category | None = None


class AppSettings(BaseModel):
    """All four categories, or only the one asked for (CONTRACT.md section 8)."""

    model_config = ConfigDict(extra="forbid")

    general: GeneralSettings | None = None
    security: SecuritySettings | None = None
    notifications: NotificationSettings | None = None
    performance: PerformanceSettings | None = None


class SettingsHistoryRequest(IpcRequest):
    key: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=500)


class SettingChangeOut(BaseModel):
    id: str
    key: str
    category: str
    old_value: Any
    new_value: Any
    changed_by: str | None
    changed_at: int
