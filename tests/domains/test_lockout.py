"""Login protection through the real HTTP transport: 5 failures on one account within
15 minutes lock it for 15 minutes, the answer never tells, and every attempt is in the
security trail.

Also home of the helpers the auth tests share for calls that fail *and* write (a
failed sign-in records an event and counts against the account)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rpma.client import IpcClient, IpcError
from rpma.core.clock import clock
from rpma.core.db import Base
from rpma.core.services import Services
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, LiveServer, make_user
from tests.helpers import count, raw

OWNER = "owner@shop.example"
WRONG = "Not-The-Password-1"
LOCKOUT_COLUMNS = frozenset({"failed_login_attempts", "first_failed_login_at", "locked_until"})
LOCAL = "127.0.0.1"

Event = tuple[str, str | None, str | None]


def state(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the security trail, without the users' lockout
    columns: what a refused sign-in must leave exactly as it was."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with services.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name == "security_events":
                continue
            columns = [c for c in table.columns if c.name not in LOCKOUT_COLUMNS]
            result = conn.execute(select(*columns))
            rows[table.name] = sorted((tuple(r) for r in result), key=repr)
    return rows


def refused_counting(
    services: Services, call: Callable[[], Any], code: str, status: int | None = None
) -> IpcError:
    """Like tests.helpers.refused, for the calls that legitimately write although they
    fail: the trail and the failure count may change, nothing else."""
    before = state(services)
    with pytest.raises(IpcError) as caught:
        call()
    assert caught.value.code == code, caught.value
    if status is not None:
        assert caught.value.status == status
    assert state(services) == before
    return caught.value


class Trail:
    """The security events, read step by step: ``new()`` answers those recorded since
    the last call as sorted (event_type, user_id, ip_address). Sorted because events of
    one call share a timestamp (and the clock is frozen), so their order is arbitrary."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.seen: set[str] = set()
        self.details: dict[str, list[dict[str, Any]]] = {}
        self.new()

    def new(self) -> list[Event]:
        table = Base.metadata.tables["security_events"]
        with self.services.db.engine.connect() as conn:
            rows = list(conn.execute(select(table)))
        fresh = [r for r in rows if r.id not in self.seen]
        self.seen.update(r.id for r in fresh)
        self.details = {}
        for r in fresh:
            self.details.setdefault(r.event_type, []).append(json.loads(r.details or "{}"))
        return sorted(
            ((r.event_type, r.user_id, r.ip_address) for r in fresh),
            key=lambda e: (e[0], e[1] or "", e[2] or ""),
        )


def events(*items: Event) -> list[Event]:
    return sorted(items, key=lambda e: (e[0], e[1] or "", e[2] or ""))


def lockout_columns(services: Services, email: str) -> tuple[int, int | None, int | None]:
    table = Base.metadata.tables["users"]
    with services.db.engine.connect() as conn:
        row = conn.execute(
            select(
                table.c.failed_login_attempts,
                table.c.first_failed_login_at,
                table.c.locked_until,
            ).where(table.c.email == email)
        ).one()
    return int(row[0]), row[1], row[2]


def user_id_of(services: Services, email: str) -> str:
    table = Base.metadata.tables["users"]
    with services.db.engine.connect() as conn:
        return str(conn.scalar(select(table.c.id).where(table.c.email == email)))


def answer(error: IpcError) -> tuple[str, str, Any, int | None]:
    return (error.code, error.message, error.details, error.status)


# ----------------------------------------------------------------------------------------
def test_five_failures_lock_and_the_answer_does_not_change(
    server: LiveServer, admin: IpcClient
) -> None:
    clock.freeze()
    owner = user_id_of(server.services, OWNER)
    trail = Trail(server.services)
    sessions = count(server.services, "sessions")
    with server.client() as client:
        answers = []
        for attempt in range(1, 6):
            clock.advance(timedelta(seconds=10))
            error = refused_counting(
                server.services, lambda: client.auth.login(OWNER, WRONG), "AUTH_INVALID", 401
            )
            answers.append(answer(error))
            expected = [("login_failed", owner, LOCAL)]
            if attempt == 5:
                expected.append(("account_locked", owner, LOCAL))
            assert trail.new() == events(*expected), attempt
            assert trail.details["login_failed"] == [
                {"reason": "wrong_password", "attempt": attempt}
            ]
        locked_at = clock.now_ms()
        assert lockout_columns(server.services, OWNER) == (
            5,
            locked_at - 40_000,
            locked_at + 900_000,
        )

        # Locked: the right password gets the very answer of a wrong one.
        clock.advance(timedelta(minutes=14, seconds=59))
        error = refused_counting(
            server.services, lambda: client.auth.login(OWNER, ADMIN_PASSWORD), "AUTH_INVALID", 401
        )
        answers.append(answer(error))
        assert trail.new() == [("login_failed", owner, LOCAL)]
        assert trail.details["login_failed"] == [
            {"reason": "account_locked", "account_locked": True}
        ]
        # ... and an unknown account too.
        error = refused_counting(
            server.services,
            lambda: client.auth.login("nobody@shop.example", WRONG),
            "AUTH_INVALID",
            401,
        )
        answers.append(answer(error))
        assert trail.new() == [("login_failed", None, LOCAL)]
        assert len(set(map(repr, answers))) == 1
        assert client.token is None
    # The lock neither grew nor restarted while it held.
    assert lockout_columns(server.services, OWNER)[2] == locked_at + 900_000
    assert count(server.services, "sessions") == sessions


def test_locked_account_answers_byte_for_byte_like_a_wrong_password(
    server: LiveServer, admin: IpcClient
) -> None:
    clock.freeze()
    with server.client() as client:

        def body(password: str) -> dict[str, Any]:
            response = raw(client, "auth_login", {"email": OWNER, "password": password})
            assert response.status_code == 401
            envelope = dict(response.json())
            envelope.pop("correlation_id")
            return envelope

        wrong = body(WRONG)
        for _ in range(4):
            assert body(WRONG) == wrong
        assert body(ADMIN_PASSWORD) == wrong  # locked now
        assert body("Another-Wrong-1") == wrong


def test_the_lock_ends_after_fifteen_minutes_and_the_count_restarts(
    server: LiveServer, admin: IpcClient
) -> None:
    clock.freeze()
    owner = user_id_of(server.services, OWNER)
    with server.client() as client:
        for _ in range(5):
            refused_counting(
                server.services, lambda: client.auth.login(OWNER, WRONG), "AUTH_INVALID"
            )
        clock.advance(timedelta(minutes=15))
        # The lock has ended: one more failure starts a new count and does not lock.
        refused_counting(server.services, lambda: client.auth.login(OWNER, WRONG), "AUTH_INVALID")
        assert lockout_columns(server.services, OWNER) == (1, clock.now_ms(), None)
        trail = Trail(server.services)
        signed_in = client.auth.login(OWNER, ADMIN_PASSWORD)
        assert signed_in["user"]["email"] == OWNER
        assert trail.new() == [("login_success", owner, LOCAL)]
        assert trail.details["login_success"] == [{"method": "password"}]
    assert lockout_columns(server.services, OWNER) == (0, None, None)


def test_a_success_resets_the_count(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    with server.client() as client:
        for _ in range(4):
            refused_counting(
                server.services, lambda: client.auth.login(OWNER, WRONG), "AUTH_INVALID"
            )
        client.auth.login(OWNER, ADMIN_PASSWORD)
        assert lockout_columns(server.services, OWNER) == (0, None, None)
        for _ in range(4):
            refused_counting(
                server.services, lambda: client.auth.login(OWNER, WRONG), "AUTH_INVALID"
            )
        assert client.auth.login(OWNER, ADMIN_PASSWORD)["user"]["email"] == OWNER


def test_failures_older_than_fifteen_minutes_do_not_count(
    server: LiveServer, admin: IpcClient
) -> None:
    clock.freeze()
    owner = user_id_of(server.services, OWNER)
    trail = Trail(server.services)
    with server.client() as client:
        for _ in range(4):
            clock.advance(timedelta(seconds=1))
            refused_counting(
                server.services, lambda: client.auth.login(OWNER, WRONG), "AUTH_INVALID"
            )
        clock.advance(timedelta(minutes=15))
        refused_counting(server.services, lambda: client.auth.login(OWNER, WRONG), "AUTH_INVALID")
        assert lockout_columns(server.services, OWNER) == (1, clock.now_ms(), None)
        assert client.auth.login(OWNER, ADMIN_PASSWORD)["user"]["email"] == OWNER
    assert trail.new() == events(
        *[("login_failed", owner, LOCAL)] * 5, ("login_success", owner, LOCAL)
    )


def test_unknown_emails_are_recorded_and_lock_nothing(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    trail = Trail(server.services)
    with server.client() as client:
        for _ in range(6):
            refused_counting(
                server.services,
                lambda: client.auth.login("Nobody@Shop.Example", WRONG),
                "AUTH_INVALID",
                401,
            )
        assert trail.new() == [("login_failed", None, LOCAL)] * 6
        assert trail.details["login_failed"][0] == {
            "email": "nobody@shop.example",
            "reason": "unknown_email",
        }
        assert client.auth.login(OWNER, ADMIN_PASSWORD)["user"]["email"] == OWNER
    assert lockout_columns(server.services, OWNER) == (0, None, None)


def test_the_lock_is_per_account(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    tech = make_user(admin, server, "technician", email="tech@shop.example")
    with server.client() as client:
        for _ in range(5):
            refused_counting(
                server.services, lambda: client.auth.login(OWNER, WRONG), "AUTH_INVALID"
            )
        refused_counting(
            server.services, lambda: client.auth.login(OWNER, ADMIN_PASSWORD), "AUTH_INVALID"
        )
        assert client.auth.login("tech@shop.example", USER_PASSWORD)["user"]["role"] == "technician"
    # Sessions already open are not ended by a lock: it guards the door, not the house.
    assert admin.call("auth_validate_session", {})["user"]["email"] == OWNER
    tech.close()
