"""/ws: who receives what (CONTRACT.md 6), refused connections, subscriptions and
admin broadcasts, with real WebSocket clients against the live server."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.live.config import CLOSE_AUTH, CLOSE_TIMEOUT, LiveConfig
from tests.conftest import LiveServer
from tests.helpers import refused
from tests.transport.live_support import (
    SEED_TASK,
    close_of,
    closes_sockets,
    events_before_fence,
    hub_of,
    live_config,
    open_live,
    receive,
    wait_until,
    welcomed,
)

__all__ = ["closes_sockets", "live_config"]  # fixtures, imported for the tests below
ROLES = ("admin", "supervisor", "technician", "viewer")


def test_task_change_reaches_every_role(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    sockets = {role: open_live(server.url, role_clients[role].token) for role in ROLES}
    welcomes = {role: welcomed(conn) for role, conn in sockets.items()}
    assert {w["role"] for w in welcomes.values()} == set(ROLES)
    assert "task_updated" in welcomes["viewer"]["topics"]
    assert "security_alert" not in welcomes["viewer"]["topics"]
    task = role_clients["admin"].tasks.create(SEED_TASK)["task"]
    role_clients["admin"].tasks.update(task["id"], {"title": "Full front PPF"})
    for conn in sockets.values():
        created, updated = events_before_fence(conn, server)
        assert (created["type"], updated["type"]) == ("task_updated", "task_updated")
        assert created["data"]["task_id"] == task["id"]
        assert created["data"]["updates"]["title"] == "PPF Installation"
        assert updated["data"] == {"task_id": task["id"], "updates": {"title": "Full front PPF"}}
        assert updated["id"] == created["id"] + 1
        assert set(updated) == {"type", "id", "data", "timestamp"}
        conn.close()


def test_addressed_events_reach_only_their_audience(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    sockets = {role: open_live(server.url, role_clients[role].token) for role in ROLES}
    users = {role: welcomed(conn)["user_id"] for role, conn in sockets.items()}
    bus = server.services.events
    # A notification for one user; a notice for two roles; an admin-only topic; and a
    # type nobody declared, which only admins see.
    bus.publish(Event("system_notification", {"n": 1}, audience_users=frozenset({users["viewer"]})))
    bus.publish(Event("task_updated", {"n": 2}, audience_roles=frozenset({"technician", "viewer"})))
    bus.publish(Event("security_alert", {"n": 3}))
    bus.publish(Event("mystery_changed", {"n": 4}))
    received = {
        role: [m["data"]["n"] for m in events_before_fence(conn, server)]
        for role, conn in sockets.items()
    }
    assert received == {"admin": [3, 4], "supervisor": [], "technician": [2], "viewer": [1, 2]}


def test_client_events_reach_viewers(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    viewer = open_live(server.url, role_clients["viewer"].token)
    welcomed(viewer)
    created = role_clients["admin"].call(
        "client_crud",
        {"action": "Create", "data": {"name": "Ann Lee", "customer_type": "individual"}},
    )
    messages = events_before_fence(viewer, server)
    assert [(m["type"], m["data"]["action"]) for m in messages] == [("client_updated", "Create")]
    assert messages[0]["data"]["client_id"] == created["client"]["id"]


def test_tokens_in_the_query_string_work(server: LiveServer, admin: IpcClient) -> None:
    conn = open_live(server.url, admin.token, in_query=True)
    assert welcomed(conn)["role"] == "admin"
    conn.close()


# Refused connections ----------------------------------------------------------------------


def test_no_token_is_refused(server: LiveServer, admin: IpcClient) -> None:
    conn = open_live(server.url)
    conn.send(json.dumps({"type": "subscribe", "topics": ["task_updated"]}))
    code, reason = close_of(conn)
    assert code == CLOSE_AUTH
    assert reason.startswith("AUTH_REQUIRED: send ?token=")
    conn = open_live(server.url)
    conn.send(json.dumps({"type": "auth", "token": ""}))
    assert close_of(conn)[0] == CLOSE_AUTH


def test_silence_instead_of_auth_times_out(server: LiveServer, live_config: LiveConfig) -> None:
    live_config.auth_timeout_seconds = 0.2
    assert close_of(open_live(server.url)) == (
        CLOSE_TIMEOUT,
        "AUTH_TIMEOUT: no auth frame within 0.2 s",
    )


@pytest.mark.parametrize("in_query", [False, True], ids=["frame", "query"])
def test_bad_expired_and_revoked_tokens_are_refused(
    server: LiveServer, admin: IpcClient, in_query: bool
) -> None:
    code, reason = close_of(open_live(server.url, "not-a-token", in_query=in_query))
    assert (code, reason.split(":")[0]) == (CLOSE_AUTH, "AUTH_SESSION_INVALID")

    clock.advance(timedelta(hours=9))  # the access token lives 8 hours
    code, reason = close_of(open_live(server.url, admin.token, in_query=in_query))
    assert (code, reason.split(":")[0]) == (CLOSE_AUTH, "AUTH_SESSION_EXPIRED")
    clock.reset()

    token = admin.token
    admin.call("auth_logout", {"token": token})
    code, reason = close_of(open_live(server.url, token, in_query=in_query))
    assert (code, reason) == (
        CLOSE_AUTH,
        "AUTH_SESSION_INVALID: This session has ended; sign in again",
    )
    assert hub_of(server).connected_clients == 0


def test_revoked_session_stops_receiving(
    server: LiveServer, role_clients: dict[str, IpcClient], live_config: LiveConfig
) -> None:
    viewer = open_live(server.url, role_clients["viewer"].token)
    welcomed(viewer)
    role_clients["viewer"].call("auth_logout", {"token": role_clients["viewer"].token})
    live_config.revalidate_seconds = 0.05
    hub_of(server).revalidate_soon()
    code, reason = close_of(viewer)
    assert (code, reason) == (
        CLOSE_AUTH,
        "AUTH_SESSION_INVALID: This session has ended; sign in again",
    )
    wait_until(lambda: hub_of(server).connected_clients == 0, "the connection to go")


def test_a_revocation_closes_the_connection_at_once(
    server: LiveServer, role_clients: dict[str, IpcClient], live_config: LiveConfig
) -> None:
    """No wait for the periodic check: the commit that ends the session wakes it."""
    live_config.revalidate_seconds = 3600
    viewer = open_live(server.url, role_clients["viewer"].token)
    welcomed(viewer)
    role_clients["viewer"].call("auth_logout", {"token": role_clients["viewer"].token})
    code, _reason = close_of(viewer)
    assert code == CLOSE_AUTH


def test_a_role_change_applies_to_open_connections(
    server: LiveServer, role_clients: dict[str, IpcClient], live_config: LiveConfig
) -> None:
    viewer = open_live(server.url, role_clients["viewer"].token)
    user_id = welcomed(viewer)["user_id"]
    role_clients["admin"].call(
        "user_crud", {"action": "ChangeRole", "data": {"id": user_id, "role": "admin"}}
    )
    live_config.revalidate_seconds = 0.05
    hub_of(server).revalidate_soon()
    wait_until(lambda: hub_of(server).connections()[0].role == "admin", "the new role")
    server.services.events.publish(Event("security_alert", {"n": 1}))
    assert [m["data"] for m in events_before_fence(viewer, server)] == [{"n": 1}]


# Subscriptions ------------------------------------------------------------------------------


def test_subscribing_narrows_the_topics(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    viewer = open_live(server.url, role_clients["viewer"].token)
    welcomed(viewer)
    viewer.send(
        json.dumps({"type": "subscribe", "topics": ["client_updated", "system_notification"]})
    )
    assert receive(viewer) == {
        "type": "subscribed",
        "data": {"topics": ["client_updated", "system_notification"]},
    }
    bus = server.services.events
    bus.publish(Event("task_updated", {"n": 1}))
    bus.publish(Event("client_updated", {"n": 2}))
    assert [m["data"] for m in events_before_fence(viewer, server)] == [{"n": 2}]
    viewer.send(json.dumps({"type": "unsubscribe", "topics": ["client_updated"]}))
    assert receive(viewer)["data"] == {"topics": ["system_notification"]}


def test_a_viewer_cannot_subscribe_to_what_it_may_not_read(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    viewer = open_live(server.url, role_clients["viewer"].token)
    welcomed(viewer)
    viewer.send(json.dumps({"type": "subscribe", "topics": ["task_updated", "security_alert"]}))
    assert receive(viewer) == {
        "type": "error",
        "data": {
            "code": "AUTH_FORBIDDEN",
            "message": "A viewer may not read these topics",
            "topics": ["security_alert"],
        },
    }
    viewer.send(json.dumps({"type": "subscribe", "topics": ["tasks", 3]}))
    assert receive(viewer)["data"]["code"] == "VALIDATION_ERROR"
    viewer.send(json.dumps({"type": "subscribe", "topics": ["task_updatd"]}))
    assert receive(viewer)["data"] == {
        "code": "VALIDATION_ERROR",
        "message": "Unknown topics",
        "topics": ["task_updatd"],
    }
    viewer.send("not json")
    assert receive(viewer)["data"]["code"] == "VALIDATION_ERROR"
    # Nothing changed: still every readable topic, and never the forbidden one.
    bus = server.services.events
    bus.publish(Event("security_alert", {"n": 1}))
    bus.publish(Event("task_updated", {"n": 2}))
    bus.publish(Event("material_updated", {"n": 3}))
    assert [m["data"] for m in events_before_fence(viewer, server)] == [{"n": 2}, {"n": 3}]


def test_client_pings_are_answered(server: LiveServer, admin: IpcClient) -> None:
    conn = open_live(server.url, admin.token)
    welcomed(conn)
    conn.send(json.dumps({"type": "ping"}))
    assert receive(conn)["type"] == "pong"


# Broadcasts ---------------------------------------------------------------------------------


def broadcast(client: IpcClient, **payload: Any) -> Any:
    return client.call("broadcast_websocket_message", payload)


def test_broadcast_to_roles_except_some_clients(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    sockets = {role: open_live(server.url, role_clients[role].token) for role in ROLES}
    ids = {role: welcomed(conn)["client_id"] for role, conn in sockets.items()}
    extra = open_live(server.url, role_clients["technician"].token)
    welcomed(extra)
    admin = role_clients["admin"]
    answer = broadcast(
        admin,
        message_type="shop_closing",
        data={"at": "18:00"},
        target_roles=["technician", "supervisor"],
        exclude_clients=[ids["supervisor"]],
    )
    assert answer == {"recipients": 2}  # the two technician sockets
    assert broadcast(admin, message_type="system_notification", data={"n": 1}) == {"recipients": 5}
    received = {
        role: [(m["type"], m["data"]) for m in events_before_fence(conn, server)]
        for role, conn in sockets.items()
    }
    everyone = ("system_notification", {"n": 1})
    assert received == {
        "admin": [everyone],
        "supervisor": [everyone],
        "technician": [("shop_closing", {"at": "18:00"}), everyone],
        "viewer": [everyone],
    }


def test_bad_broadcasts_are_refused(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    admin = role_clients["admin"]
    conn = open_live(server.url, admin.token)
    welcomed(conn)
    before = hub_of(server).last_event_id
    error = refused(
        server.services,
        lambda: broadcast(admin, message_type="x", data={}, target_roles=["janitor"]),
        "VALIDATION_ERROR",
        400,
    )
    assert "target_roles" in json.dumps(error.details)
    for message_type in ("ping", "Task Updated", ""):
        refused(
            server.services,
            partial(broadcast, admin, message_type=message_type, data={}),
            "VALIDATION_ERROR",
            400,
        )
    for role in ("supervisor", "technician", "viewer"):
        refused(
            server.services,
            partial(broadcast, role_clients[role], message_type="x", data={}),
            "AUTH_FORBIDDEN",
            403,
        )
    assert hub_of(server).last_event_id == before
    assert events_before_fence(conn, server) == []
