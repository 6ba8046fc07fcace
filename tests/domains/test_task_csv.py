"""export_tasks_csv and import_tasks_bulk through the real HTTP server: exact CSV, formula
injection, client columns, filters, roles; imports with missing columns, garbage, bad
encodings, quoted newlines, row errors by line number with nothing half-stored,
update_existing, and 10,000 rows in one call."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.domains.tasks.csv_io import Importer
from rpma.domains.tasks.models import Task, TaskHistory
from tests.conftest import LiveServer, make_user
from tests.domains.test_tasks import NOW_MS, add_client, create, frozen, history, me
from tests.helpers import count, raw, refused, snapshot

__all__ = ["frozen"]  # the fixture, shared with test_tasks

HEADER = [
    "task_number",
    "title",
    "status",
    "priority",
    "vehicle_plate",
    "vehicle_make",
    "vehicle_model",
    "vehicle_year",
    "vin",
    "vehicle_color",
    "ppf_zones",
    "film_type",
    "client_id",
    "technician_id",
    "scheduled_date",
    "start_time",
    "end_time",
    "estimated_duration",
    "actual_duration",
    "started_at",
    "completed_at",
    "is_overdue",
    "description",
    "notes",
    "tags",
    "created_at",
    "updated_at",
    "id",
]
CLIENT_HEADER = ["client_name", "client_email", "client_phone", "client_company"]


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def titles(server: LiveServer) -> list[str]:
    with server.services.db.session(write=False) as db:
        return sorted(db.scalars(select(Task.title)))


def export(client: IpcClient, **kwargs: Any) -> str:
    text = client.tasks.export_tasks_csv(**kwargs)
    assert isinstance(text, str)
    return text


# Export ------------------------------------------------------------------------------------
def test_export_is_exact_and_neutralises_formulas(
    server: LiveServer, frozen: None, admin: IpcClient
) -> None:
    client_id = add_client(server, "=Evil Corp", email="boss@evil.example", phone="+1 555")
    task = create(
        admin,
        title='=HYPERLINK("http://evil.example","Click")',
        notes="+cmd|' /C calc'!A0",
        vehicle_make="@SUM(A1:A9)",
        vehicle_model="-2+3",
        description="=1+1",
        ppf_zones=["hood", "custom:=1+1"],
        tags=["-x", "plain"],
        vehicle_year=2021,
        client_id=client_id,
        start_time="09:00",
        end_time="10:30",
    )
    plain = create(admin, title="Plain, with comma", notes='Say "hi"\nsecond line')
    text = export(admin)
    assert text.startswith(",".join(HEADER) + "\r\n")
    rows = parse(text)
    assert [r["id"] for r in rows] == [plain["id"], task["id"]]  # newest first
    assert rows[1] == {
        "task_number": "20240110-001",
        "title": '\'=HYPERLINK("http://evil.example","Click")',
        "status": "scheduled",
        "priority": "high",
        "vehicle_plate": "ABC-123",
        "vehicle_make": "'@SUM(A1:A9)",
        "vehicle_model": "'-2+3",
        "vehicle_year": "2021",
        "vin": "",
        "vehicle_color": "",
        "ppf_zones": "hood;custom:=1+1",
        "film_type": "",
        "client_id": client_id,
        "technician_id": "",
        "scheduled_date": "2024-01-15",
        "start_time": "09:00",
        "end_time": "10:30",
        "estimated_duration": "",
        "actual_duration": "",
        "started_at": "",
        "completed_at": "",
        "is_overdue": "false",
        "description": "'=1+1",
        "notes": "'+cmd|' /C calc'!A0",
        "tags": "'-x;plain",
        "created_at": "2024-01-10T09:00:00Z",
        "updated_at": "2024-01-10T09:00:00Z",
        "id": task["id"],
    }
    assert (rows[0]["title"], rows[0]["notes"]) == ("Plain, with comma", 'Say "hi"\nsecond line')
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_export_with_client_data_and_filters(
    server: LiveServer, frozen: None, admin: IpcClient
) -> None:
    acme = add_client(
        server, "Acme", email="fleet@acme.example", phone="+33 1 23", company_name="@Acme SA"
    )
    with_client = create(admin, client_id=acme, title="Roof wrap")
    create(admin, scheduled_date="2024-02-01", title="Later")
    without = admin.tasks.create({"vehicle_plate": "D-1", "title": "Draft"})["task"]
    text = export(admin, include_client_data=True)
    assert text.splitlines()[0] == ",".join(HEADER + CLIENT_HEADER)
    rows = {r["id"]: r for r in parse(text)}
    assert {k: rows[with_client["id"]][k] for k in CLIENT_HEADER} == {
        "client_name": "Acme",
        "client_email": "fleet@acme.example",
        "client_phone": "'+33 1 23",
        "client_company": "'@Acme SA",
    }
    assert {k: rows[without["id"]][k] for k in CLIENT_HEADER} == dict.fromkeys(CLIENT_HEADER, "")
    assert "client_name" not in export(admin).splitlines()[0]
    january = {"date_range": {"start": "2024-01-01", "end": "2024-01-31"}}
    assert [r["id"] for r in parse(export(admin, filter=january))] == [with_client["id"]]
    drafts = parse(export(admin, filter={"status": ["draft"]}))
    assert [r["id"] for r in drafts] == [without["id"]]
    assert [r["title"] for r in parse(export(admin, filter={"search": "roof"}))] == ["Roof wrap"]
    by_title = parse(export(admin, filter={"sort_by": "title"}))
    assert [r["title"] for r in by_title] == ["Draft", "Later", "Roof wrap"]
    assert parse(export(admin, filter={"status": ["archived"]})) == []
    refused(
        server.services,
        partial(export, admin, filter={"sort_by": "vin"}),
        "VALIDATION_ERROR",
        400,
    )


def test_who_may_export_and_import(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    create(role_clients["admin"])
    csv_data = "vehicle_plate,title\nAB-1,Hood\n"
    for role in ("admin", "supervisor"):
        assert len(parse(export(role_clients[role]))) == 1
    answer = role_clients["supervisor"].tasks.import_tasks_bulk(csv_data)
    assert answer == {"imported": 1, "updated": 0, "failed": 0, "errors": []}
    for role in ("technician", "viewer"):
        client = role_clients[role]
        refused(server.services, partial(export, client), "AUTH_FORBIDDEN", 403)
        refused(
            server.services,
            partial(client.tasks.import_tasks_bulk, csv_data),
            "AUTH_FORBIDDEN",
            403,
        )


# Import -------------------------------------------------------------------------------------
def test_import_creates_tasks(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    admin_id = me(admin)
    tech = make_user(admin, server, "technician")
    tech_id = me(tech)
    tech.close()
    acme = add_client(server, "Acme")
    csv_data = (
        "\ufeffVehicle Plate,Vehicle Make,vehicle_model,Title,scheduled_date,ppf_zones,tags,"
        "vehicle_year,client_id,technician_id,priority,status,unknown column\r\n"
        f"AB-123-CD,Tesla,Model 3,,2024-01-20,hood; roof;custom:Spoiler,vip;fleet,2022,{acme},"
        f"{tech_id},urgent,completed,ignored\r\n"
        "ZZ-9,,Kangoo,'=Formula kept,,,,,,,,,\r\n"
        "\r\n"
    )
    answer = admin.tasks.import_tasks_bulk(csv_data)
    unsubscribe()
    assert answer == {"imported": 2, "updated": 0, "failed": 0, "errors": []}
    listed = admin.tasks.list({"sort_by": "task_number"})["tasks"]
    first, second = listed
    expected = {
        "task_number": "20240110-001",
        "title": "Tesla Model 3 (AB-123-CD)",
        "status": "scheduled",  # a new task starts at the beginning, whatever the file says
        "priority": "urgent",
        "vehicle_plate": "AB-123-CD",
        "vehicle_make": "Tesla",
        "vehicle_year": 2022,
        "ppf_zones": ["hood", "roof", "custom:Spoiler"],
        "tags": ["vip", "fleet"],
        "client_id": acme,
        "technician_id": tech_id,
        "assigned_by": admin_id,
        "scheduled_date": "2024-01-20",
        "created_by": admin_id,
        "created_at": NOW_MS,
        "version": 1,
    }
    assert {k: first[k] for k in expected} == expected
    assert (second["task_number"], second["title"], second["status"]) == (
        "20240110-002",
        "=Formula kept",  # the export's guard quote is taken off again
        "draft",
    )
    assert history(admin, first["id"]) == [(None, "scheduled", "Task imported", admin_id, NOW_MS)]
    # An import notifies nobody (not even the technician it assigns): only task events.
    assert [e.type for e in seen] == ["task_updated", "task_updated"]
    task_events = seen
    assert [e.data["task_id"] for e in task_events] == [first["id"], second["id"]]
    assert task_events[0].data["updates"]["task_number"] == "20240110-001"


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("title,notes", "vehicle_plate"),
        ("vehicle_plate,notes", "title or vehicle_model"),
        ("notes", "vehicle_plate, title or vehicle_model"),
        ("Plate;Title", "vehicle_plate, title or vehicle_model"),  # not comma-separated
    ],
)
def test_import_refuses_missing_columns(
    server: LiveServer, admin: IpcClient, header: str, missing: str
) -> None:
    csv_data = f"{header}\nAB-1,Hood\n"
    error = refused(
        server.services,
        partial(admin.tasks.import_tasks_bulk, csv_data),
        "VALIDATION_ERROR",
        400,
    )
    assert error.message == f"csv_data: missing column(s): {missing}"
    assert error.details["missing_columns"] == missing.split(", ")


@pytest.mark.parametrize(
    ("csv_data", "message"),
    [
        ("", "csv_data: the CSV is empty; a header row is required"),
        ("\n\n", "csv_data: missing column(s): vehicle_plate, title or vehicle_model"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe".decode("latin-1"),
            "csv_data: missing column(s): vehicle_plate, title or vehicle_model",
        ),
        (
            'vehicle_plate,title\nAB-1,Hood\nAB-2,"never closed\n',
            "csv_data: line 3: malformed CSV (unexpected end of data); nothing was imported",
        ),
        (
            'vehicle_plate,title\nAB-1,"Hood"x\n',
            "csv_data: line 2: malformed CSV (',' expected after '\"'); nothing was imported",
        ),
        ("vehicle_plate,title,title\nAB-1,a,b\n", "csv_data: column(s) named twice: title"),
    ],
)
def test_import_refuses_unreadable_files(
    server: LiveServer, admin: IpcClient, csv_data: str, message: str
) -> None:
    error = refused(
        server.services,
        partial(admin.tasks.import_tasks_bulk, csv_data),
        "VALIDATION_ERROR",
        400,
    )
    assert error.message == message


def test_import_refuses_text_no_database_can_store(server: LiveServer, admin: IpcClient) -> None:
    """JSON can carry a lone UTF-16 surrogate (what a mis-decoded file may hold); no
    database can store it."""
    body = json.dumps({"csv_data": "vehicle_plate,title\nAB-1,Caf\ud800\n"})  # ASCII escapes
    before = snapshot(server.services)
    response = raw(
        admin,
        "import_tasks_bulk",
        content=body.encode(),
        headers={"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "csv_data: not valid Unicode text (line 2); save the file as UTF-8",
        "details": {
            "fields": [
                {
                    "field": "csv_data",
                    "message": "not valid Unicode text (line 2); save the file as UTF-8",
                }
            ]
        },
    }
    assert snapshot(server.services) == before


def test_import_refuses_more_than_20_mb(server: LiveServer, admin: IpcClient) -> None:
    csv_data = "vehicle_plate,title\n" + "AB-1,Hood\n" * (21 * 1024 * 1024 // 10)
    error = refused(
        server.services,
        partial(admin.tasks.import_tasks_bulk, csv_data),
        "VALIDATION_ERROR",
        400,
    )
    assert error.message == "csv_data: the CSV exceeds 20 MB"


def test_import_reports_bad_rows_by_line(
    server: LiveServer, frozen: None, admin: IpcClient
) -> None:
    viewer = make_user(admin, server, "viewer", "viewer@shop.example")
    viewer_id = me(viewer)
    viewer.close()
    csv_data = (
        "vehicle_plate,title,notes,vehicle_year,ppf_zones,client_id,technician_id,start_time,"
        "end_time,scheduled_date\n"
        'AB-1,Good one,"first line\nsecond, with comma",2020,hood,,,,,\n'  # lines 2-3
        "AB-2,Bad year,,19x5,,,,,,\n"  # line 4
        "AB-3,Bad zone,,,wing,,,,,\n"  # line 5
        ",No plate,,,,,,,,\n"  # line 6
        "AB-5,No client,,,,nope,,,,\n"  # line 7
        f"AB-6,Viewer,,,,,{viewer_id},,,\n"  # line 8
        "AB-7,Backwards,,,,,,10:00,09:00,\n"  # line 9
        "AB-8,Bad date,,,,,,,,2024-02-30\n"  # line 10
        "AB-9,Too many,,,,,,,,,extra\n"  # line 11
        "AB-10,Good two,'; DROP TABLE tasks;--,,,,,,,\n"  # line 12
        'AB-11,"Quoted\ntitle",,1899,,,,,,\n'  # lines 13-14
        "AB-12,Last good,,,,,,,,2024-01-12\n"  # line 15
    )
    answer = admin.tasks.import_tasks_bulk(csv_data)
    assert answer == {
        "imported": 3,
        "updated": 0,
        "failed": 9,
        "errors": [
            "line 4: vehicle_year: '19x5' is not a whole number",
            "line 5: ppf_zones: unknown zone 'wing': use hood, front_bumper, front_fenders, "
            "headlights, front_grille, side_mirrors, door_handles, side_panels, rocker_panels, "
            "rear_bumper, rear_fenders, trunk_lid, taillights, roof, a_pillars, full_front, "
            "full_vehicle or 'custom:<name>'",
            "line 6: vehicle_plate: Field required",
            "line 7: client_id: no client nope",
            "line 8: technician_id: viewer@shop.example has the viewer role; only technicians "
            "and supervisors take tasks",
            "line 9: end_time 09:00 must be after start_time 10:00",
            "line 10: scheduled_date: 2024-02-30 is not a calendar date",
            "line 11: 11 cells but the header has 10",
            "line 13: vehicle_year: must be between 1900 and 2025",
        ],
    }
    assert titles(server) == ["Good one", "Good two", "Last good"]
    assert count(server.services, "task_history") == 3
    by_title = {t["title"]: t for t in admin.tasks.list()["tasks"]}
    assert by_title["Good one"]["notes"] == "first line\nsecond, with comma"
    assert by_title["Good two"]["notes"] == "'; DROP TABLE tasks;--"
    assert by_title["Last good"]["status"] == "scheduled"


def test_import_with_update_existing(server: LiveServer, frozen: None, admin: IpcClient) -> None:
    admin_id = me(admin)
    first = create(admin, notes="old")
    second = create(admin, title="Second")
    exported = export(admin)
    rows = parse(exported)
    by_number = {r["task_number"]: r for r in rows}
    by_number[first["task_number"]].update(status="in_progress", notes="new notes", priority="low")
    by_number[second["task_number"]].update(status="completed", notes="must not stick")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    writer.writerow({**rows[0], "task_number": "20991231-999", "title": "Brand new"})
    edited = out.getvalue()

    refusal = admin.tasks.import_tasks_bulk(edited)
    assert (refusal["imported"], refusal["updated"]) == (1, 0)
    assert refusal["errors"] == [
        f"line 2: task {second['task_number']} already exists (set update_existing to update it)",
        f"line 3: task {first['task_number']} already exists (set update_existing to update it)",
    ]
    clock.advance(timedelta(minutes=5))
    answer = admin.tasks.import_tasks_bulk(edited, update_existing=True)
    assert answer == {
        "imported": 1,
        "updated": 1,
        "failed": 1,
        "errors": [
            "line 2: A task cannot move from scheduled to completed (allowed from scheduled: "
            "in_progress, on_hold, cancelled)"
        ],
    }
    changed = admin.tasks.get(first["id"])["task"]
    assert (changed["status"], changed["notes"], changed["priority"], changed["version"]) == (
        "in_progress",
        "new notes",
        "low",
        2,
    )
    assert history(admin, first["id"])[0] == (
        "scheduled",
        "in_progress",
        None,
        admin_id,
        NOW_MS + 300_000,
    )
    untouched = admin.tasks.get(second["id"])["task"]
    assert (untouched["notes"], untouched["status"], untouched["version"]) == (
        None,
        "scheduled",
        1,
    )
    assert sorted(titles(server)) == ["Brand new", "Brand new", "PPF Installation", "Second"]
    # The same file again: nothing left to change.
    again = admin.tasks.import_tasks_bulk(export(admin), update_existing=True)
    assert again == {"imported": 0, "updated": 0, "failed": 0, "errors": []}


def test_a_row_the_database_refuses_is_isolated(
    server: LiveServer, admin: IpcClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows pass the checks and go in by batches; when the database refuses a batch,
    each row is retried in its own SAVEPOINT and only the refused one is left out."""
    original = Importer._insert

    def refusing(self: Importer, tasks: list[Task]) -> None:
        original(self, tasks)  # written, then undone with its savepoint
        if any(t.vehicle_plate == "BOOM" for t in tasks):
            raise IntegrityError("INSERT", {}, Exception("refused"))

    monkeypatch.setattr(Importer, "_insert", refusing)
    csv_data = "vehicle_plate,title\nAB-1,One\nBOOM,Two\nAB-3,Three\n"
    answer = admin.tasks.import_tasks_bulk(csv_data)
    assert answer == {
        "imported": 2,
        "updated": 0,
        "failed": 1,
        "errors": ["line 3: refused by the database (Exception)"],
    }
    assert titles(server) == ["One", "Three"]
    assert count(server.services, "task_history") == 2


def test_import_of_10000_rows(server: LiveServer, admin: IpcClient) -> None:
    acme = add_client(server, "Acme")
    zones = ["hood", "roof", "full_front", "custom:Door sills"]
    lines = ["vehicle_plate,vehicle_make,vehicle_model,scheduled_date,ppf_zones,client_id,notes"]
    for i in range(10_000):
        lines.append(
            f"PL-{i:05d},Renault,Clio {i % 7},2024-03-{1 + i % 28:02d},"
            f'{zones[i % 4]},{acme if i % 2 else ""},"Row {i}, notes"'
        )
    lines[5_001] = "PL-BAD,Renault,Clio,2024-02-30,hood,,oops"  # one bad row, line 5002
    started = time.perf_counter()
    answer = admin.tasks.import_tasks_bulk("\n".join(lines) + "\n")
    elapsed = time.perf_counter() - started
    assert answer == {
        "imported": 9_999,
        "updated": 0,
        "failed": 1,
        "errors": ["line 5002: scheduled_date: 2024-02-30 is not a calendar date"],
    }
    assert elapsed < 60, f"10,000 rows took {elapsed:.1f} s"
    with server.services.db.session(write=False) as db:
        distinct = db.scalar(select(func.count(func.distinct(Task.task_number))))
        assert distinct == 9_999
        assert db.scalar(select(func.count()).select_from(TaskHistory)) == 9_999
    assert admin.tasks.list({"client_id": acme})["pagination"]["total"] == 5_000
    assert [t["vehicle_plate"] for t in admin.tasks.list({"search": "PL-09999"})["tasks"]] == [
        "PL-09999"
    ]
    exported = parse(export(admin))
    assert len(exported) == 9_999
    assert {r["vehicle_plate"] for r in exported} == {f"PL-{i:05d}" for i in range(10_000)} - {
        "PL-05000"
    }
