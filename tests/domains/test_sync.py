"""Sync on one server: change capture, the queue commands, the central's credentials,
and who may do what. Two-server sync is in test_sync_nodes.py."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.domains.clients.models import Client
from rpma.domains.sync.entities import PRIVATE_COLUMNS
from rpma.domains.sync.models import SyncQueueEntry
from rpma.domains.users.models import User
from tests.conftest import LiveServer
from tests.domains.test_twofactor import enrol
from tests.helpers import refused

SEED_TASK = {"title": "PPF Installation", "vehicle_plate": "ABC-123", "priority": "high"}
SEVEN = [
    "sync_start_background_service",
    "sync_stop_background_service",
    "sync_now",
    "sync_get_status",
    "sync_enqueue",
    "sync_dequeue_batch",
    "sync_get_metrics",
]
MORE = [
    "sync_issue_token",
    "sync_revoke_token",
    "sync_list_operations",
    "sync_retry_failed",
    "sync_acknowledge",
]


def queued(server: LiveServer) -> list[SyncQueueEntry]:
    with server.services.db.session(write=False) as db:
        return list(db.scalars(select(SyncQueueEntry).order_by(SyncQueueEntry.id)))


def operation(**overrides: Any) -> dict[str, Any]:
    entity_id = str(uuid.uuid4())
    values: dict[str, Any] = {
        "entity_type": "client",
        "entity_id": entity_id,
        "kind": "create",
        "payload": {"id": entity_id, "name": "Acme Fleet", "customer_type": "business"},
        "version": 1,
    }
    values.update(overrides)
    return values


def test_changes_are_captured_in_their_transaction(server: LiveServer, admin: IpcClient) -> None:
    task = admin.tasks.create(SEED_TASK)["task"]
    admin.tasks.update(task["id"], {"notes": "front bumper first"})
    admin.tasks.delete(task["id"])
    rows = queued(server)
    # The first account, then the task's three changes.
    assert [(r.entity_type, r.kind, r.version, r.status) for r in rows] == [
        ("user", "create", 1, "pending"),
        ("task", "create", 1, "pending"),
        ("task", "update", 2, "pending"),
        ("task", "delete", 3, "pending"),
    ]
    created = rows[1].payload
    assert {k: created[k] for k in ("id", "title", "vehicle_plate", "priority", "version")} == {
        "id": task["id"],
        "title": "PPF Installation",
        "vehicle_plate": "ABC-123",
        "priority": "high",
        "version": 1,
    }
    assert rows[2].payload["notes"] == "front bumper first"
    assert rows[3].payload["deleted_at"] is not None
    assert len({r.operation_id for r in rows}) == 4
    assert len({r.node_id for r in rows}) == 1
    # A refused change leaves no operation behind.
    refused(
        server.services, partial(admin.tasks.update, task["id"], {"notes": "x"}), "NOT_FOUND_TASK"
    )


def test_no_secret_is_ever_queued(server: LiveServer, admin: IpcClient) -> None:
    admin.call(
        "auth_create_account",
        {
            "email": "tech@shop.example",
            "first_name": "Tess",
            "last_name": "Tech",
            "password": "Technician#2024x",
            "role": "technician",
        },
    )
    enrol(admin)  # 2FA on: a secret and backup codes exist now
    admin.auth.login("owner@shop.example", "Workshop-Boss-2024")  # touches login counters
    with server.services.db.session(write=False) as db:
        secrets = [
            value
            for user in db.scalars(select(User))
            for value in (user.password_hash, user.two_factor_secret)
            if value
        ]
    assert len(secrets) == 3
    rows = queued(server)
    # Turning 2FA on is a change of the user (its version moves); the secret stays here.
    assert [(r.entity_type, r.kind, r.version) for r in rows] == [
        ("user", "create", 1),
        ("user", "create", 1),
        ("user", "update", 2),
    ]
    for row in rows:
        assert not set(row.payload) & PRIVATE_COLUMNS["users"]
        text = json.dumps(row.payload)
        assert not any(secret in text for secret in secrets)
        assert not any(word in text for word in ("password", "secret", "argon2"))


def test_enqueue_dequeue_and_metrics(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    first = operation()
    low = admin.call("sync_enqueue", {"operation": operation(), "priority": "low"})
    high = admin.call("sync_enqueue", {"operation": first, "priority": "high"})
    assert isinstance(low, int)
    assert high == low + 1
    assert admin.call("sync_get_metrics", {}) == {
        "pending": 3,
        "processing": 0,
        "completed": 0,
        "failed": 0,
        "total": 3,
        "conflicts": 0,
    }
    batch = admin.call("sync_dequeue_batch", {"limit": 2})
    # High priority first, then in queue order (the first account's capture).
    assert [(op["id"], op["priority"], op["status"]) for op in batch] == [
        (high, "high", "processing"),
        (low - 1, "normal", "processing"),
    ]
    assert batch[0]["payload"] == first["payload"]
    assert batch[0]["entity_id"] == first["entity_id"]
    assert batch[0]["lease_until"] == clock.now_ms() + 300_000
    assert [op["id"] for op in admin.call("sync_dequeue_batch", {"limit": 5})] == [low]
    assert admin.call("sync_dequeue_batch", {"limit": 5}) == []
    metrics = admin.call("sync_get_metrics", {})
    assert (metrics["pending"], metrics["processing"], metrics["total"]) == (0, 3, 3)
    # Leases run out: the operations are pending again and handed out again.
    clock.advance(timedelta(seconds=301))
    assert admin.call("sync_get_metrics", {})["pending"] == 3
    again = admin.call("sync_dequeue_batch", {"limit": 5})
    assert [op["id"] for op in again] == [high, low - 1, low]
    assert admin.call("sync_get_status", {}) == {
        "is_running": False,
        "last_sync": 0,
        "pending_operations": 3,
        "failed_operations": 0,
        "next_sync": None,
    }


BAD_OPERATIONS = [
    {"operation": {**operation(), "entity_type": "password"}},
    {"operation": {**operation(), "entity_id": "not-a-uuid"}},
    {"operation": {**operation(), "kind": "upsert"}},
    {"operation": {**operation(), "version": 0}},
    {"operation": {**operation(), "extra": 1}},
    {"operation": operation(payload={"name": 42})},
    {"operation": operation(payload={"name": None})},
    {"operation": operation(payload={"unknown_field": "x"})},
    {"operation": operation(payload={"id": str(uuid.uuid4())})},
    {"operation": operation(payload={"name": "x" * 201})},
    {"operation": operation(entity_type="user", payload={"password_hash": "x"})},
    {"operation": operation(entity_type="user", payload={"two_factor_secret": "x"})},
    {"operation": operation(payload={"version": 2})},
    {"operation": operation(), "priority": "urgent"},
    {"operation": "client"},
    {},
]


@pytest.mark.parametrize("body", BAD_OPERATIONS)
def test_enqueue_refuses_invalid_operations(
    server: LiveServer, admin: IpcClient, body: dict[str, Any]
) -> None:
    refused(server.services, partial(admin.call, "sync_enqueue", body), "VALIDATION_ERROR", 400)


def test_enqueue_refuses_a_repeated_operation_id(server: LiveServer, admin: IpcClient) -> None:
    op = {**operation(), "operation_id": str(uuid.uuid4())}
    admin.call("sync_enqueue", {"operation": op})
    refused(
        server.services, partial(admin.call, "sync_enqueue", {"operation": op}), "VALIDATION_ERROR"
    )


def test_sync_needs_a_central_server(server: LiveServer, admin: IpcClient) -> None:
    for name in ("sync_start_background_service", "sync_now"):
        error = refused(server.services, partial(admin.call, name, {}), "SYNC_NOT_CONFIGURED", 400)
        assert "No central server is configured" in error.message
    admin.call("sync_stop_background_service", {})  # not running: nothing to do
    assert admin.call("sync_get_status", {})["is_running"] is False


def test_only_admins_control_sync(server: LiveServer, role_clients: dict[str, IpcClient]) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "sync_enqueue": {"operation": operation()},
        "sync_dequeue_batch": {"limit": 5},
        "sync_issue_token": {"name": "workshop"},
        "sync_revoke_token": {"id": str(uuid.uuid4())},
        "sync_list_operations": {},
        "sync_retry_failed": {"all": True},
        "sync_acknowledge": {"completed": [1]},
    }
    for role in ("supervisor", "technician", "viewer"):
        for name in [*SEVEN, *MORE]:
            call = partial(role_clients[role].call, name, bodies.get(name, {}))
            refused(server.services, call, "AUTH_FORBIDDEN", 403)
    with server.client() as anon:
        for name in SEVEN:
            refused(
                server.services,
                partial(anon.call, name, bodies.get(name, {})),
                "AUTH_SESSION_INVALID",
                401,
            )


def test_central_commands_need_a_sync_credential(server: LiveServer, admin: IpcClient) -> None:
    push = {"node_id": "node-x", "operations": []}
    pull = {"node_id": "node-x", "since": 0}
    issued = admin.call("sync_issue_token", {"name": "Workshop north"})
    assert issued["name"] == "Workshop north"
    assert issued["token"].startswith("rpmasync_")
    stored = queued(server)
    with server.client() as anon:
        for name, body in (("sync_push_batch", push), ("sync_pull_changes", pull)):
            refused(server.services, partial(anon.call, name, body), "SYNC_CREDENTIAL_INVALID", 401)
        # A session token is not a sync credential.
        anon.token = admin.token
        refused(
            server.services,
            partial(anon.call, "sync_pull_changes", pull),
            "SYNC_CREDENTIAL_INVALID",
            401,
        )
        anon.token = issued["token"]
        feed = anon.call("sync_pull_changes", pull)
        assert [c["operation_id"] for c in feed["changes"]] == [r.operation_id for r in stored]
        assert feed["cursor"] == stored[-1].id
        assert feed["has_more"] is False
        admin.call("sync_revoke_token", {"id": issued["id"]})
        refused(
            server.services,
            partial(anon.call, "sync_pull_changes", pull),
            "SYNC_CREDENTIAL_INVALID",
            401,
        )
    refused(
        server.services,
        partial(admin.call, "sync_revoke_token", {"id": issued["id"]}),
        "NOT_FOUND",
        404,
    )


def _client_row(name: str) -> Client:
    return Client(
        id=str(uuid.uuid4()),
        name=name,
        customer_type="business",
        tags=[],
        created_at=0,
        updated_at=0,
        version=1,
    )


def test_capture_follows_savepoints_and_the_commit(server: LiveServer) -> None:
    with server.services.db.session(write=True) as db:
        kept = _client_row("Kept")
        db.add(kept)
        db.flush()
        savepoint = db.begin_nested()
        db.add(_client_row("Rolled back"))
        db.flush()
        savepoint.rollback()
        with db.begin_nested():
            db.add(_client_row("Released"))
        late = _client_row("Flushed by the commit")
        db.add(late)  # never flushed by hand
        db.commit()
    with server.services.db.session(write=True) as db:
        db.add(_client_row("Never committed"))
        db.flush()
        db.rollback()
    names = [row.payload["name"] for row in queued(server)]
    assert names == ["Kept", "Released", "Flushed by the commit"]


def test_an_external_agent_acknowledges_what_it_took(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    ids = [admin.sync.enqueue(operation()) for _ in range(3)]
    taken = admin.sync.dequeue_batch(4)  # the first account's capture, then the three
    first_account = taken[0]["id"]
    assert [op["id"] for op in taken] == [first_account, *ids]
    answer = admin.sync.acknowledge(completed=[first_account, ids[0]], failed={ids[1]: "nope"})
    assert answer == {"completed": 2, "failed": 1}
    # Settled once: a second acknowledgement changes nothing.
    assert admin.sync.acknowledge(completed=[ids[0]]) == {"completed": 0, "failed": 0}
    # A lease that ran out is no longer the agent's to settle.
    clock.advance(timedelta(seconds=301))
    assert admin.sync.acknowledge(completed=[ids[2]]) == {"completed": 0, "failed": 0}
    listed = admin.sync.list_operations()
    assert [(op["id"], op["status"], op["attempts"], op["last_error"]) for op in listed] == [
        (ids[2], "processing", 0, None),
        (ids[1], "failed", 1, "nope"),
        (ids[0], "completed", 1, None),
        (first_account, "completed", 1, None),
    ]
    assert [op["id"] for op in admin.sync.list_operations("failed")] == [ids[1]]
    assert admin.sync.retry_failed() == 1
    assert admin.sync.retry_failed([ids[1]]) == 0
    assert admin.sync.metrics() == {
        "pending": 2,
        "processing": 0,
        "completed": 2,
        "failed": 0,
        "total": 4,
        "conflicts": 0,
    }


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("sync_retry_failed", {}),
        ("sync_retry_failed", {"all": True, "ids": [1]}),
        ("sync_retry_failed", {"ids": []}),
        ("sync_acknowledge", {}),
        ("sync_acknowledge", {"failed": [{"id": 1}]}),
        ("sync_acknowledge", {"completed": ["1"]}),
        ("sync_list_operations", {"status": "lost"}),
        ("sync_list_operations", {"limit": 201}),
        ("sync_dequeue_batch", {}),
        ("sync_dequeue_batch", {"limit": 0}),
        ("sync_issue_token", {"name": ""}),
    ],
)
def test_invalid_queue_requests_change_nothing(
    server: LiveServer, admin: IpcClient, name: str, body: dict[str, Any]
) -> None:
    admin.sync.enqueue(operation())
    admin.call(
        "sync_acknowledge", {"failed": [{"id": admin.sync.dequeue_batch(1)[0]["id"], "error": "x"}]}
    )
    refused(server.services, partial(admin.call, name, body), "VALIDATION_ERROR", 400)


def test_statement_writes_are_captured_too(server: LiveServer, admin: IpcClient) -> None:
    """A CSV import inserts its tasks with one statement and a stock movement updates the
    balance with another: neither goes through the unit of work, both must sync."""
    admin.tasks.import_tasks_bulk(
        "vehicle_plate,vehicle_make,vehicle_model\r\nAB-123-CD,Tesla,Model 3\r\n"
        "ZZ-9,Renault,Kangoo\r\n"
    )
    created = admin.materials.create(
        {"sku": "glue", "name": "Mounting gel", "material_type": "adhesive", "current_stock": 3}
    )
    admin.call(
        "material_update_stock", {"id": created["id"], "quantity": 2, "adjustment_type": "add"}
    )
    admin.call(
        "material_update_stock", {"id": created["id"], "quantity": 1, "adjustment_type": "set"}
    )
    rows = [(r.entity_type, r.kind, r.payload) for r in queued(server) if r.entity_type != "user"]
    assert [(t, k) for t, k, _ in rows] == [
        ("task", "create"),
        ("task", "create"),
        ("material", "create"),
        ("material", "update"),  # the opening stock: a stock_in movement
        ("material", "update"),
        ("material", "update"),
    ]
    assert sorted(p["vehicle_plate"] for t, _, p in rows if t == "task") == ["AB-123-CD", "ZZ-9"]
    stock = [(p["current_stock_milli"], p["version"]) for t, _, p in rows if t == "material"]
    assert stock == [(0, 1), (3000, 2), (5000, 3), (1000, 4)]
