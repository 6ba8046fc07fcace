"""Recording security events: the append-only trail every domain writes to."""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import ClientInfo
from rpma.domains.security.models import SecurityEvent


class EventType(StrEnum):
    LOGIN_SUCCESS = "login_success"
    LOGIN_FAILED = "login_failed"
    ACCOUNT_LOCKED = "account_locked"
    LOGOUT = "logout"
    TOKEN_REFRESHED = "token_refreshed"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"
    TWO_FACTOR_ENABLED = "2fa_enabled"
    TWO_FACTOR_DISABLED = "2fa_disabled"
    TWO_FACTOR_FAILED = "2fa_failed"
    BACKUP_CODES_REGENERATED = "2fa_backup_codes_regenerated"
    BACKUP_CODE_USED = "2fa_backup_code_used"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    ROLE_CHANGED = "role_changed"
    USER_CREATED = "user_created"
    USER_DEACTIVATED = "user_deactivated"
    USER_ACTIVATED = "user_activated"
    USER_DELETED = "user_deleted"
    SESSION_REVOKED = "session_revoked"
    SESSION_TIMEOUT_CHANGED = "session_timeout_changed"
    PERMISSION_DENIED = "permission_denied"
    RATE_LIMIT_HIT = "rate_limit_hit"


# What counts as "suspicious" in get_security_metrics.
SUSPICIOUS = frozenset(
    {
        EventType.ACCOUNT_LOCKED,
        EventType.REFRESH_TOKEN_REUSE,
        EventType.PERMISSION_DENIED,
        EventType.RATE_LIMIT_HIT,
        EventType.TWO_FACTOR_FAILED,
    }
)
CRITICAL = frozenset({EventType.ACCOUNT_LOCKED, EventType.REFRESH_TOKEN_REUSE})


def record(
    db: Session,
    event_type: EventType | str,
    description: str,
    *,
    user_id: str | None = None,
    client: ClientInfo | None = None,
    **details: Any,
) -> None:
    """Append one event (flushes; the caller's transaction commits it)."""
    event_type = EventType(event_type)
    severity = (
        "critical" if event_type in CRITICAL else "warning" if event_type in SUSPICIOUS else "info"
    )
    db.add(
        SecurityEvent(
            id=str(uuid.uuid4()),
            event_type=event_type.value,
            severity=severity,
            user_id=user_id,
            description=description[:500],
            details=json.dumps(details, default=str) if details else None,
            ip_address=client.ip_address if client else None,
            user_agent=(client.user_agent or "")[:512] or None if client else None,
            timestamp=clock.now_ms(),
        )
    )
    db.flush()
