"""Reading and writing the run-time settings in ``app_settings`` (JSON values by key).

Services flush, never commit: the caller's transaction owns the write.
"""

from __future__ import annotations

import json
from typing import Any, Final

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
