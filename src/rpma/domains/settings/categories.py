"""The four setting categories of settings_get_app_settings: which stored key holds each
field, its default, and the audited update.

No category holds a secret (provider API keys live encrypted in the notification
service's configuration and never appear here), so the whole of each category may be
shown to any signed-in user and written to the history as it is.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.crypto import SecretBox
from rpma.core.errors import ValidationFailed
from rpma.core.validation import PASSWORD_MIN_LENGTH
from rpma.domains.notifications import configuration as notification_config
from rpma.domains.notifications.schemas import NotificationConfigRequest
from rpma.domains.settings import service
from rpma.domains.settings.models import SettingChange
from rpma.domains.settings.schemas import (
    Category,
    GeneralSettings,
    NotificationSettings,
    PerformanceSettings,
    SecuritySettings,
    SettingChangeOut,
)

# Keys of the categories other than those service.py already names. Stored data: keep.
DEFAULT_LANGUAGE_KEY: Final = "general.default_language"
DATE_FORMAT_KEY: Final = "general.date_format"
THEME_KEY: Final = "general.theme"
SLOW_DATABASE_MS_KEY: Final = "performance.slow_database_threshold_ms"
STATS_WINDOW_KEY: Final = "performance.stats_window_seconds"

_WORKING_DAY: Final = frozenset({"working_hours_start", "working_hours_end"})
DEFAULT_SLOW_DATABASE_MS: Final = 1000
DEFAULT_STATS_WINDOW_SECONDS: Final = 60


@dataclass(frozen=True)
class Field:
    key: str
    default: Any
    # Whether a stored value is usable (a hand-edited row of the wrong type counts as unset).
    valid: Callable[[Any], bool]


def _str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_HOURS = service.DEFAULT_WORKING_HOURS
# Stored in app_settings. The notifications category is the notification service's own
# configuration (one source of truth for quiet hours), read and written through it.
FIELDS: Final[dict[Category, dict[str, Field]]] = {
    "general": {
        "company_name": Field(service.COMPANY_NAME_KEY, service.DEFAULT_COMPANY_NAME, _str),
        "default_language": Field(DEFAULT_LANGUAGE_KEY, "en", _str),
        "timezone": Field(service.TIMEZONE_KEY, service.DEFAULT_TIMEZONE, _str),
        "date_format": Field(DATE_FORMAT_KEY, "YYYY-MM-DD", _str),
        "theme": Field(THEME_KEY, "auto", _str),
        "working_hours_start": Field(
            service.WORKING_HOURS_START_KEY, _HOURS[0].strftime("%H:%M"), _str
        ),
        "working_hours_end": Field(
            service.WORKING_HOURS_END_KEY, _HOURS[1].strftime("%H:%M"), _str
        ),
    },
    "security": {
        # The default is the server's configuration (read_category fills it in).
        "session_timeout_minutes": Field(service.SESSION_TIMEOUT_KEY, None, _int),
    },
    "performance": {
        "slow_database_threshold_ms": Field(SLOW_DATABASE_MS_KEY, DEFAULT_SLOW_DATABASE_MS, _int),
        "stats_window_seconds": Field(STATS_WINDOW_KEY, DEFAULT_STATS_WINDOW_SECONDS, _int),
    },
}
MODELS: Final[dict[Category, type[BaseModel]]] = {
    "general": GeneralSettings,
    "security": SecuritySettings,
    "performance": PerformanceSettings,
}


def _values(db: Session, category: Category, session_default: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in FIELDS[category].items():
        stored = service.get_setting(db, spec.key)
        values[name] = stored if spec.valid(stored) else spec.default
    if category == "security":
        values["session_timeout_minutes"] = service.session_timeout_minutes(db, session_default)
    return values


def _notification_values(db: Session) -> dict[str, Any]:
    shown = notification_config.view(db, notification_config.load(db))
    return {
        "email_enabled": shown.email_provider is not None,
        "email_provider": shown.email_provider,
        "sms_enabled": shown.sms_provider is not None,
        "sms_provider": shown.sms_provider,
        "push_enabled": shown.push_enabled,
        "quiet_hours_start": shown.quiet_hours_start,
        "quiet_hours_end": shown.quiet_hours_end,
        "timezone": shown.timezone,
        "notify_clients": shown.notify_clients,
    }


def read_category(db: Session, category: Category, session_default: int) -> BaseModel:
    if category == "notifications":
        return NotificationSettings.model_validate(_notification_values(db))
    values = _values(db, category, session_default)
    if category == "security":
        values.update(password_min_length=PASSWORD_MIN_LENGTH, two_factor_available=True)
    return MODELS[category].model_validate(values)


def update_category(
    db: Session,
    category: Category,
    changes: dict[str, Any],
    *,
    actor_id: str,
    session_default: int,
    correlation_id: str | None,
) -> list[str]:
    """Store the changed fields and append one history row per key whose value changed;
    answers the keys changed. Fields sent with their current value change nothing."""
    before = _values(db, category, session_default)
    _check_category(category, {**before, **changes})
    changed = {name: value for name, value in changes.items() if before[name] != value}
    stored = dict(changed)
    if category == "general" and _WORKING_DAY & stored.keys():
        # The working day is read as a pair (tasks/assignment.py looks at the start key
        # to decide the pair is set): store both ends together.
        stored = {name: before[name] for name in _WORKING_DAY} | stored
    for name, value in stored.items():
        service.set_setting(db, FIELDS[category][name].key, value, actor_id=actor_id)
    keys = {name: FIELDS[category][name].key for name in changed}
    _audit(db, category, keys, before, changed, actor_id=actor_id, correlation_id=correlation_id)
    return sorted(keys.values())


def update_notifications(
    db: Session,
    box: SecretBox,
    changes: dict[str, Any],
    *,
    actor_id: str,
    correlation_id: str | None,
) -> list[str]:
    """The notification service's toggles and quiet hours, through its own configure()
    (which checks the whole configuration), audited here like the other categories."""
    before = _notification_values(db)
    changed = {name: value for name, value in changes.items() if before[name] != value}
    if not changed:
        return []
    notification_config.configure(
        db, box, NotificationConfigRequest.model_validate(changed), actor_id
    )
    keys = {name: f"notifications.{name}" for name in changed}
    _audit(
        db,
        "notifications",
        keys,
        before,
        changed,
        actor_id=actor_id,
        correlation_id=correlation_id,
    )
    return sorted(keys.values())


def _audit(
    db: Session,
    category: Category,
    keys: dict[str, str],
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    actor_id: str,
    correlation_id: str | None,
) -> None:
    now = clock.now_ms()
    for name, key in sorted(keys.items()):
        db.add(
            SettingChange(
                id=str(uuid.uuid4()),
                key=key,
                category=category,
                old_value=json.dumps(before[name]),
                new_value=json.dumps(after[name]),
                changed_by=actor_id,
                changed_at=now,
                correlation_id=correlation_id,
            )
        )
    db.flush()


def _check_category(category: Category, values: dict[str, Any]) -> None:
    """Rules across fields, checked against the stored values the request leaves as they are."""
    if category == "general" and values["working_hours_start"] >= values["working_hours_end"]:
        raise ValidationFailed(
            message="working_hours_start must be before working_hours_end",
            fields=[{"field": "working_hours_start", "message": "not before the end"}],
        )


def history(db: Session, key: str | None, limit: int) -> list[SettingChangeOut]:
    query = select(SettingChange).order_by(SettingChange.changed_at.desc(), SettingChange.key)
    if key is not None:
        query = query.where(SettingChange.key == key)
    return [
        SettingChangeOut(
            id=row.id,
            key=row.key,
            category=row.category,
            old_value=json.loads(row.old_value) if row.old_value is not None else None,
            new_value=json.loads(row.new_value),
            changed_by=row.changed_by,
            changed_at=row.changed_at,
        )
        for row in db.scalars(query.limit(limit))
    ]


def slow_database_threshold_ms(stored: str | None) -> int:
    """The threshold from the stored JSON of its key (health_check reads the row along
    with its database round trip)."""
    try:
        value: Any = json.loads(stored) if stored is not None else None
    except ValueError:
        return DEFAULT_SLOW_DATABASE_MS
    return int(value) if _int(value) else DEFAULT_SLOW_DATABASE_MS


def stats_window_seconds(db: Session) -> int:
    value = service.get_setting(db, STATS_WINDOW_KEY)
    return value if _int(value) and value > 0 else DEFAULT_STATS_WINDOW_SECONDS
