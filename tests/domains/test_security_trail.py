"""The security trail: refusals recorded by the dispatcher, and the admin commands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.ratelimit import RateLimiter
from tests.conftest import LiveServer, fast_settings, make_user
from tests.helpers import refused, security_events


def _user_id(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])


def test_permission_denied_is_recorded(server: LiveServer, admin: IpcClient) -> None:
    tech = make_user(admin, server, "technician")
    before = len(security_events(server.services))
    refused(server.services, lambda: tech.call("get_security_events"), "AUTH_FORBIDDEN", 403)
    events = security_events(server.services)[before:]
    assert events == [("permission_denied", _user_id(tech))]
    newest = admin.call("get_security_events", {"limit": 1})[0]
    assert newest["event_type"] == "permission_denied"
    assert newest["severity"] == "warning"
    assert newest["ip_address"] == "127.0.0.1"
    assert newest["details"] == {"role": "technician"}
    assert newest["description"] == "technician refused get_security_events"
    tech.close()


def test_rate_limit_hit_is_recorded(server: LiveServer, anon: IpcClient, tmp_path: Path) -> None:
    original = server.services.rate_limiter
    limiter = RateLimiter(
        fast_settings(tmp_path, rate_limits_enabled=True, rate_limit_auth="1/minute")
    )
    server.services.rate_limiter = limiter
    try:
        refused(
            server.services,
            lambda: anon.call("auth_refresh_token", {"refresh_token": "x"}),
            "AUTH_SESSION_INVALID",
            401,
        )
        refused(
            server.services,
            lambda: anon.call("auth_refresh_token", {"refresh_token": "x"}),
            "RATE_LIMIT",
            429,
        )
    finally:
        server.services.rate_limiter = original
    assert ("rate_limit_hit", None) in security_events(server.services)


def test_events_are_newest_first_and_filtered(server: LiveServer, admin: IpcClient) -> None:
    tech = make_user(admin, server, "technician")
    clock.freeze()
    for _ in range(3):
        clock.advance(timedelta(seconds=1))
        refused(server.services, lambda: tech.call("get_security_metrics"), "AUTH_FORBIDDEN")
    events = admin.call("get_security_events", {"event_type": "permission_denied"})
    assert [e["timestamp"] for e in events] == sorted(
        (e["timestamp"] for e in events), reverse=True
    )
    assert len(events) == 3
    assert len(admin.call("get_security_events", {"limit": 2})) == 2
    refused(
        server.services,
        lambda: admin.call("get_security_events", {"limit": 0}),
        "VALIDATION_ERROR",
        400,
    )
    tech.close()


def test_metrics_count_the_last_day(server: LiveServer, admin: IpcClient) -> None:
    tech = make_user(admin, server, "technician")
    clock.freeze()
    refused(server.services, lambda: tech.call("get_security_metrics"), "AUTH_FORBIDDEN")
    metrics = admin.call("get_security_metrics")
    assert metrics["suspicious_activities"] >= 1
    # The owner, plus the technician twice: auth_create_account signs the new account in
    # (seed), and make_user then logs in again.
    assert metrics["active_sessions"] == 3
    assert metrics["last_security_event"] is not None
    clock.advance(timedelta(days=1, seconds=1))
    admin.auth.refresh_token()  # the 8-hour access token has expired meanwhile
    later = admin.call("get_security_metrics")
    assert later["suspicious_activities"] == 0
    tech.close()
