"""Settings commands through the HTTP transport: reading by category, admin-only updates
validated field by field, the audit trail, and what other domains read."""

from __future__ import annotations

import json
from datetime import time
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.domains.settings.models import SettingChange
from rpma.domains.settings.service import company_name, shop_timezone, working_hours
from tests.conftest import LiveServer
from tests.helpers import refused, security_events

DEFAULTS: dict[str, dict[str, Any]] = {
    "general": {
        "company_name": "RPMA Workshop",
        "default_language": "en",
        "timezone": "UTC",
        "date_format": "YYYY-MM-DD",
        "theme": "auto",
        "working_hours_start": "08:00",
        "working_hours_end": "18:00",
    },
    "security": {
        "session_timeout_minutes": 480,
        "password_min_length": 8,
        "two_factor_available": True,
    },
    "notifications": {
        "email_enabled": False,
        "email_provider": None,
        "sms_enabled": False,
        "sms_provider": None,
        "push_enabled": True,
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "timezone": "UTC",
        "notify_clients": False,
    },
    "performance": {"slow_database_threshold_ms": 1000, "stats_window_seconds": 60},
}


def history_rows(server: LiveServer) -> list[tuple[str, str, str | None, str, str | None]]:
    with server.services.db.session(write=False) as db:
        rows = db.scalars(select(SettingChange).order_by(SettingChange.key))
        return [(r.key, r.category, r.old_value, r.new_value, r.changed_by) for r in rows]


def test_every_signed_in_role_reads_the_defaults(
    role_clients: dict[str, IpcClient], anon: IpcClient, server: LiveServer
) -> None:
    for client in role_clients.values():
        assert client.settings.get() == DEFAULTS
    assert role_clients["viewer"].settings.get("security") == {"security": DEFAULTS["security"]}
    refused(server.services, anon.settings.get, "AUTH_SESSION_INVALID", 401)


def test_general_update_is_stored_read_by_other_domains_and_audited(
    admin: IpcClient, server: LiveServer
) -> None:
    clock.freeze()
    assert (
        admin.settings.update_general(
            company_name="  PPF Pro Services ",
            timezone="America/New_York",
            theme="dark",
            working_hours_start="07:30",
        )
        is None
    )
    general = admin.settings.get("general")["general"]
    assert general == {
        **DEFAULTS["general"],
        "company_name": "PPF Pro Services",
        "timezone": "America/New_York",
        "theme": "dark",
        "working_hours_start": "07:30",
    }
    with server.services.db.session(write=False) as db:
        assert company_name(db) == "PPF Pro Services"
        assert shop_timezone(db) == ZoneInfo("America/New_York")
        assert working_hours(db) == (time(7, 30), time(18, 0))
    owner = admin.call("auth_validate_session", {})["user"]["id"]
    assert history_rows(server) == [
        ("general.company_name", "general", '"RPMA Workshop"', '"PPF Pro Services"', owner),
        ("general.theme", "general", '"auto"', '"dark"', owner),
        ("general.timezone", "general", '"UTC"', '"America/New_York"', owner),
        ("general.working_hours_start", "general", '"08:00"', '"07:30"', owner),
    ]
    history = admin.settings.history(key="general.theme")
    assert history == [
        {
            "id": history[0]["id"],
            "key": "general.theme",
            "category": "general",
            "old_value": "auto",
            "new_value": "dark",
            "changed_by": owner,
            "changed_at": clock.now_ms(),
        }
    ]
    # The same value again changes nothing and adds no history.
    admin.settings.update_general(theme="dark")
    assert len(history_rows(server)) == 4


def test_other_categories_update(admin: IpcClient, server: LiveServer) -> None:
    admin.settings.update_security(session_timeout_minutes=60)
    admin.settings.update_notifications(
        push_enabled=False, quiet_hours_start="22:00", quiet_hours_end="07:00"
    )
    admin.settings.update_performance(slow_database_threshold_ms=250, stats_window_seconds=30)
    assert admin.settings.get() == {
        "general": DEFAULTS["general"],
        "security": {**DEFAULTS["security"], "session_timeout_minutes": 60},
        "notifications": {
            **DEFAULTS["notifications"],
            "push_enabled": False,
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:00",
        },
        "performance": {"slow_database_threshold_ms": 250, "stats_window_seconds": 30},
    }
    # The session lifetime is also a security event, as update_session_timeout records it.
    assert [e for e, _ in security_events(server.services)].count("session_timeout_changed") == 1
    # One source of truth: the notification service sees the same configuration.
    config = admin.call("get_notification_config", {})
    assert (config["push_enabled"], config["quiet_hours_start"], config["quiet_hours_end"]) == (
        False,
        "22:00",
        "07:00",
    )
    # Quiet hours off again: both null.
    admin.settings.update_notifications(quiet_hours_start=None, quiet_hours_end=None)
    notifications = admin.settings.get("notifications")["notifications"]
    assert (notifications["quiet_hours_start"], notifications["quiet_hours_end"]) == (None, None)
    starts = [row for row in history_rows(server) if row[0] == "notifications.quiet_hours_start"]
    assert sorted((old, new) for _, _, old, new, _ in starts) == sorted(
        [("null", '"22:00"'), ('"22:00"', "null")]
    )


BAD_GENERAL: list[tuple[dict[str, Any], str]] = [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"company_name": ""}, "company_name"),
    ({"company_name": "   "}, "company_name"),
    ({"company_name": None}, "(body)"),
    ({"theme": "neon"}, "theme"),
    ({"date_format": "%Y"}, "date_format"),
    ({"default_language": "english"}, "default_language"),
    ({"working_hours_start": "25:00"}, "working_hours_start"),
    ({"working_hours_start": "19:00"}, "working_hours_start"),  # after the stored end
    ({"colour": "red"}, "colour"),
    ({}, "(body)"),
]


@pytest.mark.parametrize(("body", "field"), BAD_GENERAL)
def test_bad_general_settings_change_nothing(
    admin: IpcClient, server: LiveServer, body: dict[str, object], field: str
) -> None:
    error = refused(
        server.services,
        partial(admin.call, "settings_update_general_settings", body),
        "VALIDATION_ERROR",
        400,
    )
    assert field in json.dumps(error.details) or field == "(body)"


def test_unknown_category_and_bad_values_elsewhere(admin: IpcClient, server: LiveServer) -> None:
    checks: list[tuple[str, dict[str, Any]]] = [
        ("settings_get_app_settings", {"category": "plugins"}),
        ("settings_update_security_settings", {"session_timeout_minutes": 1}),
        ("settings_update_security_settings", {"session_timeout_minutes": "60"}),
        ("settings_update_notification_settings", {"quiet_hours_start": "22:00"}),
        ("settings_update_notification_settings", {"push_enabled": None}),
        ("settings_update_notification_settings", {"sms_api_key": "secret-key-1234"}),
        (
            "settings_update_notification_settings",
            {"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"},
        ),
        ("settings_update_performance_settings", {"stats_window_seconds": 5}),
        ("settings_update_performance_settings", {"slow_database_threshold_ms": -1}),
    ]
    for command, body in checks:
        refused(server.services, partial(admin.call, command, body), "VALIDATION_ERROR", 400)
    assert history_rows(server) == []


def test_only_an_admin_changes_settings(
    role_clients: dict[str, IpcClient], server: LiveServer
) -> None:
    for role in ("supervisor", "technician", "viewer"):
        client = role_clients[role]
        writes: list[tuple[str, dict[str, Any]]] = [
            ("settings_update_general_settings", {"company_name": "Hijacked"}),
            ("settings_update_security_settings", {"session_timeout_minutes": 10080}),
            ("settings_update_notification_settings", {"push_enabled": False}),
            ("settings_update_performance_settings", {"stats_window_seconds": 10}),
            ("settings_get_history", {}),
        ]
        for command, body in writes:
            refused(server.services, partial(client.call, command, body), "AUTH_FORBIDDEN", 403)
    assert role_clients["viewer"].settings.get("general") == {"general": DEFAULTS["general"]}


def test_secrets_never_appear(admin: IpcClient, server: LiveServer) -> None:
    secret = "SG.super-secret-sendgrid-key-9876"
    admin.call(
        "initialize_notification_service",
        {
            "email_provider": "sendgrid",
            "email_api_key": secret,
            "email_from_email": "shop@ppf.example",
        },
    )
    admin.settings.update_notifications(notify_clients=True)
    settings = admin.settings.get()
    assert settings["notifications"] == {
        **DEFAULTS["notifications"],
        "email_enabled": True,
        "email_provider": "sendgrid",
        "notify_clients": True,
    }
    assert "9876" not in json.dumps(settings)
    assert "9876" not in json.dumps(admin.settings.history())
