"""Reading and writing the run-time settings in ``app_settings`` (JSON values by key).

Services flush, never commit: the caller's transaction owns the write.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.domains.settings.models import AppSetting

SESSION_TIMEOUT_KEY: Final = "security.session_timeout_minutes"
# Five minutes to a week: shorter makes the app unusable on a tablet, longer defeats
# the point of an access token that expires.
SESSION_TIMEOUT_MIN: Final = 5
SESSION_TIMEOUT_MAX: Final = 7 * 24 * 60


def get_setting(db: Session, key: str, default: Any = None) -> Any:
    row = db.get(AppSetting, key)
    if row is None:
        return default
    try:
        return json.loads(row.value)
    except ValueError:  # a hand-edited row must not take the server down
        return default


def set_setting(db: Session, key: str, value: Any, *, actor_id: str | None) -> None:
    encoded = json.dumps(value)
    now = clock.now_ms()
    row = db.get(AppSetting, key)
    if row is None:
        db.add(AppSetting(key=key, value=encoded, updated_at=now, updated_by=actor_id))
    else:
        row.value = encoded
        row.updated_at = now
        row.updated_by = actor_id
    db.flush()


def session_timeout_minutes(db: Session, default: int) -> int:
    """The access-token lifetime for new sessions: the admin's setting, else ``default``
    (the server's configuration). A stored value out of bounds counts as unset."""
    value = get_setting(db, SESSION_TIMEOUT_KEY)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and SESSION_TIMEOUT_MIN <= value <= SESSION_TIMEOUT_MAX
    ):
        return value
    return default


# Shop-wide settings other domains read. The settings commands ([7/8]) write them; until
# an admin does, these defaults apply. Keys are part of the stored data: do not rename.
COMPANY_NAME_KEY: Final = "general.company_name"
TIMEZONE_KEY: Final = "general.timezone"
WORKING_HOURS_START_KEY: Final = "general.working_hours_start"
WORKING_HOURS_END_KEY: Final = "general.working_hours_end"
DEFAULT_COMPANY_NAME: Final = "RPMA Workshop"
DEFAULT_TIMEZONE: Final = "UTC"
DEFAULT_WORKING_HOURS: Final = (time(8, 0), time(18, 0))


def company_name(db: Session) -> str:
    value = get_setting(db, COMPANY_NAME_KEY)
    return value if isinstance(value, str) and value.strip() else DEFAULT_COMPANY_NAME


def shop_timezone(db: Session) -> ZoneInfo:
    """The shop's IANA time zone: what "today", report days and quiet hours mean.
    An unknown stored name counts as unset rather than breaking every report."""
    value = get_setting(db, TIMEZONE_KEY)
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(DEFAULT_TIMEZONE)


def shop_today(db: Session) -> date:
    """Today in the shop's time zone: what "overdue" and "in the future" mean."""
    return clock.now().astimezone(shop_timezone(db)).date()


def shop_day_start(db: Session, day: date, zone: ZoneInfo | None = None) -> datetime:
    """Midnight starting ``day`` in the shop's time zone (tz-aware); pass ``zone`` when
    the caller has read it already."""
    return datetime.combine(day, time.min, tzinfo=zone or shop_timezone(db))


def working_hours(db: Session) -> tuple[time, time]:
    """The shop's working day (local time), used for the calendar's overload check. An
    end not stored (or unreadable) takes its default; a day that does not end after it
    starts counts as unset."""
    parsed = (
        _clock_time(get_setting(db, WORKING_HOURS_START_KEY), DEFAULT_WORKING_HOURS[0]),
        _clock_time(get_setting(db, WORKING_HOURS_END_KEY), DEFAULT_WORKING_HOURS[1]),
    )
    return parsed if parsed[0] < parsed[1] else DEFAULT_WORKING_HOURS


def _clock_time(value: Any, default: time) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        return default
