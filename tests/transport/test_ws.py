"""GET /ipc as a WebSocket (CONTRACT.md sections 1, 2 and 5): one frame one answer, many
requests in flight matched by id, JSON text and MessagePack binary frames, compression,
where the token is read from, bad frames, and the SDK over the socket."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgpack
import pytest
from websockets.sync.client import ClientConnection, connect

from rpma.client import AsyncIpcClient, IpcClient, NotFoundError
from rpma.core.clock import clock
from rpma.transport.ws import MAX_IN_FLIGHT
from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.helpers import refused, snapshot
from tests.transport import compression_threshold

ENVELOPE = {"id", "success", "data", "correlation_id", "timestamp"}
ERROR_ENVELOPE = {"id", "success", "error", "correlation_id", "timestamp"}
BAD_FRAME = 'A frame must be an object with "id", "command" and "args"'
UNDECODABLE = "The frame is not valid JSON"


def open_ipc(server: LiveServer, token: str | None = None) -> ClientConnection:
    query = f"?token={token}" if token else ""
    return connect(f"{server.ws_url}/ipc{query}", open_timeout=10, max_size=None)


def send_json(ws: ClientConnection, frame: Any) -> dict[str, Any]:
    ws.send(json.dumps(frame))
    return receive_text(ws)


def receive_text(ws: ClientConnection) -> dict[str, Any]:
    message = ws.recv(timeout=10)
    assert isinstance(message, str), "a JSON request must be answered in a text frame"
    answer: dict[str, Any] = json.loads(message)
    return answer


def send_msgpack(ws: ClientConnection, frame: Any) -> dict[str, Any]:
    ws.send(msgpack.packb(frame))
    message = ws.recv(timeout=10)
    assert isinstance(message, bytes), "a MessagePack request must be answered in binary"
    answer: dict[str, Any] = msgpack.unpackb(message)
    return answer


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert set(answer) == ERROR_ENVELOPE
    assert answer["success"] is False
    assert "stack_trace" not in answer["error"]
    error: dict[str, Any] = answer["error"]
    return error


def test_one_frame_one_answer_with_the_same_id(server: LiveServer) -> None:
    with open_ipc(server) as ws:
        answer = send_json(ws, {"id": "first", "command": "health_check", "args": {}})
        assert set(answer) == ENVELOPE
        assert answer["id"] == "first"
        assert answer["success"] is True
        assert answer["data"]["status"] == "healthy"
        assert answer["correlation_id"].startswith("req_")
        assert abs(answer["timestamp"] - clock.now_ms()) < 5000
        # Any JSON value is an id; args may be left out; correlation_id is echoed.
        frame = {"id": {"n": [1, 2]}, "command": "get_app_info"}
        assert send_json(ws, frame)["id"] == {"n": [1, 2]}
        args = {"correlation_id": "ws-corr"}
        echoed = send_json(ws, {"id": 3, "command": "get_app_info", "args": args})
        assert (echoed["id"], echoed["correlation_id"]) == (3, "ws-corr")


def test_many_requests_in_flight_are_each_answered_once(
    server: LiveServer, admin: IpcClient
) -> None:
    wrong_login = {"email": "owner@shop.example", "password": "not-the-password"}
    requests: dict[str, tuple[str, dict[str, Any]]] = {}
    for i in range(20):
        requests[f"r{i}"] = [
            ("health_check", {}),
            ("get_app_info", {}),
            (f"no_such_command_{i}", {}),
            ("auth_login", wrong_login),
        ][i % 4]
    before = snapshot(server.services)
    with open_ipc(server) as ws:
        for request_id, (command, args) in requests.items():
            ws.send(json.dumps({"id": request_id, "command": command, "args": args}))
        answers = [receive_text(ws) for _ in requests]
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)  # nothing more: every id exactly once
    assert Counter(a["id"] for a in answers) == Counter(list(requests))
    for answer in answers:
        command, _ = requests[answer["id"]]
        if command == "health_check":
            assert answer["data"]["status"] == "healthy"
        elif command == "get_app_info":
            assert answer["data"]["database_backend"] == server.backend
        elif command == "auth_login":
            assert error_of(answer) == {
                "message": "Invalid email or password",
                "code": "AUTH_INVALID",
            }
        else:
            assert error_of(answer)["code"] == "NOT_FOUND"
            assert error_of(answer)["details"] == {"command": command}
    assert snapshot(server.services) == before


def test_binary_frames_are_messagepack_and_text_frames_json(server: LiveServer) -> None:
    with open_ipc(server) as ws:
        packed = send_msgpack(ws, {"id": 1, "command": "get_app_info", "args": {}})
        text = send_json(ws, {"id": 2, "command": "get_app_info", "args": {}})
        assert set(packed) == set(text) == ENVELOPE
        assert packed["data"] == text["data"]
        assert packed["data"]["name"] == "RPMA"
        unknown = send_msgpack(ws, {"id": 3, "command": "nope", "args": {}})
        assert error_of(unknown)["code"] == "NOT_FOUND"
        assert unknown["id"] == 3


def test_compression_field_compresses_like_the_header(server: LiveServer) -> None:
    get_info = {"command": "get_app_info", "args": {}}
    with open_ipc(server) as ws:
        plain = send_json(ws, {"id": 0, **get_info})["data"]
        with compression_threshold(server, 100):
            answer = send_json(ws, {"id": 1, "compression": "gzip", **get_info})
            assert answer["compressed"] is True
            assert json.loads(gzip.decompress(base64.b64decode(answer["data"]))) == plain
            packed = send_msgpack(ws, {"id": 2, "compression": "gzip", **get_info})
            assert packed["compressed"] is True
            assert json.loads(gzip.decompress(base64.b64decode(packed["data"]))) == plain
            assert "compressed" not in send_json(ws, {"id": 3, **get_info})
        with compression_threshold(server, 10_000):
            below = send_json(ws, {"id": 4, "compression": "gzip", **get_info})
            assert set(below) == ENVELOPE
            assert below["data"] == plain


def test_token_from_args_or_from_the_url(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    admin, technician = role_clients["admin"].token, role_clients["technician"].token
    stats = {"id": "s", "command": "get_database_stats"}
    with open_ipc(server) as ws:
        answer = send_json(ws, {**stats, "args": {"session_token": admin}})
        assert answer["data"]["backend"] == server.backend
    with open_ipc(server, token=admin) as ws:
        assert send_json(ws, {**stats, "args": {}})["data"]["backend"] == server.backend
    with open_ipc(server, token=technician) as ws:  # args win over the URL
        assert send_json(ws, {**stats, "args": {"session_token": admin}})["success"] is True


@pytest.mark.parametrize("command", ["get_database_stats", "vacuum_database"])
def test_admin_commands_refuse_anonymous_and_technicians(
    server: LiveServer, role_clients: dict[str, IpcClient], command: str
) -> None:
    technician = role_clients["technician"].token
    before = snapshot(server.services)
    with open_ipc(server) as ws:
        error = error_of(send_json(ws, {"id": 1, "command": command, "args": {}}))
        assert error == {
            "message": "Authentication required: no session token",
            "code": "AUTH_SESSION_INVALID",
        }
        as_tech = {"id": 2, "command": command, "args": {"session_token": technician}}
        assert error_of(send_json(ws, as_tech)) == {
            "message": "The technician role may not do this",
            "code": "AUTH_FORBIDDEN",
            "details": {"role": "technician"},
        }
    with open_ipc(server, token=technician) as ws:
        url_token = send_json(ws, {"id": 3, "command": command, "args": {}})
        assert error_of(url_token)["code"] == "AUTH_FORBIDDEN"
    with open_ipc(server, token=role_clients["admin"].token) as ws:
        garbage = {"id": 4, "command": command, "args": {"session_token": "garbage"}}
        assert error_of(send_json(ws, garbage))["code"] == "AUTH_SESSION_INVALID"
    assert snapshot(server.services) == before


def test_bad_frames_are_answered_and_the_socket_stays_usable(server: LiveServer) -> None:
    with open_ipc(server) as ws:
        ws.send("this is not JSON")
        answer = receive_text(ws)
        assert answer["id"] is None
        error = error_of(answer)
        assert (error["message"], error["code"]) == (UNDECODABLE, "VALIDATION_ERROR")
        assert error["details"]["fields"][0]["field"] == "(frame)"
        no_command = send_json(ws, {"id": "x1", "args": {}})
        assert no_command["id"] == "x1"
        assert error_of(no_command) == {
            "message": BAD_FRAME,
            "code": "VALIDATION_ERROR",
            "details": {
                "fields": [{"field": "command", "message": "expected the command name as a string"}]
            },
        }
        not_a_name = send_json(ws, {"id": "x2", "command": 42, "args": {}})
        assert (not_a_name["id"], error_of(not_a_name)["code"]) == ("x2", "VALIDATION_ERROR")
        array = send_json(ws, [{"id": "x3", "command": "health_check"}])
        assert array["id"] is None
        assert error_of(array)["code"] == "VALIDATION_ERROR"
        list_args = send_json(ws, {"id": "x4", "command": "health_check", "args": [1]})
        assert list_args["id"] == "x4"
        assert error_of(list_args)["details"] == {
            "fields": [{"field": "(body)", "message": "expected an object"}]
        }
        ws.send(b"\xc1")  # a binary frame is answered in MessagePack, even when garbage
        reply = ws.recv(timeout=10)
        assert isinstance(reply, bytes)
        assert error_of(msgpack.unpackb(reply))["code"] == "VALIDATION_ERROR"
        after = send_json(ws, {"id": "ok", "command": "health_check", "args": {}})
        assert (after["id"], after["success"]) == ("ok", True)


def test_a_frame_that_is_not_an_object_names_the_offending_field(server: LiveServer) -> None:
    with open_ipc(server) as ws:
        error = error_of(send_json(ws, [1]))
    assert error.get("details", {}).get("fields"), error  # as HTTP: [{"field": "(body)", ...}]


def test_an_undecodable_binary_frame_is_answered_in_messagepack(server: LiveServer) -> None:
    with open_ipc(server) as ws:
        ws.send(b"\x82\xa5email")
        message = ws.recv(timeout=10)
    assert isinstance(message, bytes)
    assert msgpack.unpackb(message)["error"]["code"] == "VALIDATION_ERROR"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def logins_blocked(server: LiveServer) -> Iterator[None]:
    """Hold a lock that makes auth_login wait: the SQLite write lock (auth_login opens
    with BEGIN IMMEDIATE), or on PostgreSQL an exclusive lock on users."""
    engine = server.services.db.engine
    with engine.execution_options(rpma_write=True).connect() as conn:
        conn.begin()
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def test_hanging_up_with_requests_in_flight_is_not_a_server_error(
    server: LiveServer, admin: IpcClient
) -> None:
    wrong_login = {"email": "owner@shop.example", "password": "not-the-password"}
    collect = Collect()
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(collect)
    try:
        with logins_blocked(server), open_ipc(server) as ws:
            # One more than the server keeps in flight: it stops reading until a slot
            # frees, after the close below has reached it.
            for i in range(MAX_IN_FLIGHT + 1):
                ws.send(json.dumps({"id": i, "command": "auth_login", "args": wrong_login}))
        deadline = time.monotonic() + 3
        while not collect.records and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        uvicorn_log.removeHandler(collect)
    assert [r.getMessage() for r in collect.records] == []


# -- the SDK over the WebSocket -------------------------------------------------------
def test_sdk_signs_in_and_validates_over_the_socket(server: LiveServer, admin: IpcClient) -> None:
    with IpcClient(server.url, transport="ws") as client:
        login = client.auth.login("owner@shop.example", ADMIN_PASSWORD)
        assert client.token == login["access_token"]
        session = client.auth.validate_session()
        assert session["user"]["email"] == "owner@shop.example"
        assert session["expires_at"] == login["expires_at"]
        refused(
            server.services,
            lambda: client.auth.login("owner@shop.example", "wrong-password"),
            "AUTH_INVALID",
        )
    with IpcClient(server.url, transport="ws", encoding="msgpack", compression=True) as client:
        client.token = login["access_token"]
        with compression_threshold(server, 100):
            stats = client.call("get_database_stats")
        assert stats["tables"]["sessions"]["row_count"] == 2  # the fixture's and ours


def test_async_sdk_runs_30_calls_on_one_socket(server: LiveServer, admin: IpcClient) -> None:
    async def scenario() -> list[Any]:
        async with AsyncIpcClient(server.url, transport="ws") as client:
            await client.auth.login("owner@shop.example", ADMIN_PASSWORD)
            channel = client._channel
            calls = [
                client.call(["health_check", "get_app_info", "auth_validate_session"][i % 3])
                for i in range(27)
            ] + [client.call(f"missing_{i}") for i in range(3)]
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert client._channel is channel
            return results

    results = asyncio.run(scenario())
    assert len(results) == 30
    for i, result in enumerate(results[:27]):
        assert isinstance(result, dict)
        if i % 3 == 0:
            assert result["status"] == "healthy"
        elif i % 3 == 1:
            assert result["database_backend"] == server.backend
        else:
            assert result["user"]["email"] == "owner@shop.example"
    for error in results[27:]:
        assert isinstance(error, NotFoundError)
        assert error.code == "NOT_FOUND"


def test_account_commands_work_over_the_socket(server: LiveServer, admin: IpcClient) -> None:
    """The account, session and 2FA commands travel the WebSocket like any other."""
    with IpcClient(server.url, transport="ws", token=admin.token) as ws_client:
        users = ws_client.call("user_crud", {"action": "List"})
        assert [u["email"] for u in users["users"]] == ["owner@shop.example"]
        assert users["pagination"]["total"] == 1
        sessions = ws_client.call("get_active_sessions", {})
        assert [s["is_current"] for s in sessions] == [True]
        assert ws_client.call("is_2fa_enabled", {}) is False
        setup = ws_client.call("enable_2fa", {})
        assert len(setup["backup_codes"]) == 10
        assert ws_client.call("get_security_metrics", {})["active_sessions"] == 1
