"""What the general settings change elsewhere: "today" is the shop's day (its time zone),
and the working day the assignment and calendar checks use."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import pytest

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.domains.tasks.assignment import working_hours
from tests.conftest import LiveServer
from tests.helpers import refused

# Noon in London is already 01:00 the next day in Auckland (UTC+13 in March).
NOON_UTC = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
TASK = {
    "title": "PPF Installation",
    "vehicle_plate": "ABC-123",
    "vehicle_make": "Toyota",
    "vehicle_model": "Camry",
    "scheduled_date": "2024-03-10",
    "priority": "high",
}


@pytest.fixture
def frozen(server: LiveServer) -> None:
    """The clock stopped at NOON_UTC before anyone signs in (tokens carry their time)."""
    clock.freeze(NOON_UTC)


def delay(admin: IpcClient, task_id: str, day: str) -> object:
    return admin.call(
        "delay_task", {"task_id": task_id, "new_scheduled_date": day, "reason": "Customer late"}
    )


def test_today_is_the_shops_day(frozen: None, admin: IpcClient, server: LiveServer) -> None:
    task = admin.tasks.create(TASK)["task"]
    assert task["is_overdue"] is False  # 2024-03-10 is today in UTC
    admin.settings.update_general(timezone="Pacific/Auckland")
    assert admin.tasks.get(task["id"])["task"]["is_overdue"] is True
    assert [t["is_overdue"] for t in admin.tasks.list()["tasks"]] == [True]
    assert admin.call("task_crud", {"action": "Statistics"})["statistics"]["overdue"] == 1
    # 2024-03-11 is today in Auckland, so not "in the future".
    error = refused(
        server.services, partial(delay, admin, task["id"], "2024-03-11"), "VALIDATION_ERROR", 400
    )
    assert "today is 2024-03-11" in error.message
    admin.settings.update_general(timezone="UTC")
    assert admin.call("task_crud", {"action": "Statistics"})["statistics"]["overdue"] == 0
    moved = delay(admin, task["id"], "2024-03-11")
    assert isinstance(moved, dict)
    assert (moved["scheduled_date"], moved["is_overdue"]) == ("2024-03-11", False)


def test_the_working_day_reaches_the_assignment_check(admin: IpcClient, server: LiveServer) -> None:
    admin.settings.update_general(working_hours_end="17:00")
    with server.services.db.session(write=False) as db:
        assert working_hours(db) == (8 * 60, 17 * 60)
    admin.settings.update_general(working_hours_start="07:15")
    with server.services.db.session(write=False) as db:
        assert working_hours(db) == (7 * 60 + 15, 17 * 60)
    # Only the ends that changed are in the history.
    keys = [change["key"] for change in admin.settings.history()]
    assert sorted(keys) == ["general.working_hours_end", "general.working_hours_start"]
