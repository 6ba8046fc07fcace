"""Navigation through the HTTP transport: the current page, back/forward per user like a
browser, a bounded history, and the state kept in the database (across restarts)."""

from __future__ import annotations

from functools import partial
from typing import Any

from rpma.client import IpcClient
from rpma.domains.navigation.service import HISTORY_LIMIT, Navigation
from tests.conftest import LiveServer, make_user
from tests.helpers import count, refused


def visit(client: IpcClient, route: str, title: str | None = None, **params: Any) -> None:
    client.navigation.update(route, params or None, title)
    client.navigation.add_to_history()


def state(
    route: str, back: bool, forward: bool, title: str | None = None, params: Any = None
) -> dict[str, Any]:
    return {
        "route": route,
        "params": params,
        "title": title,
        "can_go_back": back,
        "can_go_forward": forward,
    }


def test_before_anything_the_home_page_with_nowhere_to_go(admin: IpcClient) -> None:
    assert admin.navigation.current() == state("/", False, False)
    admin.navigation.add_to_history()  # nothing shown yet: nothing recorded
    assert admin.navigation.back() == state("/", False, False)
    assert admin.navigation.history() == []


def test_back_and_forward_like_a_browser(admin: IpcClient, server: LiveServer) -> None:
    visit(admin, "/tasks", "Tasks")
    visit(admin, "/tasks/123", "Task Details", taskId="123")
    visit(admin, "/clients", "Clients")
    assert admin.navigation.current() == state("/clients", True, False, "Clients")
    assert admin.navigation.back() == state(
        "/tasks/123", True, True, "Task Details", {"taskId": "123"}
    )
    assert admin.navigation.back() == state("/tasks", False, True, "Tasks")
    assert admin.navigation.back() == state("/tasks", False, True, "Tasks")  # at the start
    assert admin.navigation.forward() == state(
        "/tasks/123", True, True, "Task Details", {"taskId": "123"}
    )
    # Somewhere new after going back drops what was ahead.
    visit(admin, "/calendar", "Calendar")
    assert admin.navigation.current() == state("/calendar", True, False, "Calendar")
    assert [e["route"] for e in admin.navigation.history()] == ["/calendar", "/tasks/123", "/tasks"]
    assert admin.navigation.forward() == state("/calendar", True, False, "Calendar")


def test_update_before_recording_and_recording_twice(admin: IpcClient) -> None:
    visit(admin, "/tasks")
    # The page shown now, not recorded yet: back returns to the last recorded one.
    admin.navigation.update("/reports", {"range": "week"}, "Reports")
    assert admin.navigation.current() == state(
        "/reports", True, False, "Reports", {"range": "week"}
    )
    admin.navigation.add_to_history()
    admin.navigation.add_to_history()  # the same page twice is recorded once
    assert [e["route"] for e in admin.navigation.history()] == ["/reports", "/tasks"]
    assert admin.navigation.history()[0]["current"] is True
    # Unrecorded page, then back: the cursor's page, and forward is gone.
    admin.navigation.update("/settings")
    assert admin.navigation.back() == state("/reports", True, False, "Reports", {"range": "week"})


def test_each_user_has_their_own_history(admin: IpcClient, server: LiveServer) -> None:
    viewer = make_user(admin, server, "viewer")
    visit(admin, "/tasks")
    visit(admin, "/clients")
    visit(viewer, "/reports")
    assert viewer.navigation.current() == state("/reports", False, False)
    assert admin.navigation.current() == state("/clients", True, False)


def test_history_is_bounded(admin: IpcClient, server: LiveServer) -> None:
    for page in range(HISTORY_LIMIT + 5):
        visit(admin, f"/tasks/{page}")
    assert count(server.services, "navigation_history") == HISTORY_LIMIT
    history = admin.navigation.history(limit=200)
    assert len(history) == HISTORY_LIMIT
    assert history[-1]["route"] == "/tasks/5"  # the five oldest went first
    for _ in range(HISTORY_LIMIT + 3):
        admin.navigation.back()
    assert admin.navigation.current() == state("/tasks/5", False, True)


def test_kept_in_the_database(admin: IpcClient, server: LiveServer) -> None:
    visit(admin, "/tasks")
    visit(admin, "/clients", "Clients")
    user_id = admin.call("auth_validate_session", {})["user"]["id"]
    # A new service over a new session sees the same state: nothing lives in memory.
    with server.services.db.session(write=False) as db:
        assert Navigation(db, user_id).current().model_dump() == state(
            "/clients", True, False, "Clients"
        )


def test_bad_input_changes_nothing(admin: IpcClient, anon: IpcClient, server: LiveServer) -> None:
    visit(admin, "/tasks")
    bodies: list[dict[str, Any]] = [
        {},
        {"route": ""},
        {"route": "tasks"},
        {"route": "//evil.example/x"},
        {"route": "https://evil.example"},
        {"route": "/tasks bad"},
        {"route": "/" + "x" * 500},
        {"route": "/tasks", "params": ["not", "an", "object"]},
        {"route": "/tasks", "params": {"big": "x" * 5000}},
        {"route": "/tasks", "title": "t" * 201},
        {"route": 12},
    ]
    for body in bodies:
        refused(
            server.services,
            partial(admin.call, "navigation_update", body),
            "VALIDATION_ERROR",
            400,
        )
    refused(
        server.services,
        lambda: anon.call("navigation_update", {"route": "/x"}),
        "AUTH_SESSION_INVALID",
        401,
    )
    assert admin.navigation.current() == state("/tasks", False, False)
