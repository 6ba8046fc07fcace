"""Requests and responses of the notification commands (seed: "Notification Commands";
CONTRACT.md section 8 adds the providers' base URLs)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, Field

from rpma.core.commands import IpcRequest
from rpma.core.pagination import PageInfo, Pagination
from rpma.core.validation import Email, FieldValidationError, as_pydantic

CODE_PHONE_INVALID = "VALIDATION_PHONE_INVALID"
Channel = Literal["email", "sms", "in_app"]
NotificationType = Literal["task_assigned", "task_updated", "task_completed", "system_alert"]
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def validate_phone(value: str) -> str:
    """An E.164 number (``+`` and digits), checked by libphonenumber."""
    candidate = value.strip()
    if not re.fullmatch(r"\+[1-9]\d{1,14}", candidate):
        raise FieldValidationError(
            CODE_PHONE_INVALID, "Phone number must be in E.164 form, such as +14155550123."
        )
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise FieldValidationError(CODE_PHONE_INVALID, f"{candidate} is not a valid phone number.")
    return candidate


def validate_hhmm(value: str) -> str:
    if not _HHMM.fullmatch(value):
        raise FieldValidationError("VALIDATION_ERROR", "Expected a time as HH:MM (00:00-23:59).")
    return value


def validate_base_url(value: str) -> str:
    """https, or http on the loopback interface only (a local relay, the tests)."""
    url = value.strip().rstrip("/")
    match = re.fullmatch(r"(https?)://([^/:?#]+)(:\d{1,5})?(/[^?#]*)?", url)
    if match is None:
        raise FieldValidationError("VALIDATION_ERROR", "Expected an http(s) URL.")
    if match[1] == "http" and match[2] not in ("127.0.0.1", "localhost", "[::1]"):
        raise FieldValidationError(
            "VALIDATION_ERROR", "Provider URLs must use https (http only on localhost)."
        )
    return url


Phone = Annotated[str, AfterValidator(as_pydantic(validate_phone))]
ClockTime = Annotated[str, AfterValidator(as_pydantic(validate_hhmm))]
BaseUrl = Annotated[str, Field(max_length=500), AfterValidator(as_pydantic(validate_base_url))]
Secret = Annotated[str, Field(min_length=1, max_length=500)]


class NotificationConfigRequest(IpcRequest):
    """Every field optional: what is left out keeps its stored value; ``null`` for a
    provider turns that channel off."""

    email_provider: str | None = Field(default=None, max_length=32)
    email_api_key: Secret | None = None
    email_from_email: Email | None = None
    email_from_name: str | None = Field(default=None, max_length=200)
    email_api_base_url: BaseUrl | None = None
    email_domain: str | None = Field(default=None, max_length=253)
    smtp_host: str | None = Field(default=None, min_length=1, max_length=253)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_username: str | None = Field(default=None, max_length=254)
    smtp_password: Secret | None = None
    smtp_starttls: bool | None = None
    sms_provider: str | None = Field(default=None, max_length=32)
    sms_account_sid: str | None = Field(default=None, min_length=1, max_length=64)
    sms_api_key: Secret | None = None
    sms_from_number: Phone | None = None
    sms_api_base_url: BaseUrl | None = None
    push_enabled: bool | None = None
    quiet_hours_start: ClockTime | None = None
    quiet_hours_end: ClockTime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    notify_clients: bool | None = None


class NotificationConfigOut(BaseModel):
    """The stored configuration; secrets only as their last four characters."""

    email_provider: str | None
    email_api_key_last4: str | None
    email_from_email: str | None
    email_from_name: str | None
    email_api_base_url: str | None
    email_domain: str | None
    smtp_host: str | None
    smtp_port: int | None
    smtp_username: str | None
    smtp_starttls: bool
    sms_provider: str | None
    sms_account_sid: str | None
    sms_api_key_last4: str | None
    sms_from_number: str | None
    sms_api_base_url: str | None
    push_enabled: bool
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    timezone: str
    notify_clients: bool
    updated_at: int | None


class SendNotificationRequest(IpcRequest):
    user_id: str = Field(min_length=1, max_length=64)
    notification_type: NotificationType
    recipient: str = Field(min_length=1, max_length=254)  # email or E.164 phone number
    variables: dict[str, Annotated[str, Field(max_length=2000)]] = Field(default_factory=dict)
    # Also put a copy in the user's in-app inbox (an addition to the seed's shape).
    in_app: bool = True


class TestNotificationConfigRequest(IpcRequest):
    recipient: str = Field(min_length=1, max_length=254)
    channel: Literal["email", "sms"]


class TemplateOut(BaseModel):
    notification_type: str
    subject: str
    body_text: str
    body_html: str
    variables: list[str]
    customized: bool
    updated_at: int | None


class TemplateUpdateRequest(IpcRequest):
    notification_type: NotificationType
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    body_text: str | None = Field(default=None, min_length=1, max_length=10_000)
    body_html: str | None = Field(default=None, min_length=1, max_length=20_000)
    # Back to the built-in template (the other fields are then ignored).
    reset: bool = False


class NotificationOut(BaseModel):
    id: str
    notification_type: str
    channel: str
    title: str
    message: str
    level: str
    task_id: str | None
    created_at: int
    read_at: int | None
    is_read: bool


class NotificationListRequest(Pagination):
    unread_only: bool = False


class NotificationListResponse(BaseModel):
    notifications: list[NotificationOut]
    unread_count: int
    pagination: PageInfo


class MarkReadRequest(IpcRequest):
    notification_id: str = Field(min_length=1, max_length=64)


class MarkedCount(BaseModel):
    updated: int


class Preference(BaseModel):
    notification_type: NotificationType
    channel: Channel
    enabled: bool


class PreferencesOut(BaseModel):
    preferences: list[Preference]


class PreferenceChange(IpcRequest):
    notification_type: NotificationType
    channel: Channel
    enabled: bool


class PreferencesUpdateRequest(IpcRequest):
    preferences: list[PreferenceChange] = Field(min_length=1, max_length=12)


class OutboxEntry(BaseModel):
    id: str
    notification_type: str
    channel: str
    recipient: str | None
    subject: str
    status: str
    attempts: int
    next_attempt_at: int | None
    provider: str | None
    provider_message_id: str | None
    last_error: str | None
    created_at: int
    delivered_at: int | None
    dead_at: int | None


class DeadLetterListRequest(Pagination):
    pass


class DeadLetterListResponse(BaseModel):
    dead_letters: list[OutboxEntry]
    pagination: PageInfo


class RetryDeadLettersRequest(IpcRequest):
    """Named dead letters, or every one with ``all: true``."""

    ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=500
    )
    all: bool = False
