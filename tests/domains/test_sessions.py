"""Session management and the own-password change through the real HTTP transport:
who sees and ends which session, the session timeout, and what a password change ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select, update

from rpma.client import IpcClient, IpcError
from rpma.core.clock import clock
from rpma.domains.auth.models import AuthSession
from rpma.domains.security.models import SecurityEvent
from rpma.domains.settings.models import AppSetting
from rpma.domains.settings.service import (
    SESSION_TIMEOUT_KEY,
    session_timeout_minutes,
    set_setting,
)
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, LiveServer, make_user
from tests.helpers import refused

NEW_PASSWORD = "Fresh-Owner-Pass-2025"
EIGHT_HOURS_MS = 8 * 3600 * 1000


def me(client: IpcClient) -> dict[str, Any]:
    return dict(client.call("auth_validate_session", {})["user"])


def session_id(client: IpcClient) -> str:
    [current] = [s for s in client.sessions.active() if s["is_current"]]
    return str(current["id"])


def events(server: LiveServer, event_type: str) -> list[SecurityEvent]:
    with server.services.db.session(write=False) as db:
        return list(
            db.scalars(
                select(SecurityEvent)
                .where(SecurityEvent.event_type == event_type)
                .order_by(SecurityEvent.timestamp, SecurityEvent.id)
            )
        )


def session_ended(server: LiveServer, client: IpcClient) -> None:
    refused(
        server.services,
        lambda: client.call("auth_validate_session", {}),
        "AUTH_SESSION_INVALID",
        401,
    )


@pytest.fixture
def second(server: LiveServer, admin: IpcClient) -> Iterator[IpcClient]:
    """The admin signed in a second time (another device)."""
    with server.client() as client:
        client.auth.login("owner@shop.example", ADMIN_PASSWORD)
        yield client


@pytest.fixture
def tech(admin: IpcClient, server: LiveServer) -> Iterator[IpcClient]:
    client = make_user(admin, server, "technician", "tech@shop.example")
    yield client
    client.close()


# get_active_sessions -----------------------------------------------------------------------
def test_active_sessions_are_the_callers_own(
    server: LiveServer, admin: IpcClient, second: IpcClient
) -> None:
    owner_id = me(admin)["id"]
    sessions = admin.sessions.active()
    assert len(sessions) == 2
    current = [s for s in sessions if s["is_current"]]
    assert len(current) == 1
    for entry in sessions:
        assert set(entry) == {
            "id",
            "user_id",
            "created_at",
            "expires_at",
            "last_activity",
            "ip_address",
            "user_agent",
            "is_current",
        }
        assert entry["user_id"] == owner_id
        assert entry["ip_address"] == "127.0.0.1"
        assert entry["user_agent"]
        # The access token's expiry has a resolution of one second.
        assert abs(entry["expires_at"] - entry["created_at"] - EIGHT_HOURS_MS) < 1000
    # The other device sees the same two, with its own marked current.
    seen = second.sessions.active()
    assert {s["id"] for s in seen} == {s["id"] for s in sessions}
    assert session_id(second) != current[0]["id"]


def test_ended_sessions_are_not_listed(
    server: LiveServer, admin: IpcClient, second: IpcClient
) -> None:
    other = session_id(second)
    second.auth.logout()
    assert [s["id"] for s in admin.sessions.active()] == [session_id(admin)]
    # A session whose refresh token ran out is over too, though never revoked.
    with server.services.db.engine.begin() as conn:
        conn.execute(
            update(AuthSession)
            .where(AuthSession.id == other)
            .values(revoked_at=None, refresh_expires_at=clock.now_ms() - 1)
        )
    assert len(admin.sessions.active()) == 1


def test_most_recently_active_first(server: LiveServer, admin: IpcClient, tech: IpcClient) -> None:
    clock.freeze()
    clock.advance(timedelta(minutes=5))
    with server.client() as later:
        later.auth.login("tech@shop.example", USER_PASSWORD)
        listed = tech.sessions.active()
        assert listed[0]["id"] == session_id(later)
        assert listed[0]["last_activity"] == clock.now_ms()
        assert [s["last_activity"] for s in listed] == sorted(
            (s["last_activity"] for s in listed), reverse=True
        )


def test_every_role_sees_only_its_own(role_clients: dict[str, IpcClient]) -> None:
    for role, client in role_clients.items():
        own = me(client)["id"]
        listed = client.sessions.active()
        assert listed, role
        assert {s["user_id"] for s in listed} == {own}, role
        assert client.sessions.active(own) == listed


def test_only_an_admin_lists_another_users_sessions(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    admin = role_clients["admin"]
    tech_id = me(role_clients["technician"])["id"]
    listed = admin.sessions.active(tech_id)
    assert listed
    assert {s["user_id"] for s in listed} == {tech_id}
    assert not any(s["is_current"] for s in listed)
    for role in ("supervisor", "viewer"):
        error = refused(
            server.services,
            partial(role_clients[role].sessions.active, tech_id),
            "AUTH_FORBIDDEN",
            403,
        )
        assert error.message == "Only an admin may list another user's sessions"
    refused(server.services, lambda: admin.sessions.active("no-such-user"), "NOT_FOUND_USER", 404)


# revoke_session ----------------------------------------------------------------------------
def test_revoking_ones_other_session_ends_it_at_once(
    server: LiveServer, admin: IpcClient, second: IpcClient
) -> None:
    owner_id = me(admin)["id"]
    other = session_id(second)
    assert admin.sessions.revoke(other) == "Session revoked"
    session_ended(server, second)
    refused(
        server.services,
        lambda: second.call("auth_refresh_token", {"refresh_token": second.refresh_token}),
        "AUTH_SESSION_INVALID",
        401,
    )
    assert me(admin)["id"] == owner_id
    [event] = events(server, "session_revoked")
    assert event.user_id == owner_id
    assert event.description == "Session revoked"
    assert json.loads(event.details or "{}") == {"session_id": other, "actor_id": owner_id}
    # Once ended it is gone: a second revocation finds nothing.
    refused(server.services, lambda: admin.sessions.revoke(other), "NOT_FOUND", 404)


def test_revoking_the_current_session_signs_out(server: LiveServer, tech: IpcClient) -> None:
    assert tech.sessions.revoke(session_id(tech)) == "Session revoked"
    session_ended(server, tech)


def test_someone_elses_session_looks_missing(
    server: LiveServer, admin: IpcClient, tech: IpcClient
) -> None:
    admin_session = session_id(admin)
    missing = refused(server.services, lambda: tech.sessions.revoke("nope"), "NOT_FOUND", 404)
    foreign = refused(
        server.services, lambda: tech.sessions.revoke(admin_session), "NOT_FOUND", 404
    )
    assert foreign.message == missing.message == "Session not found"
    assert me(admin)["role"] == "admin"
    refused(server.services, lambda: tech.sessions.revoke(""), "VALIDATION_ERROR", 400)


def test_an_admin_revokes_anyones_session(
    server: LiveServer, admin: IpcClient, tech: IpcClient
) -> None:
    tech_id = me(tech)["id"]
    target = session_id(tech)
    admin.sessions.revoke(target)
    session_ended(server, tech)
    [event] = events(server, "session_revoked")
    assert (event.user_id, event.description) == (tech_id, "Session revoked by an admin")
    assert json.loads(event.details or "{}")["actor_id"] == me(admin)["id"]


# update_session_timeout ----------------------------------------------------------------------
def stored_timeout(server: LiveServer) -> AppSetting | None:
    with server.services.db.session(write=False) as db:
        return db.get(AppSetting, SESSION_TIMEOUT_KEY)


@pytest.mark.parametrize("value", [4, 10081, 0, -30, "30", 30.5, True, None])
def test_session_timeout_bounds(server: LiveServer, admin: IpcClient, value: object) -> None:
    error = refused(
        server.services,
        lambda: admin.call("update_session_timeout", {"timeout_minutes": value}),
        "VALIDATION_ERROR",
        400,
    )
    assert error.details["fields"][0]["field"] == "timeout_minutes"
    assert stored_timeout(server) is None


def test_session_timeout_is_stored_and_recorded(server: LiveServer, admin: IpcClient) -> None:
    owner_id = me(admin)["id"]
    assert admin.sessions.update_timeout(5) == "Session timeout set to 5 minutes"
    assert admin.sessions.update_timeout(10080) == "Session timeout set to 10080 minutes"
    row = stored_timeout(server)
    assert row is not None
    assert (json.loads(row.value), row.updated_by) == (10080, owner_id)
    changes = events(server, "session_timeout_changed")
    assert [json.loads(e.details or "{}") for e in changes] == [
        {"old_minutes": 480, "new_minutes": 5},
        {"old_minutes": 5, "new_minutes": 10080},
    ]
    assert {e.user_id for e in changes} == {owner_id}
    # Sessions already open keep the lifetime they were given.
    assert me(admin)["id"] == owner_id


@pytest.mark.parametrize("role", ["supervisor", "technician", "viewer"])
def test_only_an_admin_sets_the_session_timeout(
    server: LiveServer, role_clients: dict[str, IpcClient], role: str
) -> None:
    refused(
        server.services,
        lambda: role_clients[role].sessions.update_timeout(60),
        "AUTH_FORBIDDEN",
        403,
    )
    assert stored_timeout(server) is None


def test_session_timeout_minutes_falls_back_to_the_default(server: LiveServer) -> None:
    with server.services.db.session(write=True) as db:
        assert session_timeout_minutes(db, 480) == 480
        for bad in (3, 10081, "60", True, None, 12.0):
            set_setting(db, SESSION_TIMEOUT_KEY, bad, actor_id=None)
            assert session_timeout_minutes(db, 480) == 480, bad
        set_setting(db, SESSION_TIMEOUT_KEY, 45, actor_id=None)
        assert session_timeout_minutes(db, 480) == 45
        db.rollback()


def test_new_sessions_get_the_new_timeout(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    admin.sessions.update_timeout(30)
    with server.client() as client:
        answer = client.auth.login("owner@shop.example", ADMIN_PASSWORD)
        # Token expiries have a resolution of one second.
        assert abs(answer["expires_at"] - (clock.now_ms() + 30 * 60_000)) < 1000
        clock.advance(timedelta(minutes=29))
        assert me(client)["role"] == "admin"
        refreshed = client.auth.refresh_token()
        assert abs(refreshed["expires_at"] - (clock.now_ms() + 30 * 60_000)) < 1000
        clock.advance(timedelta(minutes=31))
        refused(
            server.services,
            lambda: client.call("auth_validate_session", {}),
            "AUTH_SESSION_EXPIRED",
            401,
        )
    # The session opened before the change kept its 8 hours.
    assert me(admin)["role"] == "admin"


# settings_change_user_password ----------------------------------------------------------------
def test_wrong_current_password_changes_nothing(server: LiveServer, admin: IpcClient) -> None:
    error = refused(
        server.services,
        lambda: admin.sessions.change_password("Not-The-Password-1", NEW_PASSWORD),
        "AUTH_INVALID",
        401,
    )
    assert error.message == "The current password is incorrect"
    assert me(admin)["role"] == "admin"  # a wrong guess does not end the session


@pytest.mark.parametrize(
    ("passwords", "code", "field"),
    [
        ((ADMIN_PASSWORD, "weakpass"), "VALIDATION_PASSWORD_WEAK", "new_password"),
        ((ADMIN_PASSWORD, ADMIN_PASSWORD), "VALIDATION_ERROR", "new_password"),
        (("", NEW_PASSWORD), "VALIDATION_ERROR", "current_password"),
    ],
)
def test_new_password_is_checked(
    server: LiveServer, admin: IpcClient, passwords: tuple[str, str], code: str, field: str
) -> None:
    error = refused(server.services, lambda: admin.sessions.change_password(*passwords), code, 400)
    assert error.details["fields"][0]["field"] == field


def test_password_change_ends_the_other_sessions_only(
    server: LiveServer, admin: IpcClient, second: IpcClient
) -> None:
    owner_id = me(admin)["id"]
    assert admin.sessions.change_password(ADMIN_PASSWORD, NEW_PASSWORD) is None
    assert me(admin)["id"] == owner_id
    session_ended(server, second)
    assert [s["is_current"] for s in admin.sessions.active()] == [True]
    with server.client() as client, pytest.raises(IpcError) as caught:
        client.auth.login("owner@shop.example", ADMIN_PASSWORD)
    assert caught.value.code == "AUTH_INVALID"
    with server.client() as client:
        client.auth.login("owner@shop.example", NEW_PASSWORD)
    [event] = events(server, "password_changed")
    assert event.user_id == owner_id
    assert json.loads(event.details or "{}") == {"other_sessions_ended": 1}


def test_every_role_changes_its_own_password(role_clients: dict[str, IpcClient]) -> None:
    for role, client in role_clients.items():
        current = ADMIN_PASSWORD if role == "admin" else USER_PASSWORD
        client.sessions.change_password(current, NEW_PASSWORD)
        assert me(client)["role"] == role
