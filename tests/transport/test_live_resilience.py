"""/ws under stress: reconnecting with the last event id, heartbeats, clients too slow
to read, and the SDK's LiveClient."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rpma.client import IpcClient
from rpma.client.live import LiveClient, LiveClosed
from rpma.core.events import Event
from rpma.live.config import CLOSE_AUTH, CLOSE_SLOW, CLOSE_TIMEOUT, LiveConfig
from tests.conftest import LiveServer
from tests.transport.live_support import (
    close_of,
    closes_sockets,
    fence,
    hub_of,
    is_fence,
    live_config,
    open_live,
    receive,
    until,
    wait_until,
    welcomed,
)

__all__ = ["closes_sockets", "live_config"]  # fixtures, imported for the tests below


def publish(server: LiveServer, *numbers: int, kind: str = "task_updated") -> int:
    for n in numbers:
        server.services.events.publish(Event(kind, {"n": n}))
    return hub_of(server).last_event_id


def read_to_fence(conn: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while not seen or not is_fence(seen[-1]):
        seen.append(receive(conn))
    return seen


def replay_done(conn: Any) -> dict[str, Any]:
    while (message := receive(conn))["type"] != "replay_done":
        pass
    return message


# Replay ------------------------------------------------------------------------------------


def test_reconnecting_with_the_last_event_id_replays_what_was_missed(
    server: LiveServer, admin: IpcClient
) -> None:
    conn = open_live(server.url, admin.token)
    stream = welcomed(conn)["stream"]
    last = publish(server, 1)
    assert receive(conn)["id"] == last
    conn.close()
    publish(server, 2, 3, 4)
    again = open_live(server.url, admin.token, last_event_id=last, stream=stream)
    welcome = welcomed(again)
    assert welcome["last_event_id"] == last + 3
    replayed = [receive(again) for _ in range(4)]
    assert [m.get("id") for m in replayed] == [last + 1, last + 2, last + 3, None]
    assert [m["data"]["n"] for m in replayed[:3]] == [2, 3, 4]
    assert replayed[3] == {
        "type": "replay_done",
        "data": {"replayed": 3, "last_event_id": last + 3},
    }
    # ...then live events follow without a gap or a repeat.
    expected = publish(server, 5)
    assert receive(again)["id"] == expected


def test_replay_keeps_to_what_the_user_may_read(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    token = role_clients["viewer"].token
    last = hub_of(server).last_event_id
    publish(server, 1, kind="security_alert")
    publish(server, 2)
    conn = open_live(server.url, token, last_event_id=last)
    welcomed(conn)
    assert receive(conn)["data"] == {"n": 2}
    assert receive(conn)["data"] == {"replayed": 1, "last_event_id": last + 2}


def test_too_old_an_event_id_is_a_replay_gap(server: LiveServer, admin: IpcClient) -> None:
    hub = hub_of(server)
    last = publish(server, 0)
    size = hub.config.replay_size
    publish(server, *range(1, size + 3))  # two more than the buffer holds
    conn = open_live(server.url, admin.token, last_event_id=last)
    welcomed(conn)
    assert receive(conn) == {
        "type": "replay_gap",
        "data": {
            "reason": "too_old",
            "last_event_id": last,
            "oldest_event_id": last + 3,
            "stream": hub.stream,
        },
    }
    assert receive(conn)["data"] == {"n": 3}
    messages = until(conn, hub.last_event_id)
    assert len(messages) == size - 1
    assert receive(conn)["data"] == {"replayed": size, "last_event_id": hub.last_event_id}


def test_another_stream_or_a_future_id_is_a_gap(server: LiveServer, admin: IpcClient) -> None:
    last = publish(server, 1)
    conn = open_live(server.url, admin.token, last_event_id=last, stream="old-server")
    welcomed(conn)
    assert receive(conn)["data"]["reason"] == "stream_changed"
    replay_done(conn)  # everything still buffered: all of it is new to this client
    conn = open_live(server.url, admin.token, last_event_id=last + 50)
    welcomed(conn)
    assert receive(conn)["data"]["reason"] == "unknown_event_id"
    replay_done(conn)
    conn = open_live(server.url, admin.token, last_event_id="seven")
    assert close_of(conn) == (CLOSE_AUTH, "VALIDATION_ERROR: last_event_id must be an integer")


# Heartbeats --------------------------------------------------------------------------------


def test_heartbeats_keep_live_clients_and_drop_silent_ones(
    server: LiveServer, admin: IpcClient, live_config: LiveConfig
) -> None:
    live_config.heartbeat_seconds = 0.05
    live_config.heartbeat_timeout_seconds = 0.5
    lively = open_live(server.url, admin.token)
    silent = open_live(server.url, admin.token)
    welcomed(lively)
    silent_id = welcomed(silent)["client_id"]
    hub = hub_of(server)
    # The one that answers its pings stays while the one that never does is dropped.
    pings = 0
    while pings < 5 or silent_id in [c.client_id for c in hub.connections()]:
        message = json.loads(lively.recv(timeout=10))
        if message["type"] == "ping":
            pings += 1
            lively.send(json.dumps({"type": "pong"}))
    code, reason = close_of(silent)
    assert code == CLOSE_TIMEOUT
    assert reason.startswith("HEARTBEAT_TIMEOUT: no frame for ")
    expected = publish(server, 1)
    assert receive(lively)["id"] == expected
    assert hub_of(server).connected_clients == 1


# Slow clients ------------------------------------------------------------------------------


def test_a_client_too_slow_to_read_is_dropped_and_memory_stays_bounded(
    server: LiveServer, admin: IpcClient, live_config: LiveConfig
) -> None:
    hub = hub_of(server)
    live_config.queue_size = 32
    # max_queue=1: the client library stops reading the socket at once, so the kernel
    # buffers fill and the server's writes block, as with a stalled phone on bad Wi-Fi.
    # (No compression: the padding would shrink to nothing.)
    stalled = open_live(server.url, admin.token, max_queue=1, compression=None)
    keeping_up = open_live(server.url, admin.token)
    stalled_id = welcomed(stalled)["client_id"]
    reader_id = welcomed(keeping_up)["client_id"]
    (reader,) = [c for c in hub.connections() if c.client_id == reader_id]
    dropped_before = hub.stats.dropped_slow
    # The other client reads all along, in a thread, up to the fence published last.
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(read_to_fence, keeping_up)
        padding = "x" * 65536
        for n in range(1000):
            server.services.events.publish(Event("task_updated", {"n": n, "pad": padding}))
            if hub.stats.dropped_slow > dropped_before:
                break

            # A burst longer than the queue drops every client (docs/LIVE.md): let the
            # one that reads keep within 8 messages of the last.
            def caught_up(last: int = n) -> bool:
                return reader.sent > last - 8

            wait_until(caught_up, "the reader to catch up", poll=0.0005)
        wait_until(lambda: hub.stats.dropped_slow == dropped_before + 1, "the slow client's drop")
        fence(server)
        received = reading.result()
    assert [c.client_id for c in hub.connections() if c.client_id == stalled_id] == []
    assert hub.connected_clients == 1
    assert hub.stats.peak_queue <= 32  # never more than the bound (the only ones with 32)
    # The one that reads got everything, in order.
    numbers = [m["data"]["n"] for m in received if m["type"] == "task_updated"]
    assert numbers == list(range(n + 1))
    # The stalled one, once it reads, finds the close frame after what was in flight.
    code, reason = close_of(stalled)
    assert (code, reason) == (CLOSE_SLOW, "SLOW_CLIENT: over 32 messages unread; reconnect")


# The SDK -----------------------------------------------------------------------------------


def test_live_client_resumes_after_a_dropped_connection(
    server: LiveServer, admin: IpcClient
) -> None:
    hub = hub_of(server)

    async def scenario() -> list[int]:
        numbers: list[int] = []
        async with LiveClient(server.url, str(admin.token)) as live:
            assert (await live.receive())["type"] == "welcome"
            first_client = live.client_id
            await asyncio.to_thread(publish, server, 1)
            numbers.append((await live.receive())["data"]["n"])
            # The server drops the connection; events keep coming meanwhile.
            (conn,) = hub.connections()
            conn.loop.call_soon_threadsafe(conn.drop, 1012, "restarting")
            await asyncio.to_thread(wait_until, lambda: hub.connected_clients != 1, "the drop")
            await asyncio.to_thread(publish, server, 2, 3)
            while len(numbers) < 3:
                message = await live.receive()
                if "id" in message:
                    numbers.append(message["data"]["n"])
            assert live.client_id != first_client
            assert live.last_event_id == hub.last_event_id
        return numbers

    assert asyncio.run(scenario()) == [1, 2, 3]


def test_live_client_refused_token_is_final(server: LiveServer, admin: IpcClient) -> None:
    async def scenario() -> LiveClosed:
        try:
            async with LiveClient(server.url, "not-a-token"):
                raise AssertionError("connected with a bad token")
        except LiveClosed as closed:
            return closed

    closed = asyncio.run(scenario())
    assert (closed.close_code, closed.reason.split(":")[0]) == (CLOSE_AUTH, "AUTH_SESSION_INVALID")
