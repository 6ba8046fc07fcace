"""Sync between real servers: the shared test server is the central (SQLite, and
PostgreSQL when configured); two workshop machines ("node-a", "node-b") are SQLite
servers of their own on loopback, started once for the module."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rpma.app import build_services, create_app
from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.events import Event
from rpma.domains.sync import worker
from rpma.domains.sync.models import SyncQueueEntry
from rpma.domains.tasks.models import Task
from rpma.transport.threaded import ThreadedServer, free_port
from tests.conftest import ADMIN_PASSWORD, LiveServer, fast_settings, wipe
from tests.helpers import refused, snapshot

SEED_TASK = {"title": "PPF Installation", "vehicle_plate": "ABC-123", "priority": "high"}
OK = {"success": True, "operations_failed": 0, "errors": []}


def _serve(data_dir: Path, node_id: str, **overrides: object) -> tuple[LiveServer, ThreadedServer]:
    settings = fast_settings(
        data_dir, **{"sync_node_id": node_id, "sync_autostart": False, **overrides}
    )
    services = build_services(settings)
    server = ThreadedServer(create_app(settings, services=services)).start()
    return LiveServer(server.url, services, "sqlite"), server


@pytest.fixture(scope="module")
def node_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveServer]]:
    started = {name: _serve(tmp_path_factory.mktemp(name), name) for name in ("node-a", "node-b")}
    yield {name: live for name, (live, _) in started.items()}
    for live, server in started.values():
        server.stop()
        live.services.db.dispose()


@dataclass
class Node:
    name: str
    live: LiveServer
    admin: IpcClient

    def sync(self) -> dict[str, Any]:
        return dict(self.admin.call("sync_now", {}))

    def metrics(self) -> dict[str, int]:
        return dict(self.admin.call("sync_get_metrics", {}))

    def task(self, task_id: str) -> Task | None:
        return stored_task(self.live, task_id)

    def rows(self) -> list[SyncQueueEntry]:
        return queue_rows(self.live)


def stored_task(live: LiveServer, task_id: str) -> Task | None:
    with live.services.db.session(write=False) as db:
        return db.get(Task, task_id)


def queue_rows(live: LiveServer) -> list[SyncQueueEntry]:
    with live.services.db.session(write=False) as db:
        return list(db.scalars(select(SyncQueueEntry).order_by(SyncQueueEntry.id)))


@pytest.fixture
def token(server: LiveServer, admin: IpcClient) -> str:
    return str(admin.call("sync_issue_token", {"name": "workshops"})["token"])


@pytest.fixture
def nodes(
    server: LiveServer, token: str, node_servers: dict[str, LiveServer]
) -> Iterator[dict[str, Node]]:
    """Both machines, emptied, pointed at the central, each with its own admin."""
    clock.freeze(datetime.now(UTC))
    found = {}
    for name, live in node_servers.items():
        wipe(live.services)
        live.services.settings.sync_url = server.url
        live.services.settings.sync_token = token
        client = live.client()
        client.auth.create_account(f"{name}@workshop.example", "Nora", "Node", ADMIN_PASSWORD)
        found[name] = Node(name, live, client)
    yield found
    for node in found.values():
        worker.shutdown(node.live.services)
        node.admin.close()


def later(seconds: int = 1) -> None:
    clock.advance(timedelta(seconds=seconds))


def test_a_task_made_on_a_node_reaches_the_central(
    server: LiveServer, admin: IpcClient, nodes: dict[str, Node]
) -> None:
    a = nodes["node-a"]
    task = a.admin.tasks.create(SEED_TASK)["task"]
    # Pushed: A's admin and the task; pulled: the central's own first account.
    assert a.sync() == {**OK, "operations_processed": 3}
    there = admin.tasks.get(task["id"])["task"]
    assert (there["id"], there["version"], there["title"], there["task_number"]) == (
        task["id"],
        1,
        "PPF Installation",
        task["task_number"],
    )
    pushed = {r.operation_id: r for r in a.rows() if r.node_id == "node-a"}
    received = [r for r in queue_rows(server) if r.operation_id in pushed]
    assert [(r.entity_type, r.node_id, r.status, r.conflict) for r in received] == [
        ("user", "node-a", "completed", False),
        ("task", "node-a", "completed", False),
    ]
    assert a.metrics() == {
        "pending": 0,
        "processing": 0,
        "completed": 3,
        "failed": 0,
        "total": 3,
        "conflicts": 0,
    }
    status = a.admin.call("sync_get_status", {})
    assert status["last_sync"] == clock.now_ms()
    assert status["pending_operations"] == 0
    assert a.sync() == {**OK, "operations_processed": 0}  # nothing new either way
    # The node's admin exists on the central without a password: no sign-in there.
    with server.client() as other:
        refused(
            server.services,
            partial(other.auth.login, "node-a@workshop.example", ADMIN_PASSWORD),
            "AUTH_INVALID",
        )


def test_a_change_on_the_central_reaches_the_node(
    server: LiveServer, admin: IpcClient, nodes: dict[str, Node]
) -> None:
    a = nodes["node-a"]
    task = a.admin.tasks.create(SEED_TASK)["task"]
    a.sync()
    later()
    admin.tasks.update(task["id"], {"notes": "wrap the mirrors too"})
    assert a.sync() == {**OK, "operations_processed": 1}
    row = a.task(task["id"])
    assert row is not None
    assert (row.notes, row.version) == ("wrap the mirrors too", 2)
    # Applied from the central, not captured again as the node's own change.
    assert a.metrics()["pending"] == 0
    assert a.rows()[-1].node_id != "node-a"
    assert a.rows()[-1].version == 2


def test_node_a_reaches_node_b_through_the_central(
    server: LiveServer, admin: IpcClient, nodes: dict[str, Node]
) -> None:
    a, b = nodes["node-a"], nodes["node-b"]
    task = a.admin.tasks.create(SEED_TASK)["task"]
    a.sync()
    # B pushes its admin, pulls the central's admin, A's admin and A's task.
    assert b.sync() == {**OK, "operations_processed": 4}
    row = b.task(task["id"])
    assert row is not None
    assert (row.title, row.version, row.task_number) == (
        "PPF Installation",
        1,
        task["task_number"],
    )
    later()
    a.admin.tasks.update(task["id"], {"notes": "customer waits"})
    assert a.sync() == {**OK, "operations_processed": 2}  # the update out, B's admin in
    assert b.sync() == {**OK, "operations_processed": 1}
    row = b.task(task["id"])
    assert row is not None
    assert (row.notes, row.version) == ("customer waits", 2)
    # A never gets its own changes back.
    assert a.sync() == {**OK, "operations_processed": 0}
    assert [r.node_id for r in a.rows()].count("node-a") == 3


def test_the_higher_version_wins_a_conflict(
    server: LiveServer, admin: IpcClient, nodes: dict[str, Node]
) -> None:
    a = nodes["node-a"]
    task = a.admin.tasks.create(SEED_TASK)["task"]
    a.sync()
    later()
    admin.tasks.update(task["id"], {"notes": "central one"})
    admin.tasks.update(task["id"], {"notes": "central two"})  # version 3 on the central
    later()
    a.admin.tasks.update(task["id"], {"notes": "node"})  # version 2 on the node
    # The node's version 2 loses on the central; the central's 2 then 3 reach the node.
    assert a.sync() == {**OK, "operations_processed": 3}
    there = admin.tasks.get(task["id"])["task"]
    assert (there["notes"], there["version"]) == ("central two", 3)
    row = a.task(task["id"])
    assert row is not None
    assert (row.notes, row.version) == ("central two", 3)
    # Recorded on both sides: the node's 2 lost on the central, and the central's own 2
    # then lost on the node (same version, the node's change is later) before 3 won.
    central = central_id(server)
    lost = [(r.node_id, r.version, r.status, r.last_error) for r in a.rows() if r.conflict]
    assert lost == [
        (
            "node-a",
            2,
            "completed",
            f"conflict: version 3 from {central} kept over version 2 from node-a",
        ),
        (
            central,
            2,
            "completed",
            f"conflict: version 2 from node-a kept over version 2 from {central}",
        ),
    ]
    assert admin.call("sync_get_metrics", {})["conflicts"] == 1
    assert a.metrics()["conflicts"] == 2


def central_id(server: LiveServer) -> str:
    from rpma.domains.sync.capture import identity

    with server.services.db.session(write=False) as db:
        return identity(server.services).get(db)


def test_equal_versions_the_later_change_wins(
    server: LiveServer, admin: IpcClient, nodes: dict[str, Node]
) -> None:
    a = nodes["node-a"]
    task = a.admin.tasks.create(SEED_TASK)["task"]
    a.sync()
    later()
    admin.tasks.update(task["id"], {"notes": "central"})
    later()
    a.admin.tasks.update(task["id"], {"notes": "node, later"})
    # Both at version 2: the node's is later and wins on the central; the central's
    # own version 2 then loses on the node. Both end the same.
    assert a.sync() == {**OK, "operations_processed": 2}
    there = admin.tasks.get(task["id"])["task"]
    assert (there["notes"], there["version"]) == ("node, later", 2)
    row = a.task(task["id"])
    assert row is not None
    assert (row.notes, row.version) == ("node, later", 2)
    assert admin.call("sync_get_metrics", {})["conflicts"] == 0
    assert a.metrics()["conflicts"] == 1


def test_a_repeated_push_changes_nothing(
    server: LiveServer, token: str, nodes: dict[str, Node]
) -> None:
    a = nodes["node-a"]
    a.admin.tasks.create(SEED_TASK)
    a.sync()
    pushed = [r for r in a.rows() if r.node_id == "node-a"]
    operations = [
        {
            "operation_id": r.operation_id,
            "entity_type": r.entity_type,
            "entity_id": r.entity_id,
            "kind": r.kind,
            "payload": r.payload,
            "version": r.version,
            "node_id": "node-a",
        }
        for r in pushed
    ]
    before = snapshot(server.services)
    with server.client() as node_link:
        node_link.token = token
        answer = node_link.call("sync_push_batch", {"node_id": "node-a", "operations": operations})
    assert [r["outcome"] for r in answer["results"]] == ["duplicate", "duplicate"]
    after = snapshot(server.services)
    after.pop("sync_credentials"), before.pop("sync_credentials")  # last_used_at moved
    assert after == before
    # A lost answer: the node sends the same operations again on its next sync.
    with a.live.services.db.session(write=True) as db:
        for row in db.scalars(select(SyncQueueEntry).where(SyncQueueEntry.node_id == "node-a")):
            row.status = "pending"
        db.commit()
    assert a.sync() == {**OK, "operations_processed": 2}
    after_again = snapshot(server.services)
    after_again.pop("sync_credentials")
    assert after_again == before


def test_central_down_keeps_operations_pending(
    server: LiveServer, admin: IpcClient, nodes: dict[str, Node]
) -> None:
    a = nodes["node-a"]
    task = a.admin.tasks.create(SEED_TASK)["task"]
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    a.live.services.settings.sync_url = nowhere
    result = a.sync()
    assert result == {
        "success": False,
        "operations_processed": 0,
        "operations_failed": 2,
        "errors": [f"central server {nowhere} unreachable: ConnectError"],
    }
    rows = a.rows()
    assert [(r.status, r.attempts, r.next_attempt_at) for r in rows] == [
        ("pending", 1, clock.now_ms() + 30_000)
    ] * 2
    assert rows[0].last_error == result["errors"][0]
    status = a.admin.call("sync_get_status", {})
    assert (status["last_sync"], status["pending_operations"]) == (0, 2)
    # The central is back: the next sync delivers everything.
    a.live.services.settings.sync_url = server.url
    assert a.sync() == {**OK, "operations_processed": 3}
    assert admin.tasks.get(task["id"])["task"]["version"] == 1
    assert [(r.status, r.attempts, r.last_error) for r in a.rows()[:2]] == [
        ("completed", 2, None)
    ] * 2


def test_a_refused_credential_marks_operations_failed(
    server: LiveServer, token: str, nodes: dict[str, Node]
) -> None:
    a = nodes["node-a"]
    a.admin.tasks.create(SEED_TASK)
    a.live.services.settings.sync_token = "rpmasync_not-a-real-credential"
    before = snapshot(server.services)
    result = a.sync()
    reason = (
        "central server refused sync_push_batch: SYNC_CREDENTIAL_INVALID "
        "The sync credential is unknown or revoked"
    )
    assert result == {
        "success": False,
        "operations_processed": 0,
        "operations_failed": 2,
        "errors": [reason],
    }
    assert [(r.status, r.last_error) for r in a.rows()] == [("failed", reason)] * 2
    assert a.metrics()["failed"] == 2
    assert a.admin.call("sync_get_status", {})["failed_operations"] == 2
    assert snapshot(server.services) == before
    assert "not-a-real-credential" not in str(result)
    # The right credential, the failed operations queued again: they go through.
    a.live.services.settings.sync_token = token
    assert a.admin.sync.retry_failed() == 2
    assert a.sync() == {**OK, "operations_processed": 3}


def test_the_background_service(nodes: dict[str, Node]) -> None:
    a = nodes["node-a"]
    a.admin.tasks.create(SEED_TASK)
    a.admin.call("sync_start_background_service", {})
    a.admin.call("sync_start_background_service", {})  # already running: nothing changes
    status = a.admin.call("sync_get_status", {})
    assert status["is_running"] is True
    assert isinstance(status["next_sync"], int)
    deadline = time.monotonic() + 30
    while a.admin.call("sync_get_status", {})["last_sync"] == 0:  # its first pass
        assert time.monotonic() < deadline, "the background service never synced"
        time.sleep(0.05)
    assert a.admin.call("sync_get_status", {})["pending_operations"] == 0
    a.admin.call("sync_stop_background_service", {})
    a.admin.call("sync_stop_background_service", {})
    status = a.admin.call("sync_get_status", {})
    assert (status["is_running"], status["next_sync"]) == (False, None)


class _Failing(BaseHTTPRequestHandler):
    """A central server having a bad day: every request answers 503."""

    def do_POST(self) -> None:  # the standard library's name
        self.send_response(503)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"maintenance")

    def log_message(self, *_args: Any) -> None:
        pass


def test_a_server_error_keeps_operations_pending(
    server: LiveServer, nodes: dict[str, Node]
) -> None:
    a = nodes["node-a"]
    a.admin.tasks.create(SEED_TASK)
    failing = HTTPServer(("127.0.0.1", 0), _Failing)
    threading.Thread(target=failing.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{failing.server_address[1]}"
    a.live.services.settings.sync_url = url
    try:
        result = a.sync()
    finally:
        failing.shutdown()
        failing.server_close()
    assert result == {
        "success": False,
        "operations_processed": 0,
        "operations_failed": 2,
        "errors": [f"central server {url} answered HTTP 503"],
    }
    assert [(r.status, r.attempts) for r in a.rows()] == [("pending", 1)] * 2
    a.live.services.settings.sync_url = server.url
    assert a.sync() == {**OK, "operations_processed": 3}


def test_a_configured_server_syncs_from_the_start(
    server: LiveServer, token: str, tmp_path: Path
) -> None:
    live, threaded = _serve(
        tmp_path, "node-c", sync_url=server.url, sync_token=token, sync_autostart=True
    )
    try:
        with live.client() as c:
            c.auth.create_account("node-c@workshop.example", "Nora", "Node", ADMIN_PASSWORD)
            assert c.sync.status()["is_running"] is True
    finally:
        threaded.stop()
        live.services.db.dispose()
    assert worker.running(live.services) is None  # stopped with the server


def test_changes_that_arrive_by_sync_are_live_updates(
    server: LiveServer, admin: IpcClient, nodes: dict[str, Node]
) -> None:
    """What a node pushes reaches the central's /ws listeners, and what the node pulls
    reaches its own, as task_updated events marked as coming from sync."""
    a = nodes["node-a"]
    on_central: list[Event] = []
    on_node: list[Event] = []
    stop_central = server.services.events.subscribe(on_central.append)
    stop_node = a.live.services.events.subscribe(on_node.append)
    try:
        task = a.admin.tasks.create(SEED_TASK)["task"]
        a.sync()
        later()
        admin.tasks.update(task["id"], {"notes": "wrap the mirrors too"})
        on_node.clear()
        a.sync()
    finally:
        stop_central()
        stop_node()
    pushed = [e for e in on_central if e.data.get("source") == "sync"]
    assert [(e.type, e.data["task_id"]) for e in pushed] == [("task_updated", task["id"])]
    assert pushed[0].data["updates"]["title"] == "PPF Installation"
    pulled = [e for e in on_node if e.data.get("source") == "sync"]
    assert [(e.type, e.data["task_id"]) for e in pulled] == [("task_updated", task["id"])]
    assert pulled[0].data["updates"]["notes"] == "wrap the mirrors too"


def test_machines_sharing_the_number_space_never_collide(
    server: LiveServer, admin: IpcClient, nodes: dict[str, Node]
) -> None:
    """Two workshops creating and importing tasks on the same day: with machine 1 and 2
    of 2 (RPMA_TASK_NUMBER_STRIDE/_OFFSET) every number is unique on the central."""
    a, b = nodes["node-a"], nodes["node-b"]
    for offset, node in enumerate((a, b), start=1):
        node.live.services.settings.task_number_stride = 2
        node.live.services.settings.task_number_offset = offset
    try:
        made = [n.admin.tasks.create(SEED_TASK)["task"]["task_number"] for n in (a, b, a, b)]
        a.admin.tasks.import_tasks_bulk(
            "vehicle_plate,vehicle_make,vehicle_model\r\nAB-1,Audi,A4\r\nAB-2,BMW,X3\r\n"
        )
        assert a.sync()["operations_failed"] == 0
        assert b.sync()["operations_failed"] == 0
    finally:
        for node in (a, b):
            node.live.services.settings.task_number_stride = 1
            node.live.services.settings.task_number_offset = 1
    assert [number.split("-")[1] for number in made] == ["001", "002", "003", "004"]
    on_central = [t["task_number"] for t in admin.tasks.list({"limit": 100})["tasks"]]
    assert len(on_central) == len(set(on_central)) == 6
    assert sorted(n.split("-")[1] for n in on_central) == ["001", "002", "003", "004", "005", "007"]


def test_a_machine_outside_the_number_space_is_refused() -> None:
    from pydantic import ValidationError

    from rpma.config import Settings

    with pytest.raises(ValidationError, match="RPMA_TASK_NUMBER_OFFSET"):
        Settings(task_number_stride=2, task_number_offset=3)
