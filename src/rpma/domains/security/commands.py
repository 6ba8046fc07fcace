"""Security commands (seed: Security Commands): the trail and its metrics, admin only."""

from __future__ import annotations

import json

from rpma.core.clock import clock
from rpma.core.commands import command
from rpma.core.context import CommandContext
from rpma.domains.security.repository import SecurityRepository
from rpma.domains.security.schemas import SecurityEventOut, SecurityEventsRequest, SecurityMetrics

DAY_MS = 24 * 3600 * 1000
ADMIN_ERRORS = ("AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED")


@command(
    "get_security_events",
    request=SecurityEventsRequest,
    response=list[SecurityEventOut],
    permission="system.admin",
    writes=False,
    errors=[*ADMIN_ERRORS, "VALIDATION_ERROR"],
)
def get_security_events(ctx: CommandContext, req: SecurityEventsRequest) -> list[SecurityEventOut]:
    """Recent security events, newest first (optionally of one type or one user)."""
    rows = SecurityRepository(ctx.db).newest(req.limit, req.event_type, req.user_id)
    return [
        SecurityEventOut(
            id=row.id,
            event_type=row.event_type,
            severity=row.severity,
            user_id=row.user_id,
            description=row.description,
            details=json.loads(row.details) if row.details else None,
            timestamp=row.timestamp,
            ip_address=row.ip_address,
            user_agent=row.user_agent,
        )
        for row in rows
    ]


@command(
    "get_security_metrics",
    response=SecurityMetrics,
    permission="system.admin",
    writes=False,
    errors=list(ADMIN_ERRORS),
)
def get_security_metrics(ctx: CommandContext, _req: object) -> SecurityMetrics:
    """Failed logins, suspicious activity and alerts of the last 24 hours; live sessions."""
    repo = SecurityRepository(ctx.db)
    now = clock.now_ms()
    since = now - DAY_MS
    return SecurityMetrics(
        failed_login_attempts=repo.count_since(since, event_type="login_failed"),
        suspicious_activities=repo.count_since(since, severities=("warning", "critical")),
        active_sessions=repo.active_sessions(now),
        security_alerts=repo.count_since(since, severities=("critical",)),
        last_security_event=repo.last_timestamp(),
        locked_accounts=repo.locked_accounts(now),
    )
