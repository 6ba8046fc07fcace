"""init_websocket_server (extra /ws listeners) and /ws across server processes that
share Redis."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from rpma.app import build_services, create_app
from rpma.client import IpcClient
from rpma.core.services import Services
from rpma.live.hub import hub_for
from rpma.transport.threaded import ThreadedServer, free_port
from tests.conftest import ADMIN_PASSWORD, REDIS_URL, LiveServer, fast_settings
from tests.helpers import refused
from tests.transport.live_support import (
    SEED_TASK,
    closes_sockets,
    events_before_fence,
    hub_of,
    open_live,
    receive,
    wait_until,
    welcomed,
)

__all__ = ["closes_sockets"]  # a fixture, imported for the tests below


@pytest.fixture
def listeners(server: LiveServer) -> Iterator[None]:
    """Extra listeners started by a test are stopped after it."""
    yield
    hub = hub_of(server)
    for listener in list(hub.listeners.values()):
        listener.stop()
    hub.listeners.clear()


def init(client: IpcClient, **payload: object) -> dict[str, object]:
    return dict(client.call("init_websocket_server", payload))


def test_init_with_nothing_reports_the_endpoint(server: LiveServer, admin: IpcClient) -> None:
    conn = open_live(server.url, admin.token)
    welcomed(conn)
    port = int(server.url.rsplit(":", 1)[1])
    assert init(admin) == {
        "port": port,
        "url": f"ws://127.0.0.1:{port}/ws",
        "status": "running",
        "path": "/ws",
        "connected_clients": 1,
        "compression": True,
        "listeners": [],
    }
    assert init(admin, port=port)["listeners"] == []  # the main port: nothing to start


def test_init_with_a_port_serves_ws_there_too(
    server: LiveServer, role_clients: dict[str, IpcClient], listeners: None
) -> None:
    admin = role_clients["admin"]
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    answer = init(admin, port=port, enable_compression=False)
    assert (answer["port"], answer["url"], answer["status"]) == (port, url, "running")
    assert (answer["compression"], answer["listeners"]) == (False, [url])
    assert init(admin, port=port)["listeners"] == [url]  # again: the same listener
    # A viewer on the extra port gets the same events, with the same rules.
    viewer = open_live(url, role_clients["viewer"].token)
    assert welcomed(viewer)["role"] == "viewer"
    task = admin.tasks.create(SEED_TASK)["task"]
    (event,) = events_before_fence(viewer, server)
    assert (event["type"], event["data"]["task_id"]) == ("task_updated", task["id"])
    assert init(admin)["connected_clients"] == 1


def test_init_on_a_busy_port_is_a_clear_error(
    server: LiveServer, role_clients: dict[str, IpcClient], listeners: None
) -> None:
    admin = role_clients["admin"]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        error = refused(
            server.services, lambda: init(admin, port=port), "WEBSOCKET_PORT_IN_USE", 409
        )
    assert error.details == {"port": port, "host": "127.0.0.1"}
    assert hub_of(server).listeners == {}
    for bad in ({"port": 0}, {"port": 70000}, {"port": "8000"}, {"host": "example.com"}):
        refused(server.services, partial(init, admin, **bad), "VALIDATION_ERROR", 400)
    for role in ("supervisor", "technician", "viewer"):
        refused(
            server.services,
            partial(init, role_clients[role], port=free_port()),
            "AUTH_FORBIDDEN",
            403,
        )
    assert hub_of(server).listeners == {}


# Several processes -----------------------------------------------------------------------


def serve(services: Services, namespace: str) -> tuple[ThreadedServer, str]:
    app = create_app(services.settings, services=services)
    hub = hub_for(services)
    assert hub is not None
    hub.config.namespace = namespace
    server = ThreadedServer(app, ws="websockets-sansio").start()
    return server, server.url


@pytest.mark.skipif(not REDIS_URL, reason="RPMA_TEST_REDIS_URL is not set (Redis tests skipped)")
def test_events_reach_clients_of_another_process_through_redis(tmp_path: Path) -> None:
    # Two servers on one database and one Redis, as two workers behind a proxy would be.
    settings = fast_settings(tmp_path, redis_url=REDIS_URL)
    namespace = f"rpma-test:{uuid.uuid4().hex[:8]}"
    first, second = build_services(settings), build_services(settings)
    (server_a, url_a), (server_b, url_b) = serve(first, namespace), serve(second, namespace)
    try:
        with IpcClient(url_a) as admin:
            admin.auth.create_account("owner@shop.example", "Olive", "Owner", ADMIN_PASSWORD)
            on_a, on_b = open_live(url_a, admin.token), open_live(url_b, admin.token)
            stream = welcomed(on_a)["stream"]
            assert welcomed(on_b)["stream"] == stream  # one stream, shared through Redis
            task = admin.tasks.create(SEED_TASK)["task"]
            admin.tasks.update(task["id"], {"title": "Full front PPF"})
            with IpcClient(url_b, token=admin.token) as same_admin_on_b:
                same_admin_on_b.tasks.update(task["id"], {"title": "Hood only"})
            seen_a = [receive(on_a) for _ in range(3)]
            seen_b = [receive(on_b) for _ in range(3)]
            assert seen_a == seen_b  # same events, same ids, same order
            ids = [m["id"] for m in seen_a]
            assert ids == list(range(ids[0], ids[0] + 3))
            assert [m["data"]["updates"].get("title") for m in seen_a] == [
                "PPF Installation",
                "Full front PPF",
                "Hood only",
            ]
            # A client that moves to the other process resumes from its last id there.
            on_a.close()
            admin.tasks.update(task["id"], {"title": "Roof"})
            hub_b = hub_for(second)
            assert hub_b is not None
            wait_until(lambda: hub_b.last_event_id == ids[2] + 1, "process B to have it")
            moved = open_live(url_b, admin.token, last_event_id=ids[1], stream=stream)
            welcomed(moved)
            replayed = [receive(moved) for _ in range(3)]
            assert [m.get("id") for m in replayed] == [ids[2], ids[2] + 1, None]
            assert replayed[2]["type"] == "replay_done"
    finally:
        for server, services in ((server_a, first), (server_b, second)):
            server.stop()
            services.db.dispose()
