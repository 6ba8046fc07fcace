"""client_crud through the real HTTP transport: every action with exact values, every
role, the business and email rules, soft delete, full-text search, the derived task
figures (in a constant number of queries) and the client_updated event."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event, update

from rpma.client import IpcClient, IpcError
from rpma.core.clock import clock, to_ms
from rpma.core.events import Event
from rpma.domains.clients.models import Client
from rpma.domains.tasks.models import Task
from tests.conftest import LiveServer
from tests.helpers import count, refused

FULL = {
    "name": "Élise Martin",
    "email": "Elise.Martin@Example.com",
    "phone": "+33 (0)6 12-34-56-78",
    "address_street": "12 rue des Lilas",
    "address_city": "Lyon",
    "address_state": "Rhône",
    "address_zip": "69003",
    "address_country": "France",
    "tax_id": "",
    "notes": "  Prefers mornings\nCalls first  ",
    "tags": ["vip", "ppf", "vip"],
}
SQL = "'; DROP TABLE clients; --"
HTML = '<script>alert("x")</script> & Sons'


# Helpers -----------------------------------------------------------------------------------
def create(client: IpcClient, name: str = "Bob Stone", **fields: Any) -> dict[str, Any]:
    return dict(client.clients.create({"name": name, **fields})["client"])


def add_task(
    server: LiveServer, client_id: str, status: str = "scheduled", *, at: int = 1_000, **extra: Any
) -> str:
    """A task row written directly (the tasks domain is another engineer's)."""
    task_id = str(uuid.uuid4())
    with server.services.db.session(write=True) as db:
        db.add(
            Task(
                id=task_id,
                task_number=f"T-{uuid.uuid4().hex[:12]}",
                title=f"Task {status}",
                vehicle_plate="AB-123-CD",
                status=status,
                priority="medium",
                client_id=client_id,
                created_at=at,
                updated_at=at,
                version=1,
                ppf_zones=[],
                tags=[],
                **extra,
            )
        )
        db.commit()
    return task_id


def me(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])


@contextmanager
def statements(server: LiveServer) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement (and its parameters) the server runs inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    engine = server.services.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def names(answer: dict[str, Any], key: str = "clients") -> list[str]:
    return [c["name"] for c in answer[key]]


# Create and Get -------------------------------------------------------------------------------
def test_create_answers_the_new_client(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    now, owner = clock.now_ms(), me(admin)
    answer = admin.clients.create(FULL)
    assert set(answer) == {"client"}
    client = answer["client"]
    expected = {
        **FULL,
        "id": client["id"],
        "email": "elise.martin@example.com",
        "customer_type": "individual",
        "company_name": None,
        "contact_person": None,
        "tax_id": None,
        "notes": "Prefers mornings\nCalls first",
        "tags": ["vip", "ppf"],
        "total_tasks": 0,
        "active_tasks": 0,
        "completed_tasks": 0,
        "last_task_date": None,
        "created_at": now,
        "updated_at": now,
        "created_by": owner,
        "updated_by": owner,
        "version": 1,
    }
    assert client == expected
    assert admin.clients.get(client["id"]) == {"client": expected}


def test_business_needs_company_and_contact(server: LiveServer, admin: IpcClient) -> None:
    def call(**fields: str) -> Any:
        return admin.clients.create({"name": "Fleet", "customer_type": "business", **fields})

    error = refused(server.services, call, "VALIDATION_ERROR", 400)
    assert error.message == "data.company_name, data.contact_person: required for a business client"
    error = refused(server.services, lambda: call(company_name="Fleet SA"), "VALIDATION_ERROR")
    assert [f["field"] for f in error.details["fields"]] == ["data.contact_person"]
    made = call(company_name="Fleet SA", contact_person="Ann Lee")["client"]
    assert (made["customer_type"], made["company_name"]) == ("business", "Fleet SA")
    person = create(admin, "Solo")
    error = refused(
        server.services,
        lambda: admin.clients.update(person["id"], {"customer_type": "business"}),
        "VALIDATION_ERROR",
    )
    assert "data.company_name" in error.message


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({}, "VALIDATION_ERROR", "data.name"),
        ({"name": "   "}, "VALIDATION_ERROR", "data.name"),
        ({"name": "x" * 201}, "VALIDATION_ERROR", "data.name"),
        ({"name": 42}, "VALIDATION_ERROR", "data.name"),
        ({"email": "not-an-email"}, "VALIDATION_EMAIL_INVALID", "data.email"),
        ({"phone": "call me"}, "VALIDATION_ERROR", "data.phone"),
        ({"phone": "+1 (2)"}, "VALIDATION_ERROR", "data.phone"),
        ({"phone": "1" * 33}, "VALIDATION_ERROR", "data.phone"),
        ({"customer_type": "company"}, "VALIDATION_ERROR", "data.customer_type"),
        ({"notes": "n" * 5001}, "VALIDATION_ERROR", "data.notes"),
        ({"tags": [f"t{i}" for i in range(21)]}, "VALIDATION_ERROR", "data.tags"),
        ({"tags": ["x" * 51]}, "VALIDATION_ERROR", "data.tags.0"),
        ({"tags": [" "]}, "VALIDATION_ERROR", "data.tags.0"),
        ({"address_zip": "1" * 21}, "VALIDATION_ERROR", "data.address_zip"),
    ],
)
def test_create_refuses_bad_input(
    server: LiveServer, admin: IpcClient, data: dict[str, Any], code: str, field: str
) -> None:
    body = {"name": "Valid Name", **data} if "name" not in data and data else data
    error = refused(server.services, lambda: admin.clients.crud("Create", body), code, 400)
    assert [f["field"] for f in error.details["fields"]] == [field]


def test_email_is_unique_whatever_the_case(server: LiveServer, admin: IpcClient) -> None:
    first = create(admin, "First", email="dup@shop.example")
    other = create(admin, "Other")
    taken = ("VALIDATION_EMAIL_TAKEN", 400)
    refused(server.services, lambda: create(admin, "Second", email="DUP@Shop.Example"), *taken)
    refused(
        server.services,
        lambda: admin.clients.update(other["id"], {"email": "Dup@shop.example"}),
        *taken,
    )
    # Its own email is no conflict; a deleted client's email stays taken, and says so.
    assert (
        admin.clients.update(first["id"], {"email": "DUP@shop.example"})["client"]["version"] == 1
    )
    admin.clients.delete(first["id"])
    error = refused(
        server.services, lambda: create(admin, "Third", email="dup@shop.example"), *taken
    )
    assert error.message == "Email already in use by a deleted client"


def test_sql_and_html_are_stored_verbatim(server: LiveServer, admin: IpcClient) -> None:
    made = create(admin, SQL, notes=HTML, company_name=HTML)
    assert (made["name"], made["notes"], made["company_name"]) == (SQL, HTML, HTML)
    assert admin.clients.get(made["id"])["client"]["notes"] == HTML
    assert names(admin.clients.search("DROP TABLE")) == [SQL]
    # PostgreSQL's text parser skips HTML tags and script bodies; the text around them counts.
    assert names(admin.clients.search("Sons")) == [SQL]
    assert names(admin.clients.list({"search": "clients"})) == [SQL]
    assert count(server.services, "clients") == 1


def test_get_refuses_unknown_and_missing_ids(server: LiveServer, admin: IpcClient) -> None:
    error = refused(server.services, lambda: admin.clients.get("nope"), "NOT_FOUND_CLIENT", 404)
    assert error.details == {"client_id": "nope"}
    for action in ("Get", "GetWithTasks", "Update", "Delete"):
        error = refused(server.services, partial(admin.clients.crud, action), "VALIDATION_ERROR")
        assert error.message == "data.id: Field required"
    refused(server.services, lambda: admin.clients.crud("Undo", {}), "VALIDATION_ERROR", 400)


# Update ---------------------------------------------------------------------------------------
def test_update_changes_only_what_is_given(server: LiveServer, admin: IpcClient) -> None:
    made = create(admin, "Bob Stone", phone="+44 20 7946 0958", notes="old")
    clock.freeze()
    answer = admin.clients.update(
        made["id"], {"name": "Bob  Stone Jr", "phone": None, "notes": " ", "tags": ["fleet"]}
    )["client"]
    assert answer == {
        **made,
        "name": "Bob  Stone Jr",
        "phone": None,
        "notes": None,
        "tags": ["fleet"],
        "updated_at": clock.now_ms(),
        "version": 2,
    }
    # Nothing different: no new version.
    again = admin.clients.update(made["id"], {"name": "Bob  Stone Jr"}, expected_version=2)
    assert again["client"]["version"] == 2
    error = refused(
        server.services,
        lambda: admin.clients.update(made["id"], {"name": "Late"}, expected_version=1),
        "CONFLICT",
        409,
    )
    assert error.details == {"client_id": made["id"], "expected_version": 1, "current_version": 2}
    for field in ("name", "customer_type", "tags"):
        error = refused(
            server.services,
            partial(admin.clients.update, made["id"], {field: None}),
            "VALIDATION_ERROR",
        )
        assert error.message == f"data.{field}: may not be null"
    refused(server.services, lambda: admin.clients.update("nope", {}), "NOT_FOUND_CLIENT", 404)


# Delete ---------------------------------------------------------------------------------------
def test_delete_is_soft_and_hides_the_client(server: LiveServer, admin: IpcClient) -> None:
    gone = create(admin, "Gone Garage")
    kept = create(admin, "Kept Garage")
    add_task(server, gone["id"], "completed")
    assert admin.clients.delete(gone["id"]) == {"message": "Client deleted"}
    refused(server.services, lambda: admin.clients.get(gone["id"]), "NOT_FOUND_CLIENT", 404)
    refused(server.services, lambda: admin.clients.get_with_tasks(gone["id"]), "NOT_FOUND_CLIENT")
    refused(server.services, lambda: admin.clients.delete(gone["id"]), "NOT_FOUND_CLIENT", 404)
    assert names(admin.clients.list()) == ["Kept Garage"]
    assert names(admin.clients.list_with_tasks(), "clients_with_tasks") == ["Kept Garage"]
    assert names(admin.clients.search("Garage")) == ["Kept Garage"]
    assert admin.clients.stats()["statistics"]["total_clients"] == 1
    with server.services.db.session(write=False) as db:
        row = db.get(Client, gone["id"])
        assert row is not None
        assert (row.deleted_at is not None, row.version) == (True, 2)
    assert kept["id"] != gone["id"]


def test_delete_is_refused_while_tasks_are_active(server: LiveServer, admin: IpcClient) -> None:
    made = create(admin, "Busy Body Shop")
    for status in ("scheduled", "in_progress", "completed", "cancelled", "draft"):
        add_task(server, made["id"], status)
    error = refused(
        server.services, lambda: admin.clients.delete(made["id"]), "VALIDATION_ERROR", 400
    )
    assert error.message == (
        "The client has 2 active task(s); complete or cancel them before deleting the client"
    )
    assert error.details == {"client_id": made["id"], "active_tasks": 2}


# Roles ----------------------------------------------------------------------------------------
WRITERS = {
    "Create": {"admin", "supervisor"},
    "Update": {"admin", "supervisor"},
    "Delete": {"admin"},
}


@pytest.mark.parametrize("role", ["admin", "supervisor", "technician", "viewer"])
def test_each_role_may_do_what_the_matrix_says(
    server: LiveServer, role_clients: dict[str, IpcClient], role: str
) -> None:
    admin, caller = role_clients["admin"], role_clients[role]
    target = create(admin, "Fleet Owner")
    victim = create(admin, "Victim")
    calls: dict[str, Callable[[], Any]] = {
        "Get": lambda: caller.clients.get(target["id"]),
        "GetWithTasks": lambda: caller.clients.get_with_tasks(target["id"]),
        "List": caller.clients.list,
        "ListWithTasks": caller.clients.list_with_tasks,
        "Search": lambda: caller.clients.search("fleet"),
        "Stats": caller.clients.stats,
        "Create": lambda: caller.clients.create({"name": f"By {role}"}),
        "Update": lambda: caller.clients.update(target["id"], {"notes": role}),
        "Delete": lambda: caller.clients.delete(victim["id"]),
    }
    for action, call in calls.items():
        if role in WRITERS.get(action, {role}):
            assert call()
        else:
            refused(server.services, call, "AUTH_FORBIDDEN", 403)
    expected = {"admin": 2, "supervisor": 3, "technician": 2, "viewer": 2}[role]
    assert admin.clients.list()["pagination"]["total"] == expected


# List -----------------------------------------------------------------------------------------
def test_list_filters_sorts_and_pages(server: LiveServer, admin: IpcClient) -> None:
    for i, name in enumerate(["Cara", "Abe", "Dina", "Bert", "Eve"]):
        clock.freeze()
        clock.advance(timedelta(seconds=i))
        extra = {"customer_type": "business", "company_name": "Co", "contact_person": "X"}
        create(admin, name, **(extra if i % 2 else {}))
    clock.reset()
    page = admin.clients.list(pagination={"page": 1, "page_size": 2})
    assert names(page) == ["Abe", "Bert"]
    assert page["pagination"] == {"page": 1, "page_size": 2, "total": 5, "total_pages": 3}
    last = admin.clients.list(pagination={"page": 3, "page_size": 2})
    assert (names(last), last["pagination"]["total"]) == (["Eve"], 5)
    assert names(admin.clients.list(pagination={"page": 9})) == []
    newest = admin.clients.list({"sort_by": "created_at", "sort_order": "desc"})
    assert names(newest) == ["Eve", "Bert", "Dina", "Abe", "Cara"]
    business = admin.clients.list({"customer_type": ["business"], "sort_order": "desc"})
    assert (names(business), business["pagination"]["total"]) == (["Bert", "Abe"], 2)
    both = admin.clients.list({"customer_type": ["business", "individual"], "search": "ev"})
    assert names(both) == ["Eve"]
    assert admin.clients.list({"search": "*"})["clients"] == []


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"filters": {"sort_by": "password"}}, "filters.sort_by"),
        ({"filters": {"sort_by": "name; DROP TABLE clients"}}, "filters.sort_by"),
        ({"filters": {"sort_order": "sideways"}}, "filters.sort_order"),
        ({"filters": {"customer_type": "business"}}, "filters.customer_type"),
        ({"filters": {"customer_type": ["company"]}}, "filters.customer_type.0"),
        ({"pagination": {"page": 0}}, "pagination.page"),
        ({"pagination": {"page_size": 0}}, "pagination.page_size"),
        ({"pagination": {"page_size": 201}}, "pagination.page_size"),
        ({"pagination": {"page": "1"}}, "pagination.page"),
    ],
)
def test_list_refuses_bad_filters_and_pages(
    server: LiveServer, admin: IpcClient, extra: dict[str, Any], field: str
) -> None:
    create(admin)
    for action in ("List", "ListWithTasks"):
        error = refused(
            server.services,
            partial(admin.clients.crud, action, **extra),
            "VALIDATION_ERROR",
            400,
        )
        assert [f["field"] for f in error.details["fields"]] == [field]
    if field == "filters.sort_by":
        assert error.message == (
            "filters.sort_by: sort_by must be one of: name, created_at, updated_at, customer_type"
        )


# Derived figures and tasks ------------------------------------------------------------------
def test_figures_and_tasks_of_a_client(server: LiveServer, admin: IpcClient) -> None:
    made, idle = create(admin, "Fleet"), create(admin, "Idle")
    ids = [
        add_task(server, made["id"], status, at=at)
        for status, at in [
            ("scheduled", 1_000),
            ("in_progress", 4_000),
            ("paused", 2_000),
            ("on_hold", 3_000),
            ("completed", 5_000),
            ("archived", 6_000),
            ("cancelled", 7_000),
            ("draft", 8_000),
        ]
    ]
    add_task(server, made["id"], "completed", at=9_000, deleted_at=9_500)
    figures = {"total_tasks": 8, "active_tasks": 4, "completed_tasks": 2, "last_task_date": 8_000}
    client = admin.clients.get(made["id"])["client"]
    assert {k: client[k] for k in figures} == figures
    with_tasks = admin.clients.get_with_tasks(made["id"])["client_with_tasks"]
    assert {k: v for k, v in with_tasks.items() if k != "tasks"} == client
    newest_first = [ids[i] for i in (7, 6, 5, 4, 1, 3, 2, 0)]
    assert [t["id"] for t in with_tasks["tasks"]] == newest_first
    task = with_tasks["tasks"][0]
    assert (task["status"], task["client_id"], task["ppf_zones"], task["scheduled_date"]) == (
        "draft",
        made["id"],
        [],
        None,
    )
    listed = admin.clients.list_with_tasks()["clients_with_tasks"]
    assert [(c["name"], len(c["tasks"]), c["total_tasks"]) for c in listed] == [
        ("Fleet", 8, 8),
        ("Idle", 0, 0),
    ]
    assert admin.clients.get(idle["id"])["client"]["last_task_date"] is None


def test_tasks_are_capped_at_100_per_client(server: LiveServer, admin: IpcClient) -> None:
    made = create(admin, "Big Fleet")
    ids = [add_task(server, made["id"], "completed", at=i) for i in range(102)]
    answer = admin.clients.get_with_tasks(made["id"])["client_with_tasks"]
    assert (answer["total_tasks"], answer["last_task_date"]) == (102, 101)
    assert [t["id"] for t in answer["tasks"]] == ids[:1:-1]
    [listed] = admin.clients.list_with_tasks()["clients_with_tasks"]
    assert listed == answer


def test_a_page_costs_a_constant_number_of_queries(server: LiveServer, admin: IpcClient) -> None:
    for i in range(20):
        made = create(admin, f"Client {i:02d}")
        add_task(server, made["id"], "scheduled", at=i)
        add_task(server, made["id"], "completed", at=100 + i)
    costs = {}
    for action in ("List", "ListWithTasks"):
        for size in (5, 20):
            with statements(server) as seen:
                answer = admin.clients.crud(action, pagination={"page_size": size})
            key = "clients" if action == "List" else "clients_with_tasks"
            assert [c["total_tasks"] for c in answer[key]] == [2] * size
            costs[action, size] = (len(seen), sum(" tasks" in sql for sql, _ in seen))
    assert costs["List", 5] == costs["List", 20]
    assert costs["ListWithTasks", 5] == costs["ListWithTasks", 20]
    assert (costs["List", 20][1], costs["ListWithTasks", 20][1]) == (1, 2)


# Search ---------------------------------------------------------------------------------------
def test_search_ranks_and_matches_prefixes(server: LiveServer, admin: IpcClient) -> None:
    create(admin, "Zed Autos", notes="Met them at the harbor fair")
    create(admin, "Harbor Motors", email="contact@harbor.example", phone="+33 6 12 34")
    create(admin, "Quiet Garage", company_name="Harborside Ltd")
    # The last word is a prefix (Harborside); a name match ranks first, the notes last.
    ranked = ["Harbor Motors", "Quiet Garage", "Zed Autos"]
    assert names(admin.clients.search("harbor")) == ranked
    assert names(admin.clients.search("HARB")) == ranked
    assert names(admin.clients.search("Harbor Mot")) == ["Harbor Motors"]
    assert names(admin.clients.search("contact@harbor.example")) == ["Harbor Motors"]
    assert names(admin.clients.search("+33 6 12")) == ["Harbor Motors"]
    assert names(admin.clients.search("ÉLISE")) == []
    assert names(admin.clients.search("harb", limit=1)) == ["Harbor Motors"]


@pytest.mark.parametrize(
    "query",
    ['"', "*", "AND", "NEAR(", "-", '"harbor', "harbor*", "harbor AND", "NEAR(harbor zed, 2)",
     "-zed", "name:harbor", "harbor OR", "^", "\\", "'", ":*", "!&|()", "harbor' & zed",
     "a\\' b", SQL, "", "   ", '"*-"'],
)  # fmt: skip
def test_search_never_fails_on_operators(server: LiveServer, admin: IpcClient, query: str) -> None:
    create(admin, "Harbor Motors")
    answer = admin.clients.search(query)
    assert set(answer) == {"clients"}
    assert names(answer) in ([], ["Harbor Motors"])
    assert admin.clients.list({"search": query})["pagination"]["total"] in (0, 1)


def test_search_refuses_bad_limits(server: LiveServer, admin: IpcClient) -> None:
    for data in ({"query": "x", "limit": 0}, {"query": "x", "limit": 101}, {"limit": 5}):
        error = refused(
            server.services, partial(admin.clients.crud, "Search", data), "VALIDATION_ERROR"
        )
        assert len(error.details["fields"]) == 1


def test_search_uses_the_full_text_index(server: LiveServer, admin: IpcClient) -> None:
    for i in range(30):
        create(admin, f"Client {i}", notes="regular customer")
    with statements(server) as seen:
        assert names(admin.clients.search("Client 7")) == ["Client 7"]
    # The search is the statement that ranks; ask the database how it would run it.
    [(sql, parameters)] = [(q, p) for q, p in seen if "bm25" in q or "ts_rank" in q]
    with server.services.db.engine.connect() as conn:
        if server.backend == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + sql, parameters)
            assert "ix_clients_search" in "\n".join(str(r[0]) for r in rows)
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)
            assert "VIRTUAL TABLE INDEX" in "\n".join(str(r[-1]) for r in rows)


# Stats ----------------------------------------------------------------------------------------
def test_stats(server: LiveServer, admin: IpcClient) -> None:
    business = {"customer_type": "business", "company_name": "Fleet SA", "contact_person": "A"}
    old, fleet, solo = (
        create(admin, "Old"),
        create(admin, "Fleet", **business),
        create(admin, "Solo"),
    )
    gone = create(admin, "Gone")
    month_start = clock.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with server.services.db.session(write=True) as db:
        db.execute(
            update(Client).where(Client.id == old["id"]).values(created_at=to_ms(month_start) - 1)
        )
        db.commit()
    for _ in range(3):
        add_task(server, solo["id"], "completed")
    add_task(server, fleet["id"])
    add_task(server, fleet["id"], deleted_at=5)
    add_task(server, gone["id"], "completed")
    add_task(server, gone["id"], "completed")
    admin.clients.delete(gone["id"])
    assert admin.clients.stats() == {
        "statistics": {
            "total_clients": 3,
            "by_type": {"individual": 2, "business": 1},
            "new_this_month": 2,
            "top_clients": [
                {"client_id": solo["id"], "task_count": 3},
                {"client_id": fleet["id"], "task_count": 1},
            ],
        }
    }


# Events ---------------------------------------------------------------------------------------
def test_changes_publish_client_updated_after_commit(server: LiveServer, admin: IpcClient) -> None:
    seen: list[tuple[Event, int | None]] = []

    def listener(published: Event) -> None:
        # What a fresh transaction sees when the event arrives: committed data only.
        with server.services.db.session(write=False) as db:
            row = db.get(Client, published.data["client_id"])
            seen.append((published, row.version if row is not None else None))

    unsubscribe = server.services.events.subscribe(listener)
    try:
        made = create(admin, "Evented", email="ev@shop.example")
        admin.clients.update(made["id"], {"phone": "+1 555 0100", "name": "Evented"})
        refused(
            server.services,
            lambda: admin.clients.update(made["id"], {"name": ""}),
            "VALIDATION_ERROR",
        )
        admin.clients.get(made["id"])
        admin.clients.delete(made["id"])
    finally:
        unsubscribe()
    assert [(e.type, e.data["action"], version) for e, version in seen] == [
        ("client_updated", "Create", 1),
        ("client_updated", "Update", 2),
        ("client_updated", "Delete", 3),
    ]
    created, updated, deleted = (e.data for e, _ in seen)
    assert created["client_id"] == made["id"]
    assert (created["changes"]["name"], created["changes"]["email"]) == (
        "Evented",
        "ev@shop.example",
    )
    assert updated["changes"] == {"phone": "+1 555 0100"}
    assert list(deleted["changes"]) == ["deleted_at"]


def test_refused_writes_publish_nothing(server: LiveServer, admin: IpcClient) -> None:
    made = create(admin, "Quiet")
    add_task(server, made["id"], "in_progress")
    seen: list[Event] = []
    unsubscribe = server.services.events.subscribe(seen.append)
    try:
        with pytest.raises(IpcError):
            admin.clients.delete(made["id"])
        with pytest.raises(IpcError):
            admin.clients.update(made["id"], {"notes": "x"}, expected_version=7)
    finally:
        unsubscribe()
    assert seen == []
