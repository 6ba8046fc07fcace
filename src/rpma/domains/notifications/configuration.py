"""The provider configuration: validated and stored by the admin, sealed secrets
opened only when a message leaves, quiet hours computed in the configured zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.crypto import SecretBox
from rpma.core.errors import ValidationFailed
from rpma.domains.notifications.models import NotificationConfig
from rpma.domains.notifications.providers import (
    EMAIL_PROVIDERS,
    SMS_PROVIDERS,
    UNSUPPORTED,
    EmailSettings,
    SmsSettings,
)
from rpma.domains.notifications.schemas import NotificationConfigOut, NotificationConfigRequest
from rpma.domains.settings.service import shop_timezone

CONFIG_ID = 1
SECRET_PURPOSE = "notifications"
CODE_UNSUPPORTED = "NOTIFICATION_PROVIDER_UNSUPPORTED"
CODE_NOT_CONFIGURED = "NOTIFICATION_NOT_CONFIGURED"
# Request field -> column, for the plain (non-secret) fields.
_PLAIN = {
    "email_from_email": "email_from_email",
    "email_from_name": "email_from_name",
    "email_api_base_url": "email_api_base_url",
    "email_domain": "email_domain",
    "smtp_host": "smtp_host",
    "smtp_port": "smtp_port",
    "smtp_username": "smtp_username",
    "smtp_starttls": "smtp_starttls",
    "sms_account_sid": "sms_account_sid",
    "sms_from_number": "sms_from_number",
    "sms_api_base_url": "sms_api_base_url",
    "push_enabled": "push_enabled",
    "quiet_hours_start": "quiet_hours_start",
    "quiet_hours_end": "quiet_hours_end",
    "timezone": "timezone",
    "notify_clients": "notify_clients",
}
_NOT_NULL = ("smtp_starttls", "push_enabled", "notify_clients")


def invalid(field: str, message: str, code: str = "VALIDATION_ERROR") -> ValidationFailed:
    return ValidationFailed(
        code, f"{field}: {message}", fields=[{"field": field, "message": message}]
    )


def load(db: Session) -> NotificationConfig | None:
    return db.get(NotificationConfig, CONFIG_ID)


def _provider(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if value is None:
        return None
    if value in UNSUPPORTED:
        raise invalid(field, UNSUPPORTED[value], CODE_UNSUPPORTED)
    if value not in allowed:
        raise invalid(field, f"unknown provider {value!r} (one of: {', '.join(allowed)})")
    return value


def _last4(secret: str) -> str:
    return secret[-4:]


def configure(
    db: Session, box: SecretBox, req: NotificationConfigRequest, actor_id: str | None
) -> NotificationConfig:
    """Merge the request into the stored configuration and refuse an unusable result
    (a provider without its credentials, half of the quiet hours, an unknown zone)."""
    given = req.model_fields_set
    if not given:
        raise invalid("(body)", "nothing to configure: give at least one field")
    email_provider = _provider(req.email_provider, EMAIL_PROVIDERS, "email_provider")
    sms_provider = _provider(req.sms_provider, SMS_PROVIDERS, "sms_provider")
    row = load(db)
    if row is None:
        row = NotificationConfig(
            id=CONFIG_ID, smtp_starttls=False, push_enabled=True, notify_clients=False
        )
        db.add(row)
    values: dict[str, Any] = {}
    for name, column in _PLAIN.items():
        if name in given:
            value = getattr(req, name)
            if value is None and name in _NOT_NULL:
                raise invalid(name, "may not be null")
            values[column] = value
    if "timezone" in given and req.timezone is not None:
        try:
            ZoneInfo(req.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise invalid("timezone", f"unknown IANA time zone {req.timezone!r}") from None
    _merge_email(row, req, email_provider, values, box)
    _merge_sms(row, req, sms_provider, values, box)
    for column, value in values.items():
        setattr(row, column, value)
    _check_complete(row)
    row.updated_at = clock.now_ms()
    row.updated_by = actor_id
    db.flush()
    return row


def _merge_email(
    row: NotificationConfig,
    req: NotificationConfigRequest,
    provider: str | None,
    values: dict[str, Any],
    box: SecretBox,
) -> None:
    given = req.model_fields_set
    if "email_provider" in given:
        if provider != row.email_provider:  # a new provider never inherits the old key
            values.update(email_secret=None, email_secret_last4=None)
        values["email_provider"] = provider
    secret = req.smtp_password if (provider or row.email_provider) == "smtp" else None
    secret = secret or req.email_api_key
    if secret is not None:
        values.update(email_secret=box.encrypt(secret), email_secret_last4=_last4(secret))


def _merge_sms(
    row: NotificationConfig,
    req: NotificationConfigRequest,
    provider: str | None,
    values: dict[str, Any],
    box: SecretBox,
) -> None:
    if "sms_provider" in req.model_fields_set:
        if provider != row.sms_provider:
            values.update(sms_secret=None, sms_secret_last4=None)
        values["sms_provider"] = provider
    if req.sms_api_key is not None:
        values.update(
            sms_secret=box.encrypt(req.sms_api_key), sms_secret_last4=_last4(req.sms_api_key)
        )


def _check_complete(row: NotificationConfig) -> None:
    missing = "missing credentials"
    if row.email_provider in ("sendgrid", "mailgun") and not row.email_secret:
        raise invalid("email_api_key", f"{missing}: required for {row.email_provider}")
    if row.email_provider == "smtp" and not row.smtp_host:
        raise invalid("smtp_host", f"{missing}: required for smtp")
    if row.email_provider and not row.email_from_email:
        raise invalid("email_from_email", "required when an email provider is set")
    if row.sms_provider == "twilio":
        if not row.sms_account_sid:
            raise invalid("sms_account_sid", f"{missing}: the Twilio Account SID is required")
        if not row.sms_secret:
            raise invalid("sms_api_key", f"{missing}: the Twilio auth token is required")
        if not row.sms_from_number:
            raise invalid("sms_from_number", "required for twilio")
    if (row.quiet_hours_start is None) != (row.quiet_hours_end is None):
        raise invalid("quiet_hours_end", "give both quiet_hours_start and quiet_hours_end")
    if row.quiet_hours_start is not None and row.quiet_hours_start == row.quiet_hours_end:
        raise invalid("quiet_hours_end", "quiet hours must not start and end at the same time")


def zone(db: Session, row: NotificationConfig | None) -> ZoneInfo:
    if row is not None and row.timezone:
        try:
            return ZoneInfo(row.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return shop_timezone(db)


def view(db: Session, row: NotificationConfig | None) -> NotificationConfigOut:
    empty = NotificationConfig(smtp_starttls=False, push_enabled=True, notify_clients=False)
    shown = row or empty
    return NotificationConfigOut(
        email_provider=shown.email_provider,
        email_api_key_last4=shown.email_secret_last4,
        email_from_email=shown.email_from_email,
        email_from_name=shown.email_from_name,
        email_api_base_url=shown.email_api_base_url,
        email_domain=shown.email_domain,
        smtp_host=shown.smtp_host,
        smtp_port=shown.smtp_port,
        smtp_username=shown.smtp_username,
        smtp_starttls=bool(shown.smtp_starttls),
        sms_provider=shown.sms_provider,
        sms_account_sid=shown.sms_account_sid,
        sms_api_key_last4=shown.sms_secret_last4,
        sms_from_number=shown.sms_from_number,
        sms_api_base_url=shown.sms_api_base_url,
        push_enabled=bool(shown.push_enabled),
        quiet_hours_start=shown.quiet_hours_start,
        quiet_hours_end=shown.quiet_hours_end,
        timezone=zone(db, row).key,
        notify_clients=bool(shown.notify_clients),
        updated_at=row.updated_at if row is not None else None,
    )


def channel_ready(row: NotificationConfig | None, channel: str) -> bool:
    if row is None:
        return False
    return bool(row.email_provider if channel == "email" else row.sms_provider)


@dataclass(frozen=True)
class Senders:
    """What the worker needs to send, secrets opened."""

    email: EmailSettings | None
    sms: SmsSettings | None


def senders(row: NotificationConfig | None, box: SecretBox) -> Senders:
    if row is None:
        return Senders(None, None)
    email = sms = None
    if row.email_provider and row.email_from_email:
        email = EmailSettings(
            provider=row.email_provider,
            secret=box.decrypt(row.email_secret) if row.email_secret else "",
            from_email=row.email_from_email,
            from_name=row.email_from_name,
            base_url=row.email_api_base_url,
            domain=row.email_domain,
            smtp_host=row.smtp_host,
            smtp_port=row.smtp_port,
            smtp_username=row.smtp_username,
            smtp_starttls=bool(row.smtp_starttls),
        )
    if row.sms_provider and row.sms_secret and row.sms_account_sid and row.sms_from_number:
        sms = SmsSettings(
            provider=row.sms_provider,
            account_sid=row.sms_account_sid,
            secret=box.decrypt(row.sms_secret),
            from_number=row.sms_from_number,
            base_url=row.sms_api_base_url,
        )
    return Senders(email, sms)


def quiet_until(
    moment: datetime, start: str | None, end: str | None, tz: ZoneInfo
) -> datetime | None:
    """When the quiet hours that hold ``moment`` end (UTC), or None outside them.
    A window may cross midnight (22:00-07:00)."""
    if start is None or end is None:
        return None
    local = moment.astimezone(tz)
    begin, finish, now = time.fromisoformat(start), time.fromisoformat(end), local.time()
    if begin < finish:
        inside = begin <= now < finish
        end_day = local.date()
    else:
        inside = now >= begin or now < finish
        end_day = local.date() + timedelta(days=1) if now >= begin else local.date()
    if not inside:
        return None
    # Through fold-aware local time, so a DST change inside the window is honoured.
    return datetime.combine(end_day, finish, tzinfo=tz).astimezone(moment.tzinfo)
