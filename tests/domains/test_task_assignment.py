"""check_task_assignment and check_task_availability through the real HTTP server: who
may take a task, half-open overlaps on the task's date, the day's load against the
working hours (default and from settings), unknown ids, and every role."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from rpma.client import IpcClient
from rpma.domains.settings.service import set_setting
from tests.conftest import LiveServer, make_user
from tests.domains.test_tasks import create, frozen, me, task_in, update
from tests.helpers import refused

__all__ = ["frozen"]  # the fixture, shared with test_tasks

DAY = "2024-01-15"


@pytest.fixture
def tech(server: LiveServer, frozen: None, admin: IpcClient) -> Iterator[IpcClient]:
    client = make_user(admin, server, "technician", "tina@shop.example")
    yield client
    client.close()


def check(client: IpcClient, task_id: str, user_id: str) -> dict[str, Any]:
    return dict(client.tasks.check_task_assignment(task_id, user_id))


def booked(admin: IpcClient, user_id: str | None, start: str | None, end: str | None,
           **extra: Any) -> dict[str, Any]:  # fmt: skip
    times = {"start_time": start, "end_time": end, "technician_id": user_id}
    return create(admin, scheduled_date=DAY, **{k: v for k, v in times.items() if v}, **extra)


def test_who_may_take_a_task(server: LiveServer, tech: IpcClient, admin: IpcClient) -> None:
    task = booked(admin, None, "10:00", "12:00")
    supervisor = make_user(admin, server, "supervisor")
    viewer = make_user(admin, server, "viewer")
    assert check(admin, task["id"], me(tech)) == {"can_assign": True, "conflicts": []}
    assert check(admin, task["id"], me(supervisor)) == {"can_assign": True, "conflicts": []}
    assert check(admin, task["id"], me(viewer)) == {
        "can_assign": False,
        "conflicts": [
            "Sam Viewer has the viewer role; only technicians and supervisors take tasks"
        ],
    }
    assert check(admin, task["id"], me(admin)) == {
        "can_assign": False,
        "conflicts": [
            "Olive Owner has the admin role; only technicians and supervisors take tasks"
        ],
    }
    tech_id = me(tech)
    admin.users.crud("Deactivate", {"id": tech_id})
    assert check(admin, task["id"], tech_id) == {
        "can_assign": False,
        "conflicts": ["Sam Technician is inactive"],
    }
    refused(server.services, partial(check, admin, task["id"], "nobody"), "NOT_FOUND_USER", 404)
    refused(server.services, partial(check, admin, "nothing", me(viewer)), "NOT_FOUND_TASK", 404)
    supervisor_id = me(supervisor)
    admin.users.crud("Delete", {"id": supervisor_id})
    refused(
        server.services, partial(check, admin, task["id"], supervisor_id), "NOT_FOUND_USER", 404
    )
    supervisor.close()
    viewer.close()


def test_overlaps_are_half_open(server: LiveServer, tech: IpcClient, admin: IpcClient) -> None:
    tech_id = me(tech)
    other = make_user(admin, server, "technician")
    task = booked(admin, None, "10:00", "12:00", title="The job")
    booked(admin, tech_id, "08:00", "10:00", title="Ends as it starts")
    late = booked(admin, tech_id, "11:30", "13:00", title="Late overlap")
    booked(admin, tech_id, "12:00", "13:00", title="Starts as it ends")
    early = booked(admin, tech_id, "09:00", None, title="By duration", estimated_duration=90)
    create(admin, scheduled_date="2024-01-16", technician_id=tech_id, start_time="10:00",
           end_time="12:00", title="Another day")  # fmt: skip
    cancelled = booked(admin, tech_id, "10:00", "12:00", title="Cancelled")
    update(admin, cancelled["id"], status="cancelled")
    deleted = booked(admin, tech_id, "10:00", "12:00", title="Deleted")
    admin.tasks.delete(deleted["id"])
    booked(admin, me(other), "10:00", "12:00", title="Someone else's")
    booked(admin, tech_id, None, None, title="No time yet")
    assert check(admin, task["id"], tech_id) == {
        "can_assign": True,
        "conflicts": [
            f"Overlaps task {early['task_number']} (By duration) from 09:00 to 10:30 on {DAY}",
            f"Overlaps task {late['task_number']} (Late overlap) from 11:30 to 13:00 on {DAY}",
        ],
    }
    # Already assigned: the task does not clash with itself.
    update(admin, task["id"], technician_id=tech_id)
    assert len(check(admin, task["id"], tech_id)["conflicts"]) == 2
    # Without a date, a task clashes with nothing.
    undated = admin.tasks.create({"vehicle_plate": "U-1", "title": "Undated",
                                  "start_time": "10:00", "end_time": "12:00"})["task"]  # fmt: skip
    assert check(admin, undated["id"], tech_id) == {"can_assign": True, "conflicts": []}
    other.close()


def test_a_day_over_the_working_hours(
    server: LiveServer, tech: IpcClient, admin: IpcClient
) -> None:
    tech_id = me(tech)
    task = booked(admin, None, "14:00", "18:00")  # 240 minutes
    booked(admin, tech_id, "08:00", "12:00")  # 240
    booked(admin, tech_id, None, None, estimated_duration=120)  # 600 in all: a full day
    assert check(admin, task["id"], tech_id) == {"can_assign": True, "conflicts": []}
    extra = booked(admin, tech_id, "12:00", "12:30")
    overloaded = {
        "can_assign": True,
        "conflicts": [
            f"Day overloaded: 630 minutes booked on {DAY}, over the working hours "
            "08:00-18:00 (600 minutes)"
        ],
    }
    assert check(admin, task["id"], tech_id) == overloaded
    for hours, expected in (
        ({"start": "07:00", "end": "19:00"}, {"can_assign": True, "conflicts": []}),
        ("08:00-18:00", overloaded),
        (["07:30", "18:00"], {"can_assign": True, "conflicts": []}),
        ("nonsense", overloaded),
        ({"start": "18:00", "end": "08:00"}, overloaded),
    ):
        with server.services.db.session(write=True) as db:
            set_setting(db, "general.working_hours", hours, actor_id=None)
            db.commit()
        assert check(admin, task["id"], tech_id) == expected, hours
    update(admin, extra["id"], status="cancelled")
    assert check(admin, task["id"], tech_id)["conflicts"] == []


def test_everyone_may_check(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    admin = role_clients["admin"]
    tech_id = me(role_clients["technician"])
    task = create(admin)
    for client in role_clients.values():
        assert check(client, task["id"], tech_id) == {"can_assign": True, "conflicts": []}
        assert client.tasks.check_task_availability(task["id"]) == {"is_available": True}


# Availability ---------------------------------------------------------------------------------
def test_availability_follows_the_status(server: LiveServer, admin: IpcClient) -> None:
    for status in ("draft", "scheduled", "in_progress", "paused", "on_hold"):
        task = task_in(admin, status)
        assert admin.tasks.check_task_availability(task["id"]) == {"is_available": True}, status
    for status in ("completed", "cancelled", "archived"):
        task = task_in(admin, status)
        assert admin.tasks.check_task_availability(task["id"]) == {
            "is_available": False,
            "reason": f"The task is {status}",
        }
    refused(
        server.services,
        partial(admin.tasks.check_task_availability, "nope"),
        "NOT_FOUND_TASK",
        404,
    )


# The person's calendar ------------------------------------------------------------------------
def test_calendar_events_count(server: LiveServer, tech: IpcClient, admin: IpcClient) -> None:
    tech_id = me(tech)
    task = booked(admin, None, "10:00", "12:00", title="The job")

    def event(title: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
        return dict(admin.calendar.create_event({
            "title": title, "technician_id": tech_id,
            "start_date": f"{DAY}T{start}:00Z", "end_date": f"{DAY}T{end}:00Z", **extra,
        }))  # fmt: skip

    event("Before", "09:00", "10:00", event_type="meeting")  # ends as the task starts
    meeting = event("Supplier visit", "11:30", "12:30", event_type="meeting")
    event("Cancelled", "10:00", "12:00", status="cancelled")
    event("Reminder", "10:00", "10:30", event_type="reminder")
    assert check(admin, task["id"], tech_id) == {
        "can_assign": True,
        "conflicts": [
            "Overlaps meeting 'Supplier visit' from 2024-01-15 11:30 to 2024-01-15 12:30"
        ],
    }
    # Events fill the day, clipped to the working hours: 120 (the task) + 60 + 60 +
    # 60 + 330 = 630 minutes.
    event("Early", "07:00", "09:00", event_type="other")
    event("Training", "12:30", "19:30", event_type="other")
    assert check(admin, task["id"], tech_id)["conflicts"][-1] == (
        f"Day overloaded: 630 minutes booked on {DAY}, over the working hours 08:00-18:00 "
        "(600 minutes)"
    )
    # Time off makes them unavailable.
    admin.calendar.delete_event(meeting["id"])
    off = event("Dentist", "11:00", "11:45", event_type="time_off")
    answer = check(admin, task["id"], tech_id)
    assert answer["can_assign"] is False
    assert answer["conflicts"][0] == (
        "Sam Technician is on time off (Dentist) from 2024-01-15 11:00 to 2024-01-15 11:45"
    )
    admin.calendar.delete_event(off["id"])
    # A task without a time: time off during the working day still counts.
    undated_time = booked(admin, None, None, None, title="Any time")
    admin.calendar.create_event(
        {
            "title": "Holiday",
            "technician_id": tech_id,
            "event_type": "time_off",
            "start_date": DAY,
            "end_date": DAY,
        }
    )
    answer = check(admin, undated_time["id"], tech_id)
    assert answer["can_assign"] is False
    assert answer["conflicts"][0] == (
        "Sam Technician is on time off (Holiday) from 2024-01-15 00:00 to 2024-01-16 00:00"
    )
