"""Security command requests and answers (seed: Security Commands)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from rpma.core.commands import IpcRequest


class SecurityEventsRequest(IpcRequest):
    limit: int = Field(default=50, ge=1, le=1000)
    event_type: str | None = Field(default=None, max_length=48)
    user_id: str | None = Field(default=None, max_length=36)


class SecurityEventOut(BaseModel):
    id: str
    event_type: str
    severity: str
    user_id: str | None
    description: str
    details: dict[str, Any] | None
    timestamp: int
    ip_address: str | None
    user_agent: str | None


class SecurityMetrics(BaseModel):
    failed_login_attempts: int = Field(description="login_failed events in the last 24 hours")
    suspicious_activities: int = Field(description="warning or critical events, last 24 hours")
    active_sessions: int
    security_alerts: int = Field(description="critical events in the last 24 hours")
    last_security_event: int | None = Field(description="Unix ms of the newest event")
    locked_accounts: int
