"""task_crud, edit_task, delay_task and task_get_history through the real HTTP server:
every action with exact values, every role, the technician's "assigned only" scope, the
status machine and its history, versions, events, concurrent task numbers and the query
plans of the list."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from rpma.client import IpcClient, IpcError
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.domains.clients.models import Client
from rpma.domains.tasks.models import Task
from rpma.domains.tasks.repository import TaskRepository
from rpma.domains.tasks.schemas import TaskQuery
from rpma.domains.tasks.status import STATUSES, TRANSITIONS
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, LiveServer, make_user
from tests.helpers import refused

NOW = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
SEED_TASK = {
    "title": "PPF Installation",
    "vehicle_plate": "ABC-123",
    "vehicle_make": "Toyota",
    "vehicle_model": "Camry",
    "scheduled_date": "2024-01-15",
    "priority": "high",
}


# Helpers (the CSV and assignment tests use them too) ---------------------------------------
def me(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])


def add_client(server: LiveServer, name: str = "Acme Fleet", **extra: Any) -> str:
    """A client row, written directly: the clients domain is not under test here."""
    client_id = str(uuid.uuid4())
    with server.services.db.session(write=True) as db:
        db.add(
            Client(
                id=client_id,
                name=name,
                customer_type="business",
                tags=[],
                created_at=0,
                updated_at=0,
                version=1,
                **extra,
            )
        )
        db.commit()
    return client_id


def create(client: IpcClient, **data: Any) -> dict[str, Any]:
    return dict(client.tasks.create({**SEED_TASK, **data})["task"])


def update(client: IpcClient, task_id: str, **changes: Any) -> dict[str, Any]:
    return dict(client.tasks.update(task_id, changes)["task"])


def stored(server: LiveServer, task_id: str) -> Task:
    with server.services.db.session(write=False) as db:
        task = db.get(Task, task_id)
        assert task is not None
        return task


def history(client: IpcClient, task_id: str) -> list[tuple[Any, ...]]:
    return [
        (h["old_status"], h["new_status"], h["reason"], h["changed_by"], h["changed_at"])
        for h in client.tasks.history(task_id)
    ]


def travel(moment: datetime, *clients: IpcClient) -> None:
    """Set the clock to ``moment`` and sign ``clients`` in again: a session lives 8
    hours and a token from the future is no token."""
    emails = [client.call("auth_validate_session", {})["user"]["email"] for client in clients]
    clock.freeze(moment)
    for client, email in zip(clients, emails, strict=True):
        password = ADMIN_PASSWORD if email == "owner@shop.example" else USER_PASSWORD
        client.auth.login(email, password)


@pytest.fixture
def frozen(server: LiveServer) -> Iterator[None]:
    """The clock at NOW; ask for it before ``admin`` so that the sign-in happens then."""
    clock.freeze(NOW)
    yield
    clock.reset()


@pytest.fixture
def events(server: LiveServer) -> Iterator[list[Event]]:
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    yield seen
    unsubscribe()


# Create ---------------------------------------------------------------------------------------
def test_create_answers_the_task(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    admin_id = me(admin)
    client_id = add_client(server)
    answer = admin.tasks.create({**SEED_TASK, "client_id": client_id})
    assert set(answer) == {"task"}
    task = answer["task"]
    assert task == {
        "id": task["id"],
        "task_number": "20240110-001",
        "title": "PPF Installation",
        "description": None,
        "vehicle_plate": "ABC-123",
        "vehicle_make": "Toyota",
        "vehicle_model": "Camry",
        "vehicle_year": None,
        "vin": None,
        "vehicle_color": None,
        "ppf_zones": [],
        "film_type": None,
        "status": "scheduled",
        "priority": "high",
        "client_id": client_id,
        "technician_id": None,
        "assigned_at": None,
        "assigned_by": None,
        "scheduled_date": "2024-01-15",
        "start_time": None,
        "end_time": None,
        "estimated_duration": None,
        "actual_duration": None,
        "started_at": None,
        "completed_at": None,
        "notes": None,
        "tags": [],
        "is_overdue": False,
        "created_at": NOW_MS,
        "updated_at": NOW_MS,
        "created_by": admin_id,
        "updated_by": admin_id,
        "version": 1,
    }
    assert admin.tasks.get(task["id"]) == {"task": task}
    assert history(admin, task["id"]) == [(None, "scheduled", "Task created", admin_id, NOW_MS)]


def test_create_with_every_field(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    tech = make_user(admin, server, "technician")
    tech_id = me(tech)
    task = create(
        admin,
        description="Full front, customer waits",
        vehicle_year=2025,
        vin="1hgcm82633a004352",
        vehicle_color="Pearl white",
        ppf_zones=["hood", "custom:Spoiler lip", "hood", "full_front"],
        film_type="matte",
        technician_id=tech_id,
        start_time="09:00",
        end_time="12:30",
        estimated_duration=210,
        notes="Ceramic after PPF",
        tags=["vip", "fleet", "vip"],
    )
    expected = {
        "description": "Full front, customer waits",
        "vehicle_year": 2025,
        "vin": "1HGCM82633A004352",
        "vehicle_color": "Pearl white",
        "ppf_zones": ["hood", "custom:Spoiler lip", "full_front"],
        "film_type": "matte",
        "technician_id": tech_id,
        "assigned_at": NOW_MS,
        "assigned_by": me(admin),
        "start_time": "09:00",
        "end_time": "12:30",
        "estimated_duration": 210,
        "notes": "Ceramic after PPF",
        "tags": ["vip", "fleet"],
    }
    assert {k: task[k] for k in expected} == expected
    tech.close()


def test_create_defaults_draft_title_and_priority(frozen: None, admin: IpcClient) -> None:
    data = {"vehicle_plate": "XY-987-ZT", "vehicle_make": "Tesla", "vehicle_model": "Model 3"}
    task = admin.tasks.create(data)["task"]
    assert (task["status"], task["title"], task["priority"], task["task_number"]) == (
        "draft",
        "Tesla Model 3 (XY-987-ZT)",
        "medium",
        "20240110-001",
    )
    only_model = admin.tasks.create({"vehicle_plate": "B-1", "vehicle_model": "Kangoo"})["task"]
    assert (only_model["title"], only_model["task_number"]) == ("Kangoo (B-1)", "20240110-002")
    travel(NOW + timedelta(days=1), admin)
    next_day = admin.tasks.create({"vehicle_plate": "C-2", "title": "Wrap"})["task"]
    assert (next_day["task_number"], next_day["title"]) == ("20240111-001", "Wrap")


def test_sql_and_html_are_stored_verbatim(server: LiveServer, admin: IpcClient) -> None:
    sql = "Robert'); DROP TABLE tasks;--"
    html = '<script>alert("x")</script> & <b>bold</b>'
    task = create(admin, title=sql, notes=html, vehicle_make="O'Brien %_")
    got = admin.tasks.get(task["id"])["task"]
    assert (got["title"], got["notes"], got["vehicle_make"]) == (sql, html, "O'Brien %_")
    assert admin.tasks.list()["pagination"]["total"] == 1
    found = admin.tasks.list({"search": "Robert DROP"})["tasks"]
    assert [t["id"] for t in found] == [task["id"]]


BAD_FIELDS = [
    ({"vehicle_plate": ""}, "vehicle_plate"),
    ({"vehicle_plate": None}, "vehicle_plate"),
    ({"title": None, "vehicle_model": None}, "title or vehicle_model"),
    ({"title": "  ", "vehicle_model": ""}, "title or vehicle_model"),
    ({"priority": "critical"}, "priority"),
    ({"film_type": "glossy"}, "film_type"),
    ({"ppf_zones": ["wing"]}, "unknown zone"),
    ({"ppf_zones": ["custom:  "]}, "custom zone"),
    ({"ppf_zones": "hood"}, "ppf_zones"),
    ({"vehicle_year": 1899}, "between 1900 and 2025"),
    ({"vehicle_year": 2026}, "between 1900 and 2025"),
    ({"vehicle_year": "2020"}, "vehicle_year"),
    ({"vin": "1HGCM82633A00435"}, "VIN"),
    ({"vin": "1HGCM82633A00435I"}, "VIN"),
    ({"vin": "OHGCM82633A004352"}, "VIN"),
    ({"start_time": "25:00"}, "HH:MM"),
    ({"start_time": "9:00"}, "HH:MM"),
    ({"start_time": "10:00", "end_time": "09:00"}, "must be after start_time"),
    ({"start_time": "10:00", "end_time": "10:00"}, "must be after start_time"),
    ({"estimated_duration": 0}, "estimated_duration"),
    ({"estimated_duration": 1441}, "estimated_duration"),
    ({"title": "x" * 201}, "at most 200 characters"),
    ({"notes": "x" * 10_001}, "at most 10000 characters"),
    ({"scheduled_date": "2024-02-30"}, "not a calendar date"),
    ({"scheduled_date": "15/01/2024"}, "YYYY-MM-DD"),
    ({"scheduled_date": ""}, "YYYY-MM-DD"),
    ({"scheduled_date": 20240115}, "YYYY-MM-DD"),
    ({"scheduled_date": "2024-01-15T10:00:00Z"}, "YYYY-MM-DD"),
    ({"tags": ["x" * 51]}, "at most 50 characters"),
]


@pytest.mark.parametrize(("bad", "named"), BAD_FIELDS)
def test_create_refuses_bad_fields(
    server: LiveServer, frozen: None, admin: IpcClient, bad: dict[str, Any], named: str
) -> None:
    error = refused(server.services, partial(create, admin, **bad), "VALIDATION_ERROR", 400)
    assert named in error.message, error.message


def test_create_refuses_unknown_references(server: LiveServer, admin: IpcClient) -> None:
    error = refused(
        server.services, partial(create, admin, client_id="nope"), "NOT_FOUND_CLIENT", 404
    )
    assert error.details["client_id"] == "nope"
    deleted = add_client(server, "Gone Ltd", deleted_at=1)
    refused(server.services, partial(create, admin, client_id=deleted), "NOT_FOUND_CLIENT", 404)
    refused(server.services, partial(create, admin, technician_id="nope"), "VALIDATION_ERROR")
    viewer = make_user(admin, server, "viewer")
    error = refused(
        server.services, partial(create, admin, technician_id=me(viewer)), "VALIDATION_ERROR"
    )
    assert "only technicians and supervisors" in error.message
    tech = make_user(admin, server, "technician")
    tech_id = me(tech)
    admin.users.crud("Deactivate", {"id": tech_id})
    error = refused(
        server.services, partial(create, admin, technician_id=tech_id), "VALIDATION_ERROR"
    )
    assert "inactive" in error.message
    viewer.close()
    tech.close()


# Roles --------------------------------------------------------------------------------------
def test_who_may_create(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    admin_id = me(role_clients["admin"])
    for role in ("admin", "supervisor"):
        task = create(role_clients[role])
        assert (task["technician_id"], task["status"]) == (None, "scheduled")
    tech = role_clients["technician"]
    tech_id = me(tech)
    own = create(tech)
    assert (own["technician_id"], own["assigned_by"], own["created_by"]) == (
        tech_id,
        tech_id,
        tech_id,
    )
    assert create(tech, technician_id=tech_id)["technician_id"] == tech_id
    supervisor_id = me(role_clients["supervisor"])
    refused(
        server.services, partial(create, tech, technician_id=supervisor_id), "AUTH_FORBIDDEN", 403
    )
    refused(server.services, partial(create, role_clients["viewer"]), "AUTH_FORBIDDEN", 403)
    assigned = create(role_clients["supervisor"], technician_id=tech_id)
    assert assigned["assigned_by"] == supervisor_id
    assert create(role_clients["admin"], technician_id=supervisor_id)["assigned_by"] == admin_id


def test_everyone_reads(role_clients: dict[str, IpcClient]) -> None:
    task = create(role_clients["admin"])
    for client in role_clients.values():
        assert client.tasks.get(task["id"])["task"]["id"] == task["id"]
        assert client.tasks.list()["pagination"]["total"] == 1
        assert client.tasks.statistics()["statistics"]["total"] == 1
        assert [h[1] for h in history(client, task["id"])] == ["scheduled"]


def test_technicians_update_only_their_own_tasks(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    admin, tech = role_clients["admin"], role_clients["technician"]
    tech_id = me(tech)
    other = make_user(admin, server, "technician")
    theirs = create(admin, technician_id=me(other))
    unassigned = create(admin)
    mine = create(admin, technician_id=tech_id)
    for task in (theirs, unassigned):
        error = refused(
            server.services,
            partial(update, tech, task["id"], notes="mine now"),
            "AUTH_FORBIDDEN",
            403,
        )
        assert "assigned to them" in error.message
        refused(
            server.services,
            partial(tech.tasks.edit_task, task["id"], {"notes": "x"}),
            "AUTH_FORBIDDEN",
            403,
        )
        refused(
            server.services,
            partial(tech.tasks.delay_task, task["id"], "2099-01-01", "Rain"),
            "AUTH_FORBIDDEN",
            403,
        )
    changed = update(tech, mine["id"], notes="Started early", status="in_progress")
    assert (changed["notes"], changed["status"], changed["version"]) == (
        "Started early",
        "in_progress",
        2,
    )
    # Sending their own assignment back is no reassignment; another name is.
    assert update(tech, mine["id"], technician_id=tech_id)["version"] == 2
    refused(
        server.services,
        partial(update, tech, mine["id"], technician_id=me(other)),
        "AUTH_FORBIDDEN",
        403,
    )
    refused(
        server.services, partial(update, tech, mine["id"], technician_id=None), "AUTH_FORBIDDEN"
    )
    refused(
        server.services,
        partial(update, role_clients["viewer"], mine["id"], notes="x"),
        "AUTH_FORBIDDEN",
        403,
    )
    supervisor = role_clients["supervisor"]
    moved = update(supervisor, theirs["id"], technician_id=tech_id)
    assert (moved["technician_id"], moved["assigned_by"]) == (tech_id, me(supervisor))
    unassigned_now = update(supervisor, moved["id"], technician_id=None)
    assert (unassigned_now["technician_id"], unassigned_now["assigned_at"]) == (None, None)
    other.close()


def test_only_admins_delete(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    admin = role_clients["admin"]
    task = create(admin)
    for role in ("supervisor", "technician", "viewer"):
        refused(
            server.services,
            partial(role_clients[role].tasks.delete, task["id"]),
            "AUTH_FORBIDDEN",
            403,
        )
    travel(NOW, admin)
    assert admin.tasks.delete(task["id"]) == {"message": "Task deleted"}
    row = stored(server, task["id"])
    assert (row.deleted_at, row.version) == (NOW_MS, 2)
    refused(server.services, partial(admin.tasks.get, task["id"]), "NOT_FOUND_TASK", 404)
    refused(server.services, partial(admin.tasks.delete, task["id"]), "NOT_FOUND_TASK", 404)
    refused(server.services, partial(update, admin, task["id"], notes="x"), "NOT_FOUND_TASK")
    assert admin.tasks.list()["pagination"]["total"] == 0
    assert admin.tasks.statistics()["statistics"]["total"] == 0


# Update ----------------------------------------------------------------------------------------
def test_update_changes_fields_and_version(
    server: LiveServer, frozen: None, admin: IpcClient
) -> None:
    task = create(admin, vehicle_color="Red")
    clock.advance(timedelta(minutes=5))
    changed = update(
        admin,
        task["id"],
        title="Full wrap",
        vehicle_color=None,
        ppf_zones=["roof"],
        start_time="08:00",
        end_time="09:30",
        priority="urgent",
    )
    assert {k: changed[k] for k in ("title", "vehicle_color", "ppf_zones", "priority")} == {
        "title": "Full wrap",
        "vehicle_color": None,
        "ppf_zones": ["roof"],
        "priority": "urgent",
    }
    assert (changed["version"], changed["updated_at"], changed["created_at"]) == (
        2,
        NOW_MS + 300_000,
        NOW_MS,
    )
    # Nothing different: nothing written, the version stays.
    assert update(admin, task["id"], title="Full wrap", priority="urgent")["version"] == 2
    for bad, named in (
        ({"title": None}, "data.title"),
        ({"vehicle_plate": ""}, "vehicle_plate"),
        ({"priority": None}, "data.priority"),
        ({"end_time": "07:00"}, "end_time 07:00 must be after start_time 08:00"),
        ({"status": "done"}, "status"),
        ({"client_id": "nope"}, "Client not found"),
    ):
        code = "NOT_FOUND_CLIENT" if "client_id" in bad else "VALIDATION_ERROR"
        error = refused(server.services, partial(update, admin, task["id"], **bad), code)
        assert named in error.message, error.message
    refused(server.services, partial(update, admin, "nope", title="x"), "NOT_FOUND_TASK", 404)
    refused(server.services, partial(admin.tasks.crud, "Update", {}), "VALIDATION_ERROR", 400)


def test_stale_expected_version_is_a_conflict(server: LiveServer, admin: IpcClient) -> None:
    task = create(admin)
    assert (
        admin.tasks.update(task["id"], {"notes": "a"}, expected_version=1)["task"]["version"] == 2
    )
    error = refused(
        server.services,
        partial(admin.tasks.update, task["id"], {"notes": "b"}, expected_version=1),
        "CONFLICT",
        409,
    )
    assert error.details == {"current_version": 2, "expected_version": 1}
    refused(
        server.services,
        partial(admin.tasks.edit_task, task["id"], {"notes": "b", "expected_version": 1}),
        "CONFLICT",
        409,
    )
    assert admin.tasks.edit_task(task["id"], {"notes": "b", "expected_version": 2})["version"] == 3


def test_edit_task_answers_the_task(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    task = create(admin)
    edited = admin.tasks.edit_task(task["id"], {"notes": "Installation started", "id": "ignored"})
    assert edited == {**task, "notes": "Installation started", "version": 2}
    refused(
        server.services,
        partial(admin.tasks.edit_task, "nope", {"notes": "x"}),
        "NOT_FOUND_TASK",
        404,
    )
    refused(
        server.services,
        partial(admin.tasks.edit_task, task["id"], {"vehicle_year": 1492}),
        "VALIDATION_ERROR",
        400,
    )


# The status machine ---------------------------------------------------------------------------
PATHS = {
    "draft": [],
    "scheduled": [],
    "in_progress": ["in_progress"],
    "paused": ["in_progress", "paused"],
    "on_hold": ["on_hold"],
    "completed": ["in_progress", "completed"],
    "cancelled": ["cancelled"],
    "archived": ["in_progress", "completed", "archived"],
}


def task_in(admin: IpcClient, status: str) -> dict[str, Any]:
    if status == "draft":
        task = admin.tasks.create({"vehicle_plate": "D-1", "title": "Draft"})["task"]
        # A date alone does not schedule a draft.
        return update(admin, task["id"], scheduled_date="2024-03-01")
    task = create(admin)
    for step in PATHS[status]:
        task = update(admin, task["id"], status=step)
    assert task["status"] == status
    return task


@pytest.mark.parametrize("source", STATUSES)
def test_status_machine(server: LiveServer, admin: IpcClient, source: str) -> None:
    task = task_in(admin, source)
    allowed = TRANSITIONS[source]
    for target in STATUSES:
        if target == source or target in allowed:
            continue
        error = refused(
            server.services,
            partial(update, admin, task["id"], status=target),
            "VALIDATION_ERROR",
            400,
        )
        assert f"from {source} to {target}" in error.message
        assert error.details == {
            "from_status": source,
            "to_status": target,
            "allowed": list(allowed),
        }
    for target in allowed:
        moved = update(admin, task_in(admin, source)["id"], status=target, reason="why not")
        assert moved["status"] == target
        assert history(admin, moved["id"])[0][:3] == (source, target, "why not")


def test_scheduling_needs_a_date(server: LiveServer, admin: IpcClient) -> None:
    draft = admin.tasks.create({"vehicle_plate": "D-1", "title": "Draft"})["task"]
    error = refused(
        server.services, partial(update, admin, draft["id"], status="scheduled"), "VALIDATION_ERROR"
    )
    assert "needs a scheduled_date" in error.message
    moved = update(admin, draft["id"], status="scheduled", scheduled_date="2024-02-01")
    assert (moved["status"], moved["scheduled_date"]) == ("scheduled", "2024-02-01")


def test_history_and_work_times(frozen: None, admin: IpcClient) -> None:
    admin_id = me(admin)
    task = create(admin)
    clock.advance(timedelta(minutes=10))
    started = update(admin, task["id"], status="in_progress")
    assert (started["started_at"], started["completed_at"]) == (NOW_MS + 600_000, None)
    clock.advance(timedelta(minutes=30))
    update(admin, task["id"], status="paused", reason="Lunch")
    clock.advance(timedelta(minutes=45))
    resumed = update(admin, task["id"], status="in_progress")
    assert resumed["started_at"] == NOW_MS + 600_000  # the first start counts
    clock.advance(timedelta(minutes=20, seconds=59))
    done = update(admin, task["id"], status="completed")
    end = NOW_MS + (10 + 30 + 45 + 20) * 60_000 + 59_000
    assert (done["completed_at"], done["actual_duration"], done["version"]) == (end, 95, 5)
    minute = 60_000
    assert history(admin, task["id"]) == [
        ("in_progress", "completed", None, admin_id, end),
        ("paused", "in_progress", None, admin_id, NOW_MS + 85 * minute),
        ("in_progress", "paused", "Lunch", admin_id, NOW_MS + 40 * minute),
        ("scheduled", "in_progress", None, admin_id, NOW_MS + 10 * minute),
        (None, "scheduled", "Task created", admin_id, NOW_MS),
    ]
    entry = admin.tasks.history(task["id"])[0]
    assert set(entry) == {
        "id",
        "task_id",
        "old_status",
        "new_status",
        "reason",
        "changed_by",
        "changed_at",
    }
    assert entry["task_id"] == task["id"]


def test_history_of_an_unknown_task(server: LiveServer, admin: IpcClient) -> None:
    refused(server.services, partial(admin.tasks.history, "nope"), "NOT_FOUND_TASK", 404)


def test_is_overdue(frozen: None, admin: IpcClient) -> None:
    late = create(admin, scheduled_date="2024-01-09")
    today = create(admin, scheduled_date="2024-01-10")
    done = task_in(admin, "completed")
    update(admin, done["id"], scheduled_date="2024-01-01")
    cancelled = update(admin, create(admin, scheduled_date="2024-01-01")["id"], status="cancelled")
    flags = {t["id"]: t["is_overdue"] for t in admin.tasks.list()["tasks"]}
    assert flags == {
        late["id"]: True,
        today["id"]: False,
        done["id"]: False,
        cancelled["id"]: False,
    }
    travel(NOW + timedelta(days=1), admin)
    assert admin.tasks.get(today["id"])["task"]["is_overdue"] is True


# delay_task -----------------------------------------------------------------------------------
def test_delay_task(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    admin_id = me(admin)
    task = create(admin, notes="Keys at the desk")
    clock.advance(timedelta(hours=1))
    delayed = admin.tasks.delay_task(
        task["id"], "2024-01-20", "Customer requested reschedule", "Call before 9"
    )
    assert delayed == {
        **task,
        "scheduled_date": "2024-01-20",
        "notes": "Keys at the desk\n\nCall before 9",
        "updated_at": NOW_MS + 3_600_000,
        "version": 2,
    }
    assert history(admin, task["id"])[0] == (
        "scheduled",
        "scheduled",
        "Rescheduled from 2024-01-15 to 2024-01-20: Customer requested reschedule",
        admin_id,
        NOW_MS + 3_600_000,
    )
    long_reason = "r" * 500
    admin.tasks.delay_task(task["id"], "2024-01-21", long_reason)
    assert history(admin, task["id"])[0][2] == long_reason  # kept whole, never cut
    delay = partial(admin.tasks.delay_task, task["id"])
    for when, reason, named in (
        ("2024-01-10", "Rain", "not in the future"),
        ("2024-01-09", "Rain", "not in the future"),
        ("2024-01-21", "Rain", "already scheduled on 2024-01-21"),
        ("2024-13-01", "Rain", "not a calendar date"),
        ("soon", "Rain", "YYYY-MM-DD"),
        ("2024-02-01", "", "reason is required"),
        ("2024-02-01", "   ", "reason is required"),
        ("2024-02-01", "r" * 501, "at most 500 characters"),
    ):
        error = refused(server.services, partial(delay, when, reason), "VALIDATION_ERROR", 400)
        assert named in error.message, error.message
    refused(
        server.services,
        partial(admin.tasks.delay_task, "nope", "2024-02-01", "Rain"),
        "NOT_FOUND_TASK",
        404,
    )
    for status in ("completed", "cancelled", "archived"):
        closed = task_in(admin, status)
        error = refused(
            server.services,
            partial(admin.tasks.delay_task, closed["id"], "2024-02-01", "Rain"),
            "VALIDATION_ERROR",
        )
        assert f"A {status} task cannot be rescheduled" == error.message


def test_delay_roles(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    admin, tech = role_clients["admin"], role_clients["technician"]
    draft = admin.tasks.create({"vehicle_plate": "D-1", "title": "Draft"})["task"]
    moved = admin.tasks.delay_task(draft["id"], "2099-01-01", "Parts late")
    assert (moved["status"], moved["scheduled_date"]) == ("draft", "2099-01-01")
    assert (
        history(admin, draft["id"])[0][2]
        == "Rescheduled from unscheduled to 2099-01-01: Parts late"
    )
    mine = create(admin, technician_id=me(tech))
    assert tech.tasks.delay_task(mine["id"], "2099-01-02", "Sick")["version"] == 2
    assert (
        role_clients["supervisor"].tasks.delay_task(mine["id"], "2099-01-03", "x")["version"] == 3
    )
    refused(
        server.services,
        partial(role_clients["viewer"].tasks.delay_task, mine["id"], "2099-01-04", "x"),
        "AUTH_FORBIDDEN",
        403,
    )


# List ------------------------------------------------------------------------------------------
@pytest.fixture
def workshop(server: LiveServer, frozen: None, admin: IpcClient) -> dict[str, Any]:
    """Five tasks of two technicians and two clients on several days."""
    tech = make_user(admin, server, "technician")
    tech_id = me(tech)
    tech.close()
    acme, zen = add_client(server, "Acme"), add_client(server, "Zen")
    rows = [
        ("Hood film", "AA-100-AA", "Clio", "2024-01-12", "low", acme, tech_id, None),
        ("Full front", "BB-200-BB", "Golf", "2024-01-15", "urgent", acme, tech_id,
         "Café crème déjà vu"),
        ("Roof matte", "CC-300-CC", "Model Y", "2024-01-20", "high", zen, None, None),
        ("Mirrors", "DD-400-DD", "Zoe", None, "medium", None, None, None),
        ("Bumper", "EE-500-EE", "Twingo", "2024-01-15", "medium", None, tech_id, None),
    ]  # fmt: skip
    keys = ("title", "vehicle_plate", "vehicle_model", "scheduled_date", "priority",
            "client_id", "technician_id", "notes")  # fmt: skip
    specs = [{k: v for k, v in zip(keys, row, strict=True) if v is not None} for row in rows]
    ids = []
    for spec in specs:
        ids.append(admin.tasks.create(spec)["task"]["id"])
        clock.advance(timedelta(minutes=1))
    update(admin, ids[4], status="in_progress")
    return {"ids": ids, "tech": tech_id, "acme": acme, "zen": zen}


def test_list_filters_and_sorts(workshop: dict[str, Any], admin: IpcClient) -> None:
    def listed(**filters: Any) -> list[int]:
        """Positions (in the workshop fixture) of the listed tasks, in order."""
        answer = admin.tasks.list(filters, {"page": 1, "page_size": 200})
        return [workshop["ids"].index(t["id"]) for t in answer["tasks"]]

    assert listed() == [4, 3, 2, 1, 0]  # newest first
    assert listed(status=["scheduled"]) == [2, 1, 0]
    assert listed(status=["in_progress", "draft"]) == [4, 3]
    assert listed(priority=["medium", "urgent"]) == [4, 3, 1]
    assert listed(technician_id=workshop["tech"]) == [4, 1, 0]
    assert listed(status=["scheduled"], technician_id=workshop["tech"]) == [1, 0]
    assert listed(client_id=workshop["acme"]) == [1, 0]
    assert listed(date_range={"start": "2024-01-12", "end": "2024-01-15"}) == [4, 1, 0]
    assert listed(date_range={"start": "2024-01-13", "end": "2024-01-15"}) == [4, 1]
    js_dates = {"start": "2024-01-15T00:00:00.000Z", "end": "2024-01-20T00:00:00Z"}
    assert listed(date_range=js_dates) == [4, 2, 1]
    assert listed(sort_by="scheduled_date") == [0, 1, 4, 2, 3]
    assert listed(sort_by="scheduled_date", sort_order="desc") == [2, 4, 1, 0, 3]
    assert listed(sort_by="title") == [4, 1, 0, 3, 2]
    assert listed(sort_by="task_number", sort_order="desc") == [4, 3, 2, 1, 0]
    assert listed(sort_by="created_at", sort_order="asc") == [0, 1, 2, 3, 4]
    assert listed(sort_by="updated_at", sort_order="desc")[0] == 4


def test_list_sorts_by_lifecycle_and_urgency(workshop: dict[str, Any], admin: IpcClient) -> None:
    ids = workshop["ids"]
    by_status = [t["status"] for t in admin.tasks.list({"sort_by": "status"})["tasks"]]
    assert by_status == ["draft", "scheduled", "scheduled", "scheduled", "in_progress"]
    by_priority = [
        t["priority"]
        for t in admin.tasks.list({"sort_by": "priority", "sort_order": "desc"})["tasks"]
    ]
    assert by_priority == ["urgent", "high", "medium", "medium", "low"]
    by_title = [t["id"] for t in admin.tasks.list({"sort_by": "title"})["tasks"]]
    assert by_title == [ids[4], ids[1], ids[0], ids[3], ids[2]]


def test_list_search(server: LiveServer, workshop: dict[str, Any], admin: IpcClient) -> None:
    ids = workshop["ids"]

    def found(search: str) -> set[str]:
        return {t["id"] for t in admin.tasks.list({"search": search})["tasks"]}

    assert found("roof") == {ids[2]}
    assert found("ROO") == {ids[2]}  # prefix, any case
    assert found("BB-200") == {ids[1]}  # a plate as typed
    assert found("bb-2") == {ids[1]}
    assert found("crè") == {ids[1]}  # notes, as typed
    if server.backend == "sqlite":  # FTS5 folds accents; PostgreSQL's 'simple' does not
        assert found("creme") == {ids[1]}
    assert found("golf full") == {ids[1]}  # every word
    assert found("golf roof") == set()
    number = admin.tasks.get(ids[3])["task"]["task_number"]
    assert found(number) == {ids[3]}
    assert found("  ") == set(ids)  # nothing to search for
    for odd in ('"', "*", 'roof" OR "hood', "NEAR(roof hood)", "title:roof", "roof'; --", "%_",
                "\\", "'", "a & b | !c", "(((", "\x00", "ü" * 100, "-", "😀"):  # fmt: skip
        assert isinstance(found(odd), set), odd
    assert found('roof" OR "hood') == set()
    assert found("title:roof") == set()
    assert found("roof'; --") == {ids[2]}


def test_list_refusals_and_pagination(
    server: LiveServer, workshop: dict[str, Any], admin: IpcClient
) -> None:
    error = refused(
        server.services,
        partial(admin.tasks.list, {"sort_by": "vehicle_plate; DROP TABLE tasks"}),
        "VALIDATION_ERROR",
        400,
    )
    assert error.message == (
        "filters.sort_by: sort_by must be one of: scheduled_date, created_at, updated_at, "
        "priority, status, task_number, title"
    )
    for bad in (
        {"status": ["done"]},
        {"status": "scheduled"},
        {"priority": ["critical"]},
        {"sort_order": "up"},
        {"date_range": {"start": "2024-01-20", "end": "2024-01-10"}},
        {"date_range": {"start": "yesterday", "end": "2024-01-10"}},
        {"search": "x" * 201},
    ):
        refused(server.services, partial(admin.tasks.list, bad), "VALIDATION_ERROR", 400)
    for pagination in ({"page": 0}, {"page_size": 0}, {"page_size": 201}, {"page": "1"}):
        refused(
            server.services,
            partial(admin.tasks.list, None, pagination),
            "VALIDATION_ERROR",
            400,
        )
    pages = [admin.tasks.list(None, {"page": p, "page_size": 2}) for p in (1, 2, 3, 4)]
    assert [len(p["tasks"]) for p in pages] == [2, 2, 1, 0]
    assert pages[0]["pagination"] == {"page": 1, "page_size": 2, "total": 5, "total_pages": 3}
    seen = [t["id"] for p in pages for t in p["tasks"]]
    assert sorted(seen) == sorted(workshop["ids"])
    assert admin.tasks.list()["pagination"] == {
        "page": 1,
        "page_size": 20,
        "total": 5,
        "total_pages": 1,
    }


# Statistics ------------------------------------------------------------------------------------
def test_statistics(server: LiveServer, admin: IpcClient) -> None:
    # Wednesday 2024-01-10; the week began on Monday the 8th, the month on the 1st.
    travel(datetime(2024, 1, 2, 8, 0, tzinfo=UTC), admin)
    tech = make_user(admin, server, "technician")
    tech_id = me(tech)
    tech.close()
    early = task_in(admin, "completed")  # completed on the 2nd: this month only
    update(admin, early["id"], technician_id=tech_id)
    travel(datetime(2024, 1, 8, 0, 0, tzinfo=UTC), admin)
    this_week = task_in(admin, "completed")
    travel(NOW, admin)
    create(admin, scheduled_date="2024-01-09", priority="urgent", technician_id=tech_id)
    create(admin, scheduled_date="2024-01-05", priority="low")  # overdue
    create(admin, scheduled_date="2024-01-11", priority="low")
    admin.tasks.create({"vehicle_plate": "D-1", "title": "Draft"})
    deleted = create(admin, technician_id=tech_id)
    admin.tasks.delete(deleted["id"])
    update(admin, this_week["id"], status="archived")
    stats = admin.tasks.statistics()["statistics"]
    assert stats == {
        "total": 6,
        "by_status": {
            "draft": 1,
            "scheduled": 3,
            "in_progress": 0,
            "paused": 0,
            "on_hold": 0,
            "completed": 1,
            "cancelled": 0,
            "archived": 1,
        },
        "by_priority": {"low": 2, "medium": 1, "high": 2, "urgent": 1},
        "by_technician": {tech_id: 2},
        "overdue": 2,
        "completed_this_week": 1,
        "completed_this_month": 2,
    }
    only_low = admin.tasks.statistics({"priority": ["low"]})["statistics"]
    assert (only_low["total"], only_low["overdue"], only_low["by_technician"]) == (2, 1, {})
    travel(datetime(2024, 2, 1, 12, 0, tzinfo=UTC), admin)
    later = admin.tasks.statistics()["statistics"]
    assert (later["completed_this_week"], later["completed_this_month"]) == (0, 0)


# Events ------------------------------------------------------------------------------------------
def test_changes_publish_task_updated_after_commit(
    server: LiveServer, frozen: None, admin: IpcClient, events: list[Event]
) -> None:
    task = create(admin)
    [created] = events
    assert (created.type, created.data["task_id"]) == ("task_updated", task["id"])
    assert created.data["updates"]["task_number"] == "20240110-001"
    assert created.data["updates"]["scheduled_date"] == "2024-01-15"
    events.clear()
    update(admin, task["id"], notes="n", status="in_progress")
    assert [e.data for e in events] == [
        {
            "task_id": task["id"],
            "updates": {"notes": "n", "status": "in_progress", "started_at": NOW_MS},
        }
    ]
    events.clear()
    admin.tasks.delay_task(task["id"], "2024-02-01", "Rain")
    assert [e.data for e in events] == [
        {"task_id": task["id"], "updates": {"scheduled_date": "2024-02-01"}}
    ]
    events.clear()
    refused(server.services, partial(update, admin, task["id"], status="draft"), "VALIDATION_ERROR")
    update(admin, task["id"], notes="n")  # no change, no event
    assert events == []
    admin.tasks.delete(task["id"])
    assert [e.data for e in events] == [{"task_id": task["id"], "updates": {"deleted_at": NOW_MS}}]


def test_task_commands_are_rate_limited(server: LiveServer, admin: IpcClient) -> None:
    from rpma.core.ratelimit import RateLimiter
    from tests.conftest import fast_settings

    original = server.services.rate_limiter
    limiter = RateLimiter(
        fast_settings(server.services.settings.data_dir, rate_limits_enabled=True,
                      rate_limit_tasks="3/minute")
    )  # fmt: skip
    limiter.reset()
    server.services.rate_limiter = limiter
    try:
        task = create(admin)
        admin.tasks.get(task["id"])
        admin.tasks.history(task["id"])
        for call in (
            partial(admin.tasks.list),
            partial(admin.tasks.check_task_availability, task["id"]),
            partial(admin.tasks.export_tasks_csv),
        ):
            with pytest.raises(IpcError) as caught:
                call()
            assert (caught.value.code, caught.value.status) == ("RATE_LIMIT", 429)
        assert admin.call("health_check")["status"] == "healthy"
    finally:
        limiter.reset()
        server.services.rate_limiter = original


# Task numbers under concurrency --------------------------------------------------------------
def test_concurrent_creations_get_distinct_numbers(server: LiveServer, admin: IpcClient) -> None:
    travel(NOW, admin)
    numbers: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(20)

    def worker(i: int) -> None:
        with server.client(token=admin.token) as client:
            start.wait()
            try:
                numbers.append(create(client, vehicle_plate=f"P-{i}")["task_number"])
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(numbers) == [f"20240110-{n:03d}" for n in range(1, 21)]


# Query plans ----------------------------------------------------------------------------------
def test_the_filtered_list_uses_an_index(server: LiveServer, admin: IpcClient) -> None:
    filtered = TaskQuery(status=["scheduled", "in_progress"], technician_id="some-technician")
    cases = [
        (filtered, "ix_tasks_technician_date"),
        (filtered.model_copy(update={"search": "roof"}), "ix_tasks_technician_date"),
        # Search alone: the full-text index (FTS5 on SQLite, the GIN index on PostgreSQL).
        (
            TaskQuery(search="ABC-12 roof"),
            "tasks_fts" if server.backend == "sqlite" else "ix_tasks_search",
        ),
    ]
    engine = server.services.db.engine
    with server.services.db.session(write=False) as db:
        repo = TaskRepository(db)
        compiled = [
            (
                repo.list_statement(query, 0, 20).compile(
                    dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
                ),
                index,
            )
            for query, index in cases
        ]
    with engine.connect() as conn:
        for statement, index in compiled:
            if server.backend == "sqlite":
                params = tuple(statement.params[k] for k in statement.positiontup or ())
                steps = [
                    str(row[-1])
                    for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
                ]
                # e.g. "SEARCH tasks USING INDEX ix_tasks_technician_date (technician_id=?)"
                assert any(step.startswith("SEARCH tasks USING") for step in steps), steps
                assert "SCAN tasks" not in steps, steps
                assert index in " ".join(steps), steps
            else:
                # On a small table a sequential scan is cheapest; forbid it to see
                # whether an index can serve the query at all.
                conn.exec_driver_sql("SET enable_seqscan = off")
                rows = conn.exec_driver_sql(f"EXPLAIN {statement}", statement.params)
                plan = "\n".join(str(row[0]) for row in rows)
                conn.exec_driver_sql("RESET enable_seqscan")
                assert "Seq Scan on tasks" not in plan, plan
                # On an empty table every index costs the same, and the planner may
                # prefer the statistics' partial covering index (it holds every live
                # task): either way no row is read without an index.
                assert index in plan or "ix_tasks_live_stats" in plan, plan


def test_reads_do_not_wait_for_a_writer(server: LiveServer, admin: IpcClient) -> None:
    """List and Statistics are reads: on SQLite they must not take the write lock, so a
    long write elsewhere does not hold them up (WAL lets readers run beside a writer)."""
    if server.backend != "sqlite":
        pytest.skip("SQLite's single write lock is what this checks")
    engine = server.services.db.engine
    with engine.execution_options(rpma_write=True).connect() as writer:
        writer.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock is held
        assert admin.call("task_crud", {"action": "List"})["pagination"]["total"] == 0
        assert admin.call("task_crud", {"action": "Statistics"})["statistics"]["total"] == 0
        writer.rollback()
