"""Automatic notifications: a task assigned, rescheduled or completed notifies its
technician by their preferences, and the client when the shop wants; the messages commit
with the task change (the in-transaction hook of core/events.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy.orm import Session

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.domains.users.models import User
from tests.conftest import LiveServer, make_user
from tests.domains.test_tasks import add_client, create, update
from tests.fakes.notifications import (  # noqa: F401 - fixtures
    TECH_PHONE,
    configure,
    paused_fixture,
    providers_fixture,
    rows,
    sendgrid,
    twilio,
    user_id,
)
from tests.fakes.providers import ProviderServer
from tests.helpers import refused

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@pytest.fixture
def frozen(server: LiveServer) -> Iterator[None]:
    """Ask for it before ``admin``: the sign-in happens at NOW."""
    clock.freeze(NOW)
    yield
    clock.reset()


@pytest.fixture
def tech(admin: IpcClient, server: LiveServer) -> Iterator[IpcClient]:
    client = make_user(admin, server, "technician", "tina@shop.example")
    with server.services.db.session(write=True) as db:
        user = db.get(User, user_id(client))
        assert user is not None
        user.first_name, user.last_name, user.phone = "Tina", "Tech", TECH_PHONE
        db.commit()
    yield client
    client.close()


@pytest.fixture
def events(server: LiveServer) -> Iterator[list[Event]]:
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    yield seen
    unsubscribe()


def summary(server: LiveServer) -> list[tuple[Any, ...]]:
    return [
        (r.notification_type, r.channel, r.recipient, r.status, r.subject)
        for r in sorted(rows(server), key=lambda r: (r.notification_type, r.channel))
    ]


@pytest.mark.usefixtures("frozen", "paused")
def test_assignment_notifies_the_technician_by_their_preferences(
    server: LiveServer,
    admin: IpcClient,
    tech: IpcClient,
    providers: ProviderServer,
    events: list[Event],
) -> None:
    sendgrid(admin, providers)
    twilio(admin, providers)
    tech_id = user_id(tech)
    task = create(admin, technician_id=tech_id)
    subject = "Task assigned: PPF Installation"
    assert summary(server) == [
        ("task_assigned", "email", "tina@shop.example", "pending", subject),
        ("task_assigned", "in_app", None, "delivered", subject),
    ]  # SMS is off by default
    [in_app] = tech.call("notification_list", {})["notifications"]
    assert in_app["message"] == (
        f"Hello Tina Tech,\n\nTask {task['task_number']} (PPF Installation) is assigned to "
        "Tina Tech, scheduled 2024-01-15.\n\nRPMA Workshop"
    )
    assert in_app["task_id"] == task["id"]
    pushed = [e for e in events if e.type == "system_notification"]
    assert [(e.audience_users, e.data["title"]) for e in pushed] == [
        (frozenset({tech_id}), subject)
    ]
    assert [e.type for e in events] == ["task_updated", "system_notification"]
    # The technician wants SMS and no in-app message for assignments.
    tech.call(
        "notification_update_preferences",
        {
            "preferences": [
                {"notification_type": "task_assigned", "channel": "sms", "enabled": True},
                {"notification_type": "task_assigned", "channel": "in_app", "enabled": False},
                {"notification_type": "task_assigned", "channel": "email", "enabled": False},
            ]
        },
    )
    second = create(admin, title="Hood wrap", technician_id=tech_id)
    new = [r for r in rows(server) if r.task_id == second["id"]]
    assert [(r.channel, r.recipient, r.status) for r in new] == [("sms", TECH_PHONE, "pending")]
    assert new[0].body_text.startswith("Hello Tina Tech,\n\nTask ")


@pytest.mark.usefixtures("frozen", "paused")
def test_reschedule_and_completion_notify_and_the_client_when_wanted(
    server: LiveServer,
    admin: IpcClient,
    tech: IpcClient,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers)
    tech_id = user_id(tech)
    client_id = add_client(server, email="fleet@acme.example", phone="+14155550199")
    task = create(admin, technician_id=tech_id, client_id=client_id)
    assert len(rows(server)) == 2  # the assignment; clients are not told by default
    configure(admin, notify_clients=True)
    admin.tasks.delay_task(task["id"], "2027-01-20", "Film delivery late")
    changed = [r for r in rows(server) if r.notification_type == "task_updated"]
    assert sorted((r.channel, r.recipient, r.client_id, r.user_id) for r in changed) == [
        ("email", "fleet@acme.example", client_id, None),  # no SMS provider: no client SMS
        ("email", "tina@shop.example", None, tech_id),
        ("in_app", None, None, tech_id),
    ]
    to_client = next(r for r in changed if r.client_id)
    assert to_client.body_text == (
        f"Hello Acme Fleet,\n\nTask {task['task_number']} (PPF Installation): rescheduled to "
        "2027-01-20.\n\nRPMA Workshop"
    )
    # The technician completes their own task: they are not told of their own change,
    # the client is.
    update(tech, task["id"], status="in_progress")
    assert len(rows(server)) == 5  # starting work is not worth a message
    update(tech, task["id"], status="completed")
    done = [r for r in rows(server) if r.notification_type == "task_completed"]
    assert [(r.channel, r.recipient) for r in done] == [("email", "fleet@acme.example")]
    assert done[0].subject == "Task completed: PPF Installation"
    # A soft delete tells nobody.
    admin.tasks.delete(task["id"])
    assert len(rows(server)) == 6


@pytest.mark.usefixtures("frozen", "paused")
def test_notifications_commit_and_roll_back_with_the_task_change(
    server: LiveServer,
    admin: IpcClient,
    tech: IpcClient,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers)
    tech_id = user_id(tech)
    task = create(admin)
    assert rows(server) == []  # nobody assigned, nobody told
    # A refused change writes no notification either.
    stale = partial(admin.tasks.update, task["id"], {"technician_id": tech_id}, expected_version=99)
    refused(server.services, stale, "CONFLICT", 409)

    def failing_hook(db: Session, event: Event) -> list[Event]:
        raise RuntimeError("the outbox is unavailable")

    remove = server.services.events.on_write("task_updated", failing_hook)
    try:
        assign = partial(admin.tasks.update, task["id"], {"technician_id": tech_id})
        refused(server.services, assign, "INTERNAL_ERROR", 500)
    finally:
        remove()
    assert admin.tasks.get(task["id"])["task"]["technician_id"] is None
    update(admin, task["id"], technician_id=tech_id)
    assert {(r.channel, r.created_at) for r in rows(server)} == {
        ("email", NOW_MS),
        ("in_app", NOW_MS),
    }
