"""Helpers for the /ws tests: real WebSocket clients (websockets' sync client)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from rpma.core.events import Event
from rpma.live.config import LiveConfig
from rpma.live.hub import LiveHub, hub_for
from tests.conftest import LiveServer

OPENED: list[ClientConnection] = []  # closed after each test (closes_sockets)
SEED_TASK = {
    "title": "PPF Installation",
    "vehicle_plate": "ABC-123",
    "vehicle_make": "Toyota",
    "vehicle_model": "Camry",
    "scheduled_date": "2024-01-15",
    "priority": "high",
}


def hub_of(server: LiveServer) -> LiveHub:
    hub = hub_for(server.services)
    assert hub is not None
    return hub


def open_live(
    url: str,
    token: str | None = None,
    *,
    in_query: bool = False,
    **auth: Any,
) -> ClientConnection:
    """A /ws connection; the token in a first auth frame unless ``in_query``."""
    target = url.replace("http://", "ws://").rstrip("/")
    target = target if target.endswith("/ws") else target + "/ws"
    if in_query and token:
        target += f"?token={token}"
    options = {
        "max_queue": auth.pop("max_queue", 16),
        "compression": auth.pop("compression", "deflate"),
    }
    conn = connect(target, open_timeout=10, legacy=True, **options)
    OPENED.append(conn)
    if token and not in_query:
        conn.send(json.dumps({"type": "auth", "token": token, **auth}))
    return conn


def receive(conn: ClientConnection, *, answer_pings: bool = True) -> dict[str, Any]:
    """The next message other than a heartbeat (answered)."""
    while True:
        message = json.loads(conn.recv(timeout=10))
        if message["type"] == "ping" and answer_pings:
            conn.send(json.dumps({"type": "pong"}))
            continue
        return dict(message)


def welcomed(conn: ClientConnection) -> dict[str, Any]:
    message = receive(conn)
    assert message["type"] == "welcome", message
    return dict(message["data"])


def close_of(conn: ClientConnection) -> tuple[int | None, str]:
    """Read until the server closes; its close code and reason."""
    try:
        while True:
            conn.recv(timeout=10)
    except ConnectionClosed as closed:
        frame = closed.rcvd
        return (frame.code, frame.reason) if frame else (None, "")
    raise AssertionError("unreachable")


def fence(server: LiveServer) -> int:
    """Publish a notice every signed-in user may read; answers its event id. A client
    that reaches it has received everything published before it."""
    server.services.events.publish(
        Event("system_notification", {"title": "fence", "message": "", "level": "info"})
    )
    return hub_of(server).last_event_id


def until(conn: ClientConnection, event_id: int) -> list[dict[str, Any]]:
    """Every message up to and including event ``event_id``."""
    seen = []
    while True:
        message = receive(conn)
        seen.append(message)
        if message.get("id") == event_id:
            return seen


def events_before_fence(conn: ClientConnection, server: LiveServer) -> list[dict[str, Any]]:
    """The events ``conn`` receives before a new fence, fences left out."""
    return [m for m in until(conn, fence(server)) if "id" in m and not is_fence(m)]


def is_fence(message: dict[str, Any]) -> bool:
    data = message.get("data")
    return (
        message["type"] == "system_notification"
        and isinstance(data, dict)
        and data.get("title") == "fence"
    )


def wait_until(
    predicate: Callable[[], bool], what: str, seconds: float = 15, poll: float = 0.01
) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


@pytest.fixture
def live_config(server: LiveServer) -> Iterator[LiveConfig]:
    """The running hub's knobs; restored after the test."""
    hub = hub_of(server)
    saved = dataclasses.replace(hub.config)
    yield hub.config
    for field in dataclasses.fields(saved):
        setattr(hub.config, field.name, getattr(saved, field.name))
    hub.revalidate_soon()


@pytest.fixture(autouse=True)
def closes_sockets(server: LiveServer) -> Iterator[None]:
    """Every socket a test opened is closed after it, and the server let go of it."""
    yield
    while OPENED:
        OPENED.pop().close()
    wait_until(lambda: hub_of(server).connected_clients == 0, "the sockets to close")
