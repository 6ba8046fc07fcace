"""calendar_check_conflicts, the conflicts create/update answer, recurring events and
calendar_export_ics through the real HTTP server: half-open overlaps with events, time
off and tasks, overload against the working hours, how task_id and the new slot
combine, series expanded in range (across daylight-saving time), and an .ics file that
icalendar reads back."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from icalendar import Calendar

from rpma.client import IpcClient
from rpma.domains.settings.service import set_setting
from tests.conftest import LiveServer, make_user
from tests.domains.test_calendar import events_of, new_event, set_timezone
from tests.domains.test_tasks import create, frozen, me, update
from tests.helpers import refused

__all__ = ["frozen"]

DAY = "2024-01-15"


@pytest.fixture
def tech(server: LiveServer, frozen: None, admin: IpcClient) -> Iterator[IpcClient]:
    client = make_user(admin, server, "technician", "tina@shop.example")
    yield client
    client.close()


def at(hhmm: str, day: str = DAY) -> str:
    return f"{day}T{hhmm}:00Z"


def booked(admin: IpcClient, tech_id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return new_event(admin, technician_id=tech_id, start_date=at(start), end_date=at(end), **extra)


def kinds(answer: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [
        (c["conflict_type"], c["event_title"] or c["task_title"], c["event_id"] or c["task_id"])
        for c in answer["conflicts"]
    ]


# Overlaps -------------------------------------------------------------------------------------
def test_overlaps_are_half_open(server: LiveServer, tech: IpcClient, admin: IpcClient) -> None:
    tech_id = me(tech)
    other = make_user(admin, server, "technician")
    before = booked(admin, tech_id, "08:00", "10:00", title="Ends as it starts")
    during = booked(admin, tech_id, "11:30", "13:00", title="Inside", event_type="meeting")
    booked(admin, tech_id, "12:00", "13:00", title="Starts as it ends")
    booked(admin, tech_id, "10:30", "11:00", title="Cancelled", status="cancelled")
    booked(admin, tech_id, "10:30", "11:00", title="Reminder", event_type="reminder")
    booked(admin, me(other), "10:00", "12:00", title="Someone else's")
    away = booked(admin, tech_id, "09:00", "10:30", title="Doctor", event_type="time_off")
    task = create(admin, technician_id=tech_id, start_time="11:00", end_time="11:15",
                  title="Quick job")  # fmt: skip
    answer = tech.calendar.check_conflicts(DAY, new_start="10:00", new_end="12:00",
                                           technician_id=tech_id)  # fmt: skip
    assert answer["has_conflicts"] is True
    assert kinds(answer) == [
        ("time_overlap", "Doctor", away["id"]),
        ("time_overlap", "Quick job", task["id"]),
        ("time_overlap", "Inside", during["id"]),
    ]
    assert answer["conflicts"][0] == {
        "task_id": None,
        "task_title": None,
        "conflict_type": "time_overlap",
        "event_id": away["id"],
        "event_title": "Doctor",
        "event_type": "time_off",
        "start_datetime": at("09:00"),
        "end_datetime": at("10:30"),
        "message": "Overlaps time off 'Doctor' from 2024-01-15 09:00 to 2024-01-15 10:30",
    }
    assert answer["conflicts"][1]["task_title"] == "Quick job"
    # The event being moved does not clash with itself.
    answer = admin.calendar.check_conflicts(
        DAY,
        new_start="08:00",
        new_end="09:00",
        technician_id=tech_id,
        exclude_event_id=before["id"],
    )
    assert answer == {"has_conflicts": False, "conflicts": []}
    other.close()


def test_saving_an_overlapping_event_is_allowed_and_reported(
    server: LiveServer, tech: IpcClient, admin: IpcClient
) -> None:
    tech_id = me(tech)
    first = booked(admin, tech_id, "09:00", "10:00", title="First")
    assert first["conflicts"] == []
    second = booked(admin, tech_id, "09:30", "11:00", title="Second")
    assert [(c["conflict_type"], c["event_id"]) for c in second["conflicts"]] == [
        ("time_overlap", first["id"])
    ]
    moved = admin.calendar.update_event(second["id"], {"start_date": at("10:00")})
    assert moved["conflicts"] == []
    # A technician's own overlapping time off: saved, and told.
    away = new_event(tech, event_type="time_off", title="Off", start_date=DAY, end_date=DAY)
    assert [c["event_id"] for c in away["conflicts"]] == [first["id"], second["id"]]
    assert len(events_of(admin, DAY, DAY)) == 3


# Overload -------------------------------------------------------------------------------------
def test_a_day_over_the_working_hours(
    server: LiveServer, tech: IpcClient, admin: IpcClient
) -> None:
    tech_id = me(tech)
    booked(admin, tech_id, "07:00", "12:00", title="Early meeting")  # 240 min in 08-18
    create(admin, technician_id=tech_id, estimated_duration=240, title="Untimed job")
    ok = admin.calendar.check_conflicts(DAY, new_start="14:00", new_end="16:00",
                                        technician_id=tech_id)  # fmt: skip
    assert ok == {"has_conflicts": False, "conflicts": []}  # 600 minutes: a full day
    over = admin.calendar.check_conflicts(DAY, new_start="14:00", new_end="16:30",
                                          technician_id=tech_id)  # fmt: skip
    assert over["conflicts"] == [
        {
            "task_id": None,
            "task_title": None,
            "conflict_type": "technician_overload",
            "event_id": None,
            "event_title": None,
            "event_type": None,
            "start_datetime": None,
            "end_datetime": None,
            "message": "Day overloaded: 630 minutes booked on 2024-01-15, over the working "
            "hours 08:00-18:00 (600 minutes)",
        }
    ]
    # The settings domain's working hours, then the meeting outside them.
    with server.services.db.session(write=True) as db:
        set_setting(db, "general.working_hours_start", "07:00", actor_id=None)
        set_setting(db, "general.working_hours_end", "18:00", actor_id=None)
        db.commit()
    wider = admin.calendar.check_conflicts(DAY, new_start="14:00", new_end="16:30",
                                           technician_id=tech_id)  # fmt: skip
    assert wider["has_conflicts"] is True  # 300 + 240 + 150 = 690 > 660
    assert wider["conflicts"][0]["message"].startswith("Day overloaded: 690 minutes")


# task_id and the new slot ---------------------------------------------------------------------
def test_a_task_moved_to_a_new_slot(server: LiveServer, tech: IpcClient, admin: IpcClient) -> None:
    tech_id = me(tech)
    task = create(admin, technician_id=tech_id, start_time="09:00", end_time="11:00",
                  estimated_duration=120, title="The job")  # fmt: skip
    meeting = new_event(
        admin,
        technician_id=tech_id,
        title="Meeting",
        start_date=at("14:00", "2024-01-16"),
        end_date=at("15:00", "2024-01-16"),
    )
    check = partial(admin.calendar.check_conflicts, task_id=task["id"])
    # The task's own times on the new day; it never clashes with itself.
    assert check("2024-01-15") == {"has_conflicts": False, "conflicts": []}
    assert check("2024-01-16")["conflicts"] == []
    # A new start: the end follows from the estimated duration.
    assert [c["event_id"] for c in check("2024-01-16", new_start="13:30")["conflicts"]] == [
        meeting["id"]
    ]
    assert check("2024-01-16", new_start="15:00", new_end="16:00")["conflicts"] == []
    # Another technician named explicitly instead of the assignee.
    other = make_user(admin, server, "technician")
    assert check("2024-01-16", new_start="13:30", technician_id=me(other))["conflicts"] == []
    # Without any time, only time off clashes with the day.
    untimed = create(admin, technician_id=tech_id, title="Untimed")
    off = new_event(admin, technician_id=tech_id, event_type="time_off", title="Holiday",
                    start_date="2024-01-17", end_date="2024-01-18")  # fmt: skip
    answer = admin.calendar.check_conflicts("2024-01-17", task_id=untimed["id"])
    assert kinds(answer) == [("time_overlap", "Holiday", off["id"])]
    assert admin.calendar.check_conflicts("2024-01-16", task_id=untimed["id"])["conflicts"] == []
    services = server.services
    unassigned = create(admin, title="Nobody's")
    for call, code, status in (
        (partial(check, "2024-01-16", new_end="12:00"), "VALIDATION_ERROR", 400),
        (partial(check, "2024-01-16", new_start="12:00", new_end="11:00"), "VALIDATION_ERROR", 400),
        (partial(check, "2024-01-16", new_start="25:00"), "VALIDATION_ERROR", 400),
        (partial(check, "16/01/2024"), "VALIDATION_ERROR", 400),
        (partial(check, "2024-02-30"), "VALIDATION_ERROR", 400),
        (partial(admin.calendar.check_conflicts, DAY, task_id=unassigned["id"]),
         "VALIDATION_ERROR", 400),
        (partial(admin.calendar.check_conflicts, DAY, new_start="10:00", new_end="11:00"),
         "VALIDATION_ERROR", 400),
        (partial(admin.calendar.check_conflicts, DAY, task_id="nothing"), "NOT_FOUND_TASK", 404),
        (partial(admin.calendar.check_conflicts, DAY, technician_id="nobody"),
         "NOT_FOUND_USER", 404),
    ):  # fmt: skip
        refused(services, call, code, status)
    other.close()


# Recurrence -----------------------------------------------------------------------------------
def test_a_weekly_series_is_expanded_in_range(
    server: LiveServer, tech: IpcClient, admin: IpcClient
) -> None:
    tech_id = me(tech)
    series = new_event(admin, technician_id=tech_id, title="Stand-up", event_type="meeting",
                       rrule="RRULE:freq=weekly;byday=MO;count=4")  # fmt: skip
    assert (series["rrule"], series["series_id"]) == ("FREQ=WEEKLY;COUNT=4;BYDAY=MO", series["id"])
    items = events_of(admin, "2024-01-01", "2024-02-29", include_tasks=False)
    assert [(i["id"], i["start_datetime"], i["end_datetime"], i["series_id"]) for i in items] == [
        (f"{series['id']}:2024{md}T090000Z", f"2024-{md[:2]}-{md[2:]}T09:00:00Z",
         f"2024-{md[:2]}-{md[2:]}T10:00:00Z", series["id"])
        for md in ("0115", "0122", "0129", "0205")
    ]  # fmt: skip
    assert [i["id"] for i in events_of(admin, "2024-01-23", "2024-01-29")] == [
        f"{series['id']}:20240129T090000Z"
    ]
    # Conflicts see the occurrences.
    answer = admin.calendar.check_conflicts("2024-01-29", new_start="09:30", new_end="11:00",
                                            technician_id=tech_id)  # fmt: skip
    assert kinds(answer) == [("time_overlap", "Stand-up", f"{series['id']}:20240129T090000Z")]
    assert (
        admin.calendar.check_conflicts(
            "2024-02-12", new_start="09:30", new_end="11:00", technician_id=tech_id
        )["conflicts"]
        == []
    )
    # A series changes as a whole; UNTIL in local time is stored in UTC.
    changed = admin.calendar.update_event(series["id"], {"rrule": "FREQ=WEEKLY;UNTIL=20240122"})
    assert changed["rrule"] == "FREQ=WEEKLY;UNTIL=20240122T235959Z"
    assert len(events_of(admin, "2024-01-01", "2024-12-31", include_tasks=False)) == 2
    cleared = admin.calendar.update_event(series["id"], {"rrule": None})
    assert (cleared["rrule"], cleared["series_id"]) == (None, None)
    assert len(events_of(admin, "2024-01-01", "2024-12-31", include_tasks=False)) == 1


def test_an_open_series_and_daylight_saving(
    server: LiveServer, frozen: None, admin: IpcClient
) -> None:
    set_timezone(server, "Europe/Paris")
    series = new_event(admin, title="Weekly review", start_date="2024-03-18T09:00:00",
                       end_date="2024-03-18T10:00:00", rrule="FREQ=WEEKLY")  # fmt: skip
    items = events_of(admin, "2024-03-18", "2024-04-07")
    # 09:00 in Paris before and after the change to summer time on 31 March.
    assert [i["start_datetime"] for i in items] == [
        "2024-03-18T08:00:00Z",
        "2024-03-25T08:00:00Z",
        "2024-04-01T07:00:00Z",
    ]
    # Without an end, the series reaches every range, a year later too.
    later = events_of(admin, "2025-03-01", "2025-03-31")
    assert [i["start_datetime"] for i in later] == [
        "2025-03-03T08:00:00Z", "2025-03-10T08:00:00Z", "2025-03-17T08:00:00Z",
        "2025-03-24T08:00:00Z", "2025-03-31T07:00:00Z",
    ]  # fmt: skip
    assert series["rrule"] == "FREQ=WEEKLY"


# ICS export -----------------------------------------------------------------------------------
def test_export_ics_reads_back(server: LiveServer, tech: IpcClient, admin: IpcClient) -> None:
    set_timezone(server, "Europe/Paris")
    tech_id = me(tech)
    series = new_event(admin, technician_id=tech_id, title="Stand-up", event_type="meeting",
                       start_date="2024-01-15T09:00:00", end_date="2024-01-15T09:15:00",
                       rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20240311")  # fmt: skip
    off = new_event(
        tech,
        title="Holiday",
        event_type="time_off",
        start_date="2024-01-18",
        end_date="2024-01-19",
        description="Skiing",
        location="Alps",
    )
    task = create(admin, technician_id=tech_id, start_time="13:00", end_time="15:00")
    new_event(admin, title="Shop-wide", start_date="2024-01-16T09:00:00",
              end_date="2024-01-16T10:00:00")  # fmt: skip
    update(admin, task["id"], title="Hood film")
    answer = tech.calendar.export_ics("2024-01-15", "2024-01-21", technician_id=tech_id)
    assert answer["filename"] == "rpma-workshop-sam-technician-20240115-20240121.ics"
    assert answer["content_type"] == "text/calendar; charset=utf-8"
    assert answer["event_count"] == 3
    cal = Calendar.from_ical(answer["content"])
    assert str(cal["version"]) == "2.0"
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    found = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert set(found) == {f"{series['id']}@rpma", f"{off['id']}@rpma", f"task-{task['id']}@rpma"}
    weekly = found[f"{series['id']}@rpma"]
    start = weekly.decoded("dtstart")
    assert (start.isoformat(), str(start.tzinfo)) == ("2024-01-15T09:00:00+01:00", "Europe/Paris")
    assert weekly["rrule"].to_ical() == b"FREQ=WEEKLY;UNTIL=20240311T225959Z;BYDAY=MO"
    assert str(weekly["summary"]) == "Stand-up"
    holiday = found[f"{off['id']}@rpma"]
    assert (holiday.decoded("dtstart").isoformat(), holiday.decoded("dtend").isoformat()) == (
        "2024-01-18",
        "2024-01-20",
    )
    assert (str(holiday["description"]), str(holiday["location"]), str(holiday["status"])) == (
        "Skiing",
        "Alps",
        "CONFIRMED",
    )
    job = found[f"task-{task['id']}@rpma"]
    assert str(job["summary"]).endswith("Hood film")
    assert job.decoded("dtstart").isoformat() == "2024-01-15T13:00:00+01:00"
    assert job.decoded("sequence") == 1
    # The same export twice is the same file: stable UIDs and stamps.
    again = tech.calendar.export_ics("2024-01-15", "2024-01-21", technician_id=tech_id)
    assert again["content"] == answer["content"]
    # The shop's calendar holds the shop-wide event too; without tasks, none of them.
    shop = admin.calendar.export_ics("2024-01-15", "2024-01-21", include_tasks=False)
    assert shop["event_count"] == 3
    assert shop["filename"] == "rpma-workshop-20240115-20240121.ics"
    refused(server.services, partial(admin.calendar.export_ics, "2024-01-15", "2024-01-21",
                                     technician_id="nobody"), "NOT_FOUND_USER", 404)  # fmt: skip
