"""get_events, create_event, update_event and delete_event through the real HTTP
server: exact answers, UTC storage, the seed's and DOMAIN.md's field names, all-day
days, scheduled tasks on the calendar, versions, events after commit, every role and
the technician's "own events" scope, and every kind of bad input refused with nothing
changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from rpma.client import IpcClient
from rpma.core.events import Event
from rpma.domains.settings.service import set_setting
from tests.conftest import LiveServer, make_user
from tests.domains.test_tasks import NOW_MS, add_client, create, frozen, me
from tests.helpers import count, raw, refused, snapshot

__all__ = ["frozen"]

MEETING = {
    "title": "Team meeting",
    "start_date": "2024-01-15T09:00:00Z",
    "end_date": "2024-01-15T10:00:00Z",
}


@pytest.fixture
def tech(server: LiveServer, frozen: None, admin: IpcClient) -> Iterator[IpcClient]:
    client = make_user(admin, server, "technician", "tina@shop.example")
    yield client
    client.close()


def new_event(client: IpcClient, **data: Any) -> dict[str, Any]:
    return dict(client.calendar.create_event({**MEETING, **data}))


def events_of(client: IpcClient, start: str, end: str, **extra: Any) -> list[dict[str, Any]]:
    return list(client.calendar.get_events(start, end, **extra))


def set_timezone(server: LiveServer, name: str) -> None:
    with server.services.db.session(write=True) as db:
        set_setting(db, "general.timezone", name, actor_id=None)
        db.commit()


# Create ---------------------------------------------------------------------------------------
def test_create_answers_the_event(server: LiveServer, tech: IpcClient, admin: IpcClient) -> None:
    admin_id, tech_id = me(admin), me(tech)
    client_id = add_client(server)
    task = create(admin)
    event = admin.calendar.create_event(
        {
            "title": "  Drop-off  ",
            "description": "Client brings the car",
            "event_type": "appointment",
            # An offset is that instant; stored and answered in UTC.
            "start_date": "2024-01-15T10:00:00+01:00",
            "end_date": "2024-01-15T10:30:00+01:00",
            "technician_id": tech_id,
            "task_id": task["id"],
            "client_id": client_id,
            "location": "Bay 2",
            "status": "tentative",
            "color": "#3B82F6",
        }
    )
    assert event == {
        "id": event["id"],
        "title": "Drop-off",
        "description": "Client brings the car",
        "event_type": "appointment",
        "start_datetime": "2024-01-15T09:00:00Z",
        "end_datetime": "2024-01-15T09:30:00Z",
        "all_day": False,
        "technician_id": tech_id,
        "task_id": task["id"],
        "client_id": client_id,
        "location": "Bay 2",
        "status": "tentative",
        "color": "#3B82F6",
        "rrule": None,
        "series_id": None,
        "timezone": "UTC",
        "created_at": NOW_MS,
        "updated_at": NOW_MS,
        "created_by": admin_id,
        "updated_by": admin_id,
        "version": 1,
        "conflicts": [],
    }
    listed = events_of(admin, "2024-01-15", "2024-01-15", include_tasks=False)
    assert listed == [{k: v for k, v in event.items() if k != "conflicts"}]


def test_defaults_and_domain_names(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    event = admin.calendar.create_event(
        {
            "title": "Call the supplier",
            "start_datetime": "2024-01-15T14:00:00",  # no offset: shop time (UTC here)
            "end_datetime": "2024-01-15T14:15:00",
        }
    )
    assert (event["event_type"], event["status"], event["all_day"]) == (
        "other",
        "confirmed",
        False,
    )
    assert (event["start_datetime"], event["end_datetime"]) == (
        "2024-01-15T14:00:00Z",
        "2024-01-15T14:15:00Z",
    )
    assert event["technician_id"] is None  # a shop-wide event
    refused(
        server.services,
        partial(
            admin.calendar.create_event,
            {**MEETING, "start_datetime": "2024-01-15T09:00:00Z"},
        ),
        "VALIDATION_ERROR",
        400,
    )


def test_all_day_events_cover_whole_local_days(
    server: LiveServer, frozen: None, admin: IpcClient
) -> None:
    set_timezone(server, "Europe/Paris")
    holiday = admin.calendar.create_event(
        {"title": "Closed", "start_date": "2024-01-15", "end_date": "2024-01-16"}
    )
    # Two days, the end day included, from local midnight (UTC+1 in winter).
    assert (holiday["all_day"], holiday["start_datetime"], holiday["end_datetime"]) == (
        True,
        "2024-01-14T23:00:00Z",
        "2024-01-16T23:00:00Z",
    )
    assert holiday["timezone"] == "Europe/Paris"
    one = admin.calendar.create_event(
        {"title": "Inventory", "start_date": "2024-01-20", "end_date": "2024-01-20"}
    )
    assert (one["start_datetime"], one["end_datetime"]) == (
        "2024-01-19T23:00:00Z",
        "2024-01-20T23:00:00Z",
    )
    # Datetimes with all_day: their local days.
    training = admin.calendar.create_event(
        {
            "title": "Training",
            "all_day": True,
            "start_date": "2024-01-22T15:00:00Z",
            "end_date": "2024-01-22T23:30:00Z",  # 00:30 on the 23rd in Paris
        }
    )
    assert (training["start_datetime"], training["end_datetime"]) == (
        "2024-01-21T23:00:00Z",
        "2024-01-23T23:00:00Z",
    )
    # Switching all_day off keeps the span as instants.
    changed = admin.calendar.update_event(one["id"], {"all_day": False})
    assert (changed["all_day"], changed["start_datetime"], changed["end_datetime"]) == (
        False,
        "2024-01-19T23:00:00Z",
        "2024-01-20T23:00:00Z",
    )


# get_events -----------------------------------------------------------------------------------
def test_get_events_includes_scheduled_tasks(
    server: LiveServer, tech: IpcClient, admin: IpcClient
) -> None:
    tech_id = me(tech)
    other = make_user(admin, server, "technician")
    timed = create(admin, technician_id=tech_id, start_time="13:00", end_time="15:00")
    by_duration = create(
        admin, technician_id=tech_id, scheduled_date="2024-01-16", start_time="08:00",
        estimated_duration=90, title="By duration",
    )  # fmt: skip
    untimed = create(admin, technician_id=me(other), title="Untimed")
    create(admin, scheduled_date="2024-02-01", title="Later")
    create(admin, scheduled_date=None, title="Undated")
    mine = new_event(admin, technician_id=tech_id)
    theirs = new_event(admin, technician_id=me(other), title="Their meeting")
    shop = new_event(admin, title="Shop", start_date="2024-01-16T07:00:00Z",
                     end_date="2024-01-16T08:00:00Z")  # fmt: skip

    items = events_of(tech, "2024-01-15", "2024-01-16")
    expected = sorted(
        [
            (f"task:{untimed['id']}", "2024-01-15T00:00:00Z", "2024-01-16T00:00:00Z"),
            (mine["id"], "2024-01-15T09:00:00Z", "2024-01-15T10:00:00Z"),
            (theirs["id"], "2024-01-15T09:00:00Z", "2024-01-15T10:00:00Z"),
            (f"task:{timed['id']}", "2024-01-15T13:00:00Z", "2024-01-15T15:00:00Z"),
            (shop["id"], "2024-01-16T07:00:00Z", "2024-01-16T08:00:00Z"),
            (f"task:{by_duration['id']}", "2024-01-16T08:00:00Z", "2024-01-16T09:30:00Z"),
        ],
        key=lambda row: (row[1], row[0]),  # by start, then id
    )
    assert [(i["id"], i["start_datetime"], i["end_datetime"]) for i in items] == expected
    as_event = next(i for i in items if i["id"] == f"task:{timed['id']}")
    assert as_event == {
        "id": f"task:{timed['id']}",
        "title": "PPF Installation",
        "description": None,
        "event_type": "task",
        "start_datetime": "2024-01-15T13:00:00Z",
        "end_datetime": "2024-01-15T15:00:00Z",
        "all_day": False,
        "technician_id": tech_id,
        "task_id": timed["id"],
        "client_id": None,
        "location": None,
        "status": "confirmed",
        "color": None,
        "rrule": None,
        "series_id": None,
        "timezone": "UTC",
        "created_at": NOW_MS,
        "updated_at": NOW_MS,
        "created_by": me(admin),
        "updated_by": me(admin),
        "version": 1,
    }
    # One technician: their events and tasks only.
    only_tech = events_of(admin, "2024-01-15", "2024-01-16", technician_id=tech_id)
    assert [i["id"] for i in only_tech] == [
        mine["id"],
        f"task:{timed['id']}",
        f"task:{by_duration['id']}",
    ]
    no_tasks = events_of(admin, "2024-01-15", "2024-01-16", include_tasks=False)
    assert [i["id"] for i in no_tasks] == [*sorted([mine["id"], theirs["id"]]), shop["id"]]
    other.close()


def test_range_bounds(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    early = new_event(admin, start_date="2024-01-15T08:00:00Z", end_date="2024-01-15T09:00:00Z")
    late = new_event(admin, start_date="2024-01-15T23:00:00Z", end_date="2024-01-16T01:00:00Z")

    def ids(start: str, end: str) -> list[str]:
        return [i["id"] for i in events_of(admin, start, end)]

    assert ids("2024-01-15", "2024-01-15") == [early["id"], late["id"]]  # end day included
    assert ids("2024-01-16", "2024-01-16") == [late["id"]]  # still running after midnight
    # Datetimes: half-open, the end excluded.
    assert ids("2024-01-15T09:00:00Z", "2024-01-15T23:00:00Z") == []
    assert ids("2024-01-15T08:59:00Z", "2024-01-15T23:00:01Z") == [early["id"], late["id"]]
    assert ids("2024-01-01", "2024-12-31") == [early["id"], late["id"]]  # 366 days


# Update and delete ----------------------------------------------------------------------------
def test_update_changes_what_is_given(
    server: LiveServer, tech: IpcClient, admin: IpcClient
) -> None:
    event = new_event(admin, location="Bay 1", color="red", technician_id=me(tech))
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    changed = admin.calendar.update_event(
        event["id"],
        # Partial<CalendarEvent>: read-only fields sent back are ignored.
        {"title": "Weekly review", "location": None, "end_datetime": "2024-01-15T11:00:00Z",
         "id": "ignored", "version": 99, "created_at": 1},
        expected_version=1,
    )  # fmt: skip
    unsubscribe()
    assert {k: changed[k] for k in ("title", "location", "color", "end_datetime", "version")} == {
        "title": "Weekly review",
        "location": None,
        "color": "red",
        "end_datetime": "2024-01-15T11:00:00Z",
        "version": 2,
    }
    assert changed["start_datetime"] == "2024-01-15T09:00:00Z"
    assert [(e.type, e.data["event_id"], e.data["action"]) for e in seen] == [
        ("calendar_updated", event["id"], "updated")
    ]
    assert seen[0].data["changes"]["title"] == "Weekly review"
    # Nothing new: no new version.
    again = admin.calendar.update_event(event["id"], {"title": "Weekly review"})
    assert again["version"] == 2
    refused(
        server.services,
        partial(admin.calendar.update_event, event["id"], {"title": "Late"}, 1),
        "CONFLICT",
        409,
    )
    for field in ("title", "event_type", "status", "all_day"):
        refused(
            server.services,
            partial(admin.calendar.update_event, event["id"], {field: None}),
            "VALIDATION_ERROR",
            400,
        )


def test_delete_is_soft_and_final(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    event = new_event(admin)
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    assert admin.calendar.delete_event(event["id"]) is True
    unsubscribe()
    assert [(e.type, e.data["action"]) for e in seen] == [("calendar_updated", "deleted")]
    assert events_of(admin, "2024-01-15", "2024-01-15") == []
    assert count(server.services, "calendar_events") == 1
    for call in (
        partial(admin.calendar.delete_event, event["id"]),
        partial(admin.calendar.update_event, event["id"], {"title": "Back"}),
        partial(admin.calendar.delete_event, "no-such-event"),
    ):
        refused(server.services, call, "NOT_FOUND_EVENT", 404)


def test_create_publishes_after_commit(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    event = new_event(admin)
    refused(server.services, partial(new_event, admin, title=""), "VALIDATION_ERROR", 400)
    unsubscribe()
    assert [(e.type, e.data) for e in seen] == [
        (
            "calendar_updated",
            {
                "event_id": event["id"],
                "action": "created",
                "technician_id": None,
                "changes": {"title": "Team meeting"},
            },
        )
    ]


# Roles ----------------------------------------------------------------------------------------
def test_roles_and_own_events(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    admin, supervisor = role_clients["admin"], role_clients["supervisor"]
    technician, viewer = role_clients["technician"], role_clients["viewer"]
    tech_id = me(technician)
    other = make_user(admin, server, "technician")
    services = server.services
    # A technician's event is theirs by default; for someone else it is refused.
    own = new_event(technician, event_type="time_off", title="Dentist")
    assert own["technician_id"] == tech_id
    assert new_event(technician, technician_id=tech_id)["technician_id"] == tech_id
    refused(
        services, partial(new_event, technician, technician_id=me(other)), "AUTH_FORBIDDEN", 403
    )
    # Staff write for anyone.
    assigned = new_event(supervisor, technician_id=me(other))
    shop = new_event(admin)
    technician.calendar.update_event(own["id"], {"title": "Dentist (moved)"})
    for event in (assigned, shop):
        refused(services, partial(technician.calendar.update_event, event["id"], {"title": "x"}),
                "AUTH_FORBIDDEN", 403)  # fmt: skip
        refused(services, partial(technician.calendar.delete_event, event["id"]),
                "AUTH_FORBIDDEN", 403)  # fmt: skip
    # Nor may a technician give their event away.
    refused(
        services,
        partial(technician.calendar.update_event, own["id"], {"technician_id": me(other)}),
        "AUTH_FORBIDDEN",
        403,
    )
    refused(
        services,
        partial(technician.calendar.update_event, own["id"], {"technician_id": None}),
        "AUTH_FORBIDDEN",
        403,
    )
    supervisor.calendar.update_event(own["id"], {"status": "tentative"})
    # A viewer reads everything and writes nothing.
    assert len(events_of(viewer, "2024-01-15", "2024-01-15")) == 4
    for call in (
        partial(new_event, viewer),
        partial(viewer.calendar.update_event, shop["id"], {"title": "x"}),
        partial(viewer.calendar.delete_event, shop["id"]),
    ):
        refused(services, call, "AUTH_FORBIDDEN", 403)
    assert technician.calendar.delete_event(own["id"]) is True
    for client in role_clients.values():
        assert len(events_of(client, "2024-01-15", "2024-01-15")) == 3
        assert client.calendar.check_conflicts("2024-01-15", technician_id=tech_id) == {
            "has_conflicts": False,
            "conflicts": [],
        }
    other.close()


# Bad input ------------------------------------------------------------------------------------
BAD_EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"end_date": "2024-01-15T08:00:00Z"}, "end before start"),
    ({"end_date": "2024-01-15T09:00:00Z"}, "end equals start"),
    ({"start_date": "2024-01-16", "end_date": "2024-01-15"}, "all-day end before start"),
    ({"start_date": "2024-02-30T09:00:00Z"}, "no such day"),
    ({"start_date": "15/01/2024 09:00"}, "not ISO 8601"),
    ({"start_date": "2024-01-15T25:00:00Z"}, "no such hour"),
    ({"start_date": 1705309200000}, "a number"),
    ({"start_date": None}, "no start"),
    ({"end_date": "2025-01-20T09:00:00Z"}, "longer than a year"),
    ({"title": ""}, "blank title"),
    ({"title": "x" * 201}, "title too long"),
    ({"description": "x" * 5001}, "description too long"),
    ({"location": "x" * 201}, "location too long"),
    ({"event_type": "party"}, "unknown type"),
    ({"status": "done"}, "unknown status"),
    ({"color": "url(javascript:x)"}, "not a colour"),
    ({"all_day": "yes"}, "not a boolean"),
    ({"technician_id": "x" * 65}, "id too long"),
    ({"rrule": "FREQ=SOMETIMES"}, "unknown frequency"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "bad BYDAY"),
    ({"rrule": "FREQ=WEEKLY;COUNT=0"}, "zero count"),
    ({"rrule": "FREQ=WEEKLY;COUNT=2;UNTIL=20240301"}, "COUNT and UNTIL"),
    ({"rrule": "FREQ=HOURLY"}, "too frequent"),
    ({"rrule": "FREQ=DAILY;BYHOUR=8,9"}, "BYHOUR"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=TU"}, "start not an occurrence"),
    ({"rrule": "FREQ=YEARLY;BYMONTH=13"}, "no such month"),
    ({"rrule": "FREQ=WEEKLY\nRRULE:FREQ=DAILY"}, "two lines"),
    ({"rrule": "FREQ=WEEKLY;UNTIL=2024"}, "bad UNTIL"),
    ({"rrule": "FREQ=WEEKLY;UNTIL=20240101"}, "ends before it starts"),
]


@pytest.mark.parametrize(("changes", "why"), BAD_EVENTS, ids=[why for _, why in BAD_EVENTS])
def test_bad_events_are_refused(
    server: LiveServer, frozen: None, admin: IpcClient, changes: dict[str, Any], why: str
) -> None:
    existing = new_event(admin)
    error = refused(server.services, partial(new_event, admin, **changes), "VALIDATION_ERROR", 400)
    assert error.details is not None
    assert error.details["fields"], why
    if changes != {"start_date": None}:  # a null bound in an update keeps the stored one
        refused(
            server.services,
            partial(admin.calendar.update_event, existing["id"], changes),
            "VALIDATION_ERROR",
            400,
        )


def test_text_no_database_can_store(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    """JSON can carry a lone UTF-16 surrogate; no database can store it."""
    body = json.dumps({"event_data": {**MEETING, "title": "Caf\ud800"}})  # ASCII escapes
    before = snapshot(server.services)
    response = raw(
        admin,
        "create_event",
        content=body.encode(),
        headers={"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["error"]["message"]) == (
        400,
        "event_data.title: title is not valid Unicode text",
    )
    assert snapshot(server.services) == before


def test_unknown_references(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    event = new_event(admin)
    services = server.services
    for field, code in (
        ("technician_id", "NOT_FOUND_USER"),
        ("task_id", "NOT_FOUND_TASK"),
        ("client_id", "NOT_FOUND_CLIENT"),
    ):
        refused(services, partial(new_event, admin, **{field: "nobody"}), code, 404)
        refused(
            services,
            partial(admin.calendar.update_event, event["id"], {field: "nobody"}),
            code,
            404,
        )
    refused(services, partial(events_of, admin, "2024-01-15", "2024-01-16",
                              technician_id="nobody"), "NOT_FOUND_USER", 404)  # fmt: skip
    # Tasks and occurrences are not events to update or delete.
    for bad_id in ("task:whatever", f"{event['id']}:20240115T090000Z"):
        refused(services, partial(admin.calendar.delete_event, bad_id), "VALIDATION_ERROR", 400)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-01-16", "2024-01-15"),  # end before start
        ("2024-01-15T10:00:00Z", "2024-01-15T10:00:00Z"),  # empty
        ("2024-01-01", "2025-01-01"),  # 367 days
        ("2024-01-01T00:00:00Z", "2025-01-02T00:00:00Z"),
        ("2024-13-01", "2024-12-31"),
        ("yesterday", "2024-01-15"),
        ("2024-01-15", ""),
    ],
)
def test_bad_ranges(
    server: LiveServer, frozen: None, admin: IpcClient, start: str, end: str
) -> None:
    new_event(admin)
    for call in (
        partial(admin.calendar.get_events, start, end),
        partial(admin.calendar.export_ics, start, end),
    ):
        refused(server.services, call, "VALIDATION_ERROR", 400)


def test_empty_payloads_are_validation_errors(
    server: LiveServer, frozen: None, admin: IpcClient
) -> None:
    for name in ("get_events", "create_event", "update_event", "delete_event",
                 "calendar_check_conflicts", "calendar_export_ics"):  # fmt: skip
        refused(server.services, partial(admin.call, name, {}), "VALIDATION_ERROR", 400)
    refused(
        server.services,
        partial(admin.call, "create_event", {"event_data": "not an object"}),
        "VALIDATION_ERROR",
        400,
    )
