"""Notification configuration, templates, send_notification's checks, the in-app inbox
and preferences, through the real HTTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.domains.notifications.configuration import load, quiet_until
from rpma.domains.notifications.templates import DEFAULTS
from tests.conftest import LiveServer, make_user
from tests.fakes.notifications import (  # noqa: F401 - fixtures
    TWILIO_FROM,
    configure,
    paused_fixture,
    providers_fixture,
    rows,
    sendgrid,
    twilio,
    user_id,
)
from tests.fakes.providers import SENDGRID_KEY, TWILIO_TOKEN, ProviderServer
from tests.helpers import raw, refused

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon UTC
ALERT = {"title": "Booth maintenance", "message": "The paint booth is closed on Friday."}


@pytest.fixture
def frozen(server: LiveServer) -> None:
    """The clock at NOW; ask for it before ``admin`` so that the sign-in happens then."""
    clock.freeze(NOW)


@pytest.fixture
def tech(admin: IpcClient, server: LiveServer) -> IpcClient:
    return make_user(admin, server, "technician", "tina@shop.example")


def send(client: IpcClient, to: str, recipient: str, **extra: Any) -> Any:
    body = {"user_id": to, "notification_type": "system_alert", "recipient": recipient}
    return client.call("send_notification", {"variables": ALERT, **body, **extra})


# Configuration -----------------------------------------------------------------------------
def test_configure_stores_keys_sealed_and_shows_only_their_end(
    server: LiveServer, admin: IpcClient, providers: ProviderServer
) -> None:
    assert admin.call("get_notification_config", {})["email_provider"] is None
    sendgrid(admin, providers, quiet_hours_start="22:00", quiet_hours_end="07:00")
    twilio(admin, providers, timezone="Europe/Paris", notify_clients=True)
    answer = raw(admin, "get_notification_config", {"session_token": admin.token})
    assert SENDGRID_KEY not in answer.text
    assert TWILIO_TOKEN not in answer.text
    config = answer.json()["data"]
    assert config == {
        "email_provider": "sendgrid",
        "email_api_key_last4": "abcd",
        "email_from_email": "noreply@shop.example",
        "email_from_name": "PPF Shop",
        "email_api_base_url": providers.url,
        "email_domain": None,
        "smtp_host": None,
        "smtp_port": None,
        "smtp_username": None,
        "smtp_starttls": False,
        "sms_provider": "twilio",
        "sms_account_sid": "AC0123456789abcdef0123456789abcdef",
        "sms_api_key_last4": "5678",
        "sms_from_number": TWILIO_FROM,
        "sms_api_base_url": providers.url,
        "push_enabled": True,
        "quiet_hours_start": "22:00",
        "quiet_hours_end": "07:00",
        "timezone": "Europe/Paris",
        "notify_clients": True,
        "updated_at": config["updated_at"],
    }
    with server.services.db.session(write=False) as db:
        row = load(db)
        assert row is not None
        assert row.email_secret
        assert row.sms_secret
        stored = json.dumps([row.email_secret, row.sms_secret])
    assert SENDGRID_KEY not in stored
    assert TWILIO_TOKEN not in stored
    assert row.email_secret.startswith("v1:")
    # A partial update keeps the rest; switching provider needs that provider's key.
    configure(admin, email_from_name="Shop")
    assert admin.call("get_notification_config", {})["email_api_key_last4"] == "abcd"
    refused(
        server.services,
        partial(configure, admin, email_provider="mailgun"),
        "VALIDATION_ERROR",
        400,
    )
    configure(admin, email_provider=None)  # the email channel off
    assert admin.call("get_notification_config", {})["email_api_key_last4"] is None


@pytest.mark.parametrize(
    ("fields", "code", "says"),
    [
        ({}, "VALIDATION_ERROR", "nothing to configure"),
        ({"sms_provider": "aws_sns"}, "NOTIFICATION_PROVIDER_UNSUPPORTED", "not supported"),
        ({"email_provider": "postmark"}, "VALIDATION_ERROR", "unknown provider 'postmark'"),
        (
            {"email_provider": "sendgrid", "email_from_email": "a@shop.example"},
            "VALIDATION_ERROR",
            "email_api_key: missing credentials: required for sendgrid",
        ),
        (
            {"email_provider": "smtp", "email_from_email": "a@shop.example"},
            "VALIDATION_ERROR",
            "smtp_host: missing credentials",
        ),
        (
            {"email_provider": "sendgrid", "email_api_key": "k"},
            "VALIDATION_ERROR",
            "email_from_email: required",
        ),
        ({"email_from_email": "not-an-email"}, "VALIDATION_EMAIL_INVALID", ""),
        ({"sms_from_number": "555-0100"}, "VALIDATION_PHONE_INVALID", "E.164"),
        ({"sms_from_number": "+10000000000"}, "VALIDATION_PHONE_INVALID", "not a valid"),
        (
            {"sms_provider": "twilio", "sms_api_key": "t", "sms_from_number": TWILIO_FROM},
            "VALIDATION_ERROR",
            "sms_account_sid: missing credentials",
        ),
        ({"timezone": "Mars/Olympus"}, "VALIDATION_ERROR", "unknown IANA time zone"),
        ({"quiet_hours_start": "22:00"}, "VALIDATION_ERROR", "give both"),
        ({"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}, "VALIDATION_ERROR", "HH:MM"),
        ({"email_api_base_url": "http://evil.example"}, "VALIDATION_ERROR", "https"),
        ({"push_enabled": None}, "VALIDATION_ERROR", "may not be null"),
    ],
)
def test_configure_refuses_what_cannot_work(
    server: LiveServer, admin: IpcClient, fields: dict[str, Any], code: str, says: str
) -> None:
    error = refused(server.services, partial(configure, admin, **fields), code, 400)
    assert says in error.message


def test_only_the_admin_configures(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    for role in ("supervisor", "technician", "viewer"):
        client = role_clients[role]
        for name in ("initialize_notification_service", "get_notification_config"):
            refused(
                server.services,
                partial(client.call, name, {"push_enabled": False}),
                "AUTH_FORBIDDEN",
                403,
            )
    for role in ("technician", "viewer"):
        refused(
            server.services,
            partial(send, role_clients[role], user_id(role_clients[role]), "a@shop.example"),
            "AUTH_FORBIDDEN",
            403,
        )


def test_quiet_hours_end_in_the_configured_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    # 23:30 in Paris (22:30 UTC in winter): quiet until 07:00 Paris the next morning.
    inside = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)
    assert quiet_until(inside, "22:00", "07:00", paris) == datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
    # 06:59 Paris, same window: the end is the same morning.
    early = datetime(2026, 1, 6, 5, 59, tzinfo=UTC)
    assert quiet_until(early, "22:00", "07:00", paris) == datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 1, 6, 6, 0, tzinfo=UTC), "22:00", "07:00", paris) is None
    # A daytime window, and summer time (UTC+2).
    lunch = datetime(2026, 7, 1, 10, 15, tzinfo=UTC)  # 12:15 in Paris
    assert quiet_until(lunch, "12:00", "13:30", paris) == datetime(2026, 7, 1, 11, 30, tzinfo=UTC)
    assert quiet_until(lunch, None, None, paris) is None


# Templates -------------------------------------------------------------------------------
def test_templates_are_editable_and_checked(server: LiveServer, admin: IpcClient) -> None:
    listed = admin.call("notification_get_templates", {})
    assert [t["notification_type"] for t in listed] == [
        "task_assigned",
        "task_updated",
        "task_completed",
        "system_alert",
    ]
    assert listed[3] == {
        "notification_type": "system_alert",
        "subject": "{title}",
        "body_text": "{message}\n\n{company_name}",
        "body_html": "<p>{message}</p><p>{company_name}</p>",
        "variables": ["company_name", "message", "recipient_name", "title"],
        "customized": False,
        "updated_at": None,
    }
    update = partial(admin.call, "notification_update_template")
    for body, says in [
        ({"subject": "Hi {customer}"}, "subject: unknown variable customer for system_alert"),
        ({"body_html": "<p>{message</p>"}, "body_html: malformed template"),
        ({"body_text": "{message.__class__}"}, "is not a plain {variable} field"),
        ({"body_text": "{message!r}"}, "is not a plain {variable} field"),
        ({"body_text": "{0}"}, "is not a plain {variable} field"),
    ]:
        error = refused(
            server.services,
            partial(update, {"notification_type": "system_alert", **body}),
            "VALIDATION_ERROR",
            400,
        )
        assert says in error.message
    edited = update({"notification_type": "system_alert", "subject": "[{company_name}] {title}"})
    assert (edited["subject"], edited["customized"]) == ("[{company_name}] {title}", True)
    assert edited["body_text"] == DEFAULTS["system_alert"].body_text
    back = update({"notification_type": "system_alert", "reset": True})
    assert (back["subject"], back["customized"]) == ("{title}", False)
    refused(
        server.services,
        partial(update, {"notification_type": "invoice_sent", "subject": "x"}),
        "VALIDATION_ERROR",
        400,
    )


# send_notification -----------------------------------------------------------------------
@pytest.mark.usefixtures("frozen", "paused")
def test_send_queues_email_and_pushes_in_app(
    server: LiveServer,
    admin: IpcClient,
    tech: IpcClient,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers)
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    try:
        tech_id = user_id(tech)
        variables = {"title": "Booth <b>closed</b>", "message": "Fish & chips at 5 <today>"}
        assert send(admin, tech_id, " Tina@Shop.example ", variables=variables) is None
    finally:
        unsubscribe()
    email, in_app = rows(server, "email"), rows(server, "in_app")
    assert len(email) == 1
    assert len(in_app) == 1
    row = email[0]
    assert (row.recipient, row.status, row.attempts, row.next_attempt_at) == (
        "tina@shop.example",
        "pending",
        0,
        int(NOW.timestamp() * 1000),
    )
    assert row.subject == "Booth <b>closed</b>"
    assert row.body_text == "Fish & chips at 5 <today>\n\nRPMA Workshop"
    assert row.body_html == "<p>Fish &amp; chips at 5 &lt;today&gt;</p><p>RPMA Workshop</p>"
    assert (in_app[0].status, in_app[0].user_id, in_app[0].level) == (
        "delivered",
        tech_id,
        "warning",
    )
    pushes = [e for e in seen if e.type == "system_notification"]
    assert len(pushes) == 1
    assert pushes[0].audience_users == frozenset({tech_id})
    assert pushes[0].data == {
        "title": "Booth <b>closed</b>",
        "message": "Fish & chips at 5 <today>\n\nRPMA Workshop",
        "level": "warning",
        "timestamp": int(NOW.timestamp() * 1000),
        "notification_id": in_app[0].id,
        "notification_type": "system_alert",
        "task_id": None,
    }
    assert providers.requests == []  # the worker is paused: queued, not sent


def test_send_refuses_bad_input_and_writes_nothing(
    server: LiveServer, admin: IpcClient, tech: IpcClient, providers: ProviderServer
) -> None:
    tech_id = user_id(tech)
    go = partial(send, admin, tech_id)
    refused(server.services, partial(go, "tina@shop.example"), "NOTIFICATION_NOT_CONFIGURED", 400)
    refused(server.services, partial(go, TWILIO_FROM), "NOTIFICATION_NOT_CONFIGURED", 400)
    sendgrid(admin, providers)
    twilio(admin, providers)
    cases: list[tuple[Any, str, str]] = [
        (partial(go, "tina@@shop"), "VALIDATION_EMAIL_INVALID", "recipient: "),
        (partial(go, "+1234"), "VALIDATION_PHONE_INVALID", "recipient: "),
        (partial(go, "+1 415 555 0123"), "VALIDATION_PHONE_INVALID", "E.164"),
        (partial(go, "tina"), "VALIDATION_ERROR", "expected an email address or an E.164"),
        (
            partial(go, "tina@shop.example", variables={**ALERT, "colour": "red"}),
            "VALIDATION_ERROR",
            "variables.colour: unknown variable for system_alert",
        ),
        (
            partial(go, "tina@shop.example", variables={"title": "t"}),
            "VALIDATION_ERROR",
            "variables.message: required by the system_alert template",
        ),
        (partial(send, admin, "no-such-user", "tina@shop.example"), "NOT_FOUND_USER", "User"),
        (
            partial(go, "tina@shop.example", notification_type="invoice"),
            "VALIDATION_ERROR",
            "notification_type",
        ),
    ]
    for call, code, says in cases:
        error = refused(server.services, call, code)
        assert says in error.message, error.message
    assert rows(server) == []


# The inbox and preferences ---------------------------------------------------------------
@pytest.mark.usefixtures("frozen", "paused")
def test_inbox_is_own_paginated_and_marked_read(
    server: LiveServer,
    admin: IpcClient,
    tech: IpcClient,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers)
    tech_id, admin_id = user_id(tech), user_id(admin)
    for number in range(3):
        clock.advance(timedelta(seconds=1))
        send(admin, tech_id, "tina@shop.example", variables={"title": f"T{number}", "message": "m"})
    send(admin, admin_id, "owner@shop.example")
    page = tech.call("notification_list", {"page": 1, "page_size": 2})
    assert [n["title"] for n in page["notifications"]] == ["T2", "T1"]
    assert (
        page["unread_count"],
        page["pagination"]["total"],
        page["pagination"]["total_pages"],
    ) == (
        3,
        3,
        2,
    )
    newest = page["notifications"][0]
    assert newest["channel"] == "in_app"
    assert newest["is_read"] is False
    read = tech.call("notification_mark_read", {"notification_id": newest["id"]})
    assert (read["is_read"], read["read_at"]) == (True, int(clock.now().timestamp() * 1000))
    unread = tech.call("notification_list", {"unread_only": True})
    assert [n["title"] for n in unread["notifications"]] == ["T1", "T0"]
    assert unread["unread_count"] == 2
    # Someone else's notification, or an email row, is not found.
    theirs = admin.call("notification_list", {})["notifications"][0]["id"]
    refused(
        server.services,
        partial(tech.call, "notification_mark_read", {"notification_id": theirs}),
        "NOT_FOUND_NOTIFICATION",
        404,
    )
    email_id = rows(server, "email")[0].id
    refused(
        server.services,
        partial(tech.call, "notification_mark_read", {"notification_id": email_id}),
        "NOT_FOUND_NOTIFICATION",
        404,
    )
    assert tech.notifications.mark_all_read() == {"updated": 2}
    assert tech.call("notification_mark_all_read", {}) == {"updated": 0}
    assert admin.call("notification_list", {})["unread_count"] == 1


def test_preferences_default_and_change(
    server: LiveServer, admin: IpcClient, tech: IpcClient
) -> None:
    prefs = tech.notifications.preferences()["preferences"]  # through the SDK
    assert len(prefs) == 12
    assert {(p["channel"], p["enabled"]) for p in prefs} == {
        ("email", True),
        ("sms", False),
        ("in_app", True),
    }
    changed = tech.notifications.update_preferences(
        [
            {"notification_type": "task_assigned", "channel": "sms", "enabled": True},
            {"notification_type": "task_completed", "channel": "email", "enabled": False},
        ]
    )["preferences"]
    mine = {(p["notification_type"], p["channel"]): p["enabled"] for p in changed}
    assert mine[("task_assigned", "sms")] is True
    assert mine[("task_completed", "email")] is False
    assert mine[("task_updated", "sms")] is False
    # Someone else's preferences are untouched.
    others = admin.call("notification_get_preferences", {})["preferences"]
    assert all(p["enabled"] == (p["channel"] != "sms") for p in others)
    bad = {
        "preferences": [{"notification_type": "task_assigned", "channel": "fax", "enabled": True}]
    }
    refused(
        server.services,
        partial(tech.call, "notification_update_preferences", bad),
        "VALIDATION_ERROR",
        400,
    )


@pytest.mark.usefixtures("paused")
def test_push_off_keeps_the_inbox_row_but_sends_no_live_event(
    server: LiveServer,
    admin: IpcClient,
    role_clients: dict[str, IpcClient],
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers, push_enabled=False)
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    try:
        # A supervisor may send too.
        viewer_id = user_id(role_clients["viewer"])
        send(role_clients["supervisor"], viewer_id, "viewer@shop.example")
    finally:
        unsubscribe()
    assert [e.type for e in seen] == []
    listed = role_clients["viewer"].call("notification_list", {})
    assert [n["title"] for n in listed["notifications"]] == ["Booth maintenance"]
