"""POST /ipc/{command} over real HTTP (CONTRACT.md sections 1, 2 and 5): the envelope,
correlation ids, refused bodies, MessagePack, compression, OpenAPI, where the token is
read from, and a 500 that never leaks (the dispatcher called directly)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

import anyio
import httpx
import msgpack
import pytest
from sqlalchemy.exc import OperationalError

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.core.commands import Command, EmptyRequest, Registry, registry
from rpma.core.context import ClientInfo, CommandContext
from rpma.core.dispatch import CallMeta, Dispatcher, Outcome
from rpma.core.errors import ValidationFailed
from rpma.core.permissions import PUBLIC
from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.helpers import snapshot
from tests.transport import compression_threshold

GENERATED_ID = re.compile(r"^req_[0-9a-f]{16}$")
MSGPACK = "application/msgpack"
BODY_NOT_AN_OBJECT = {"fields": [{"field": "(body)", "message": "expected an object"}]}


def post(server: LiveServer, command: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/ipc/{command}", timeout=30, **kwargs)


def assert_success(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"success", "data", "correlation_id", "timestamp"}
    assert body["success"] is True
    assert type(body["timestamp"]) is int
    assert abs(body["timestamp"] - clock.now_ms()) < 5000
    return body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"success", "error", "correlation_id", "timestamp"}
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert set(body["error"]) <= {"message", "code", "details"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert "stack_trace" not in response.text
    assert abs(body["timestamp"] - clock.now_ms()) < 5000
    return body


def test_success_envelope_has_exactly_the_seed_fields(server: LiveServer) -> None:
    body = assert_success(post(server, "get_app_info", json={}))
    assert GENERATED_ID.match(body["correlation_id"])
    assert body["data"]["name"] == "RPMA"
    assert body["data"]["database_backend"] == server.backend


def test_errors_use_the_seed_status_mapping(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    technician = role_clients["technician"].token
    cases: list[tuple[str, dict[str, Any], dict[str, str], int, str, str]] = [
        ("no_such_command", {}, {}, 404, "NOT_FOUND", "Unknown command 'no_such_command'"),
        ("auth_login", {"email": "x@shop.example"}, {}, 400, "VALIDATION_ERROR",
         "password: Field required"),
        ("auth_login", {"email": "owner@shop.example", "password": "wrong-password"}, {},
         401, "AUTH_INVALID", "Invalid email or password"),
        ("vacuum_database", {}, {}, 401, "AUTH_SESSION_INVALID",
         "Authentication required: no session token"),
        ("vacuum_database", {}, {"Authorization": "Bearer not-a-token"}, 401,
         "AUTH_SESSION_INVALID", "Invalid session token"),
        ("vacuum_database", {}, {"Authorization": f"Bearer {technician}"}, 403,
         "AUTH_FORBIDDEN", "The technician role may not do this"),
    ]  # fmt: skip
    before = snapshot(server.services)
    for command, body, headers, status, code, message in cases:
        error = assert_error(post(server, command, json=body, headers=headers), status, code)
        assert error["error"]["message"] == message
    assert snapshot(server.services) == before


def test_correlation_id_comes_from_the_body_then_the_header(server: LiveServer) -> None:
    header = {"X-Correlation-ID": "from-header"}
    both = post(server, "health_check", json={"correlation_id": "from-body"}, headers=header)
    assert assert_success(both)["correlation_id"] == "from-body"
    assert assert_success(post(server, "health_check", headers=header))["correlation_id"] == (
        "from-header"
    )
    generated = assert_success(post(server, "health_check"))["correlation_id"]
    assert GENERATED_ID.match(generated)
    too_long = post(server, "health_check", json={"correlation_id": "x" * 129})
    assert GENERATED_ID.match(assert_success(too_long)["correlation_id"])


def test_correlation_id_is_echoed_on_errors(server: LiveServer) -> None:
    unknown = post(
        server, "nope", json={"correlation_id": "c-1"}, headers={"X-Correlation-ID": "h"}
    )
    assert assert_error(unknown, 404, "NOT_FOUND")["correlation_id"] == "c-1"
    headers = {"X-Correlation-ID": "c-2", "Content-Type": "application/json"}
    malformed = post(server, "auth_login", content=b'{"email":', headers=headers)
    assert assert_error(malformed, 400, "VALIDATION_ERROR")["correlation_id"] == "c-2"
    invalid = post(server, "auth_login", json={"correlation_id": "c-3"})
    assert assert_error(invalid, 400, "VALIDATION_ERROR")["correlation_id"] == "c-3"
    assert GENERATED_ID.match(
        assert_error(post(server, "nope"), 404, "NOT_FOUND")["correlation_id"]
    )


def test_unknown_command_is_not_found(server: LiveServer) -> None:
    error = assert_error(post(server, "drop_all_tables", json={}), 404, "NOT_FOUND")["error"]
    assert error == {
        "message": "Unknown command 'drop_all_tables'",
        "code": "NOT_FOUND",
        "details": {"command": "drop_all_tables"},
    }


@pytest.mark.parametrize("body", [b"[1]", b'"x"', b"3", b"null", b"true"])
def test_a_body_that_is_not_an_object_is_refused(server: LiveServer, body: bytes) -> None:
    response = post(
        server, "auth_login", content=body, headers={"Content-Type": "application/json"}
    )
    error = assert_error(response, 400, "VALIDATION_ERROR")["error"]
    assert error["message"] == "The request body must be a JSON or MessagePack object"
    assert error["details"] == BODY_NOT_AN_OBJECT


def test_malformed_json_is_a_validation_error(server: LiveServer) -> None:
    response = post(server, "auth_login", content=b'{"email": "a@b.c",', headers={})
    error = assert_error(response, 400, "VALIDATION_ERROR")["error"]
    assert error["message"] == "The request body is not valid JSON"
    assert [f["field"] for f in error["details"]["fields"]] == ["(body)"]


@pytest.mark.parametrize("content_type", ["application/json", MSGPACK, ""])
def test_an_empty_body_is_accepted_for_a_void_request(
    server: LiveServer, content_type: str
) -> None:
    response = post(server, "health_check", content=b"", headers={"Content-Type": content_type})
    assert assert_success(response)["data"]["status"] == "healthy"


def test_a_field_of_the_wrong_type_is_named(server: LiveServer, admin: IpcClient) -> None:
    before = snapshot(server.services)
    response = post(server, "auth_login", json={"email": "owner@shop.example", "password": 123})
    error = assert_error(response, 400, "VALIDATION_ERROR")["error"]
    assert error["message"] == "password: Input should be a valid string"
    assert error["details"] == {
        "fields": [
            {
                "field": "password",
                "message": "Input should be a valid string",
                "type": "string_type",
            }
        ]
    }
    assert snapshot(server.services) == before


def test_every_missing_field_is_named(server: LiveServer) -> None:
    error = assert_error(post(server, "auth_login", json={}), 400, "VALIDATION_ERROR")["error"]
    assert error["message"] == "2 fields are invalid: email, password"
    assert [(f["field"], f["type"]) for f in error["details"]["fields"]] == [
        ("email", "missing"),
        ("password", "missing"),
    ]


@pytest.mark.parametrize(
    ("send_msgpack", "accept_msgpack"), [(True, True), (False, True), (True, False)]
)
def test_messagepack_in_and_out(
    server: LiveServer, admin: IpcClient, send_msgpack: bool, accept_msgpack: bool
) -> None:
    args = {"email": "owner@shop.example", "password": ADMIN_PASSWORD}
    headers = {"Content-Type": MSGPACK if send_msgpack else "application/json"}
    if accept_msgpack:
        headers["Accept"] = MSGPACK
    content = msgpack.packb(args) if send_msgpack else json.dumps(args).encode()
    response = post(server, "auth_login", content=content, headers=headers)
    assert response.status_code == 200
    if accept_msgpack:
        assert response.headers["content-type"] == MSGPACK
        body = msgpack.unpackb(response.content)
    else:
        body = assert_success(response)
    assert set(body) == {"success", "data", "correlation_id", "timestamp"}
    assert body["success"] is True
    assert body["data"]["user"]["email"] == "owner@shop.example"
    validated = post(server, "auth_validate_session", json={"token": body["data"]["access_token"]})
    assert assert_success(validated)["data"]["user"]["role"] == "admin"


def test_messagepack_errors_come_back_in_messagepack(server: LiveServer) -> None:
    headers = {"Content-Type": MSGPACK, "Accept": MSGPACK}
    response = post(server, "nope", content=msgpack.packb({}), headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == MSGPACK
    body = msgpack.unpackb(response.content)
    assert body["error"] == {
        "message": "Unknown command 'nope'",
        "code": "NOT_FOUND",
        "details": {"command": "nope"},
    }


@pytest.mark.parametrize("content", [b"\xc1", b"\x82\xa5email", b"\x01\x02"])
def test_malformed_messagepack_is_a_validation_error(server: LiveServer, content: bytes) -> None:
    response = post(server, "auth_login", content=content, headers={"Content-Type": MSGPACK})
    error = assert_error(response, 400, "VALIDATION_ERROR")["error"]
    assert error["message"] == "The request body is not valid MessagePack"
    assert [f["field"] for f in error["details"]["fields"]] == ["(body)"]


def decompress(data: str) -> Any:
    return json.loads(gzip.decompress(base64.b64decode(data, validate=True)))


def test_compressed_envelope_over_the_threshold(server: LiveServer) -> None:
    plain = assert_success(post(server, "get_app_info"))["data"]
    size = len(json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode())
    gzip_header = {"X-IPC-Compression": "gzip"}
    with compression_threshold(server, size - 1):
        response = post(server, "get_app_info", headers=gzip_header)
        body = response.json()
        assert set(body) == {"success", "compressed", "data", "correlation_id", "timestamp"}
        assert body["compressed"] is True
        assert decompress(body["data"]) == plain
        # Without the header, the same answer travels as it is.
        assert assert_success(post(server, "get_app_info"))["data"] == plain
        packed = post(server, "get_app_info", headers={**gzip_header, "Accept": MSGPACK})
        unpacked = msgpack.unpackb(packed.content)
        assert unpacked["compressed"] is True
        assert decompress(unpacked["data"]) == plain
    with compression_threshold(server, size):  # "over" the threshold, not at it
        assert assert_success(post(server, "get_app_info", headers=gzip_header))["data"] == plain


def test_small_answers_are_not_compressed_by_default(server: LiveServer) -> None:
    assert server.services.settings.compression_threshold_bytes == 1024
    response = post(server, "health_check", headers={"X-IPC-Compression": "gzip"})
    assert assert_success(response)["data"]["status"] == "healthy"


def test_ordinary_http_gzip(server: LiveServer) -> None:
    zipped = httpx.get(f"{server.url}/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    identity = httpx.get(f"{server.url}/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in identity.headers
    assert zipped.json() == identity.json()


def test_openapi_documents_every_command(server: LiveServer) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    schemas = document["components"]["schemas"]
    ipc_paths = {path for path in document["paths"] if path.startswith("/ipc/")}
    assert ipc_paths == {f"/ipc/{name}" for name in registry.names()}
    for name in registry.names():
        operation = document["paths"][f"/ipc/{name}"]["post"]
        assert operation["operationId"] == name
        for media_type in ("application/json", MSGPACK):
            ref = operation["requestBody"]["content"][media_type]["schema"]["$ref"]
            assert ref.startswith("#/components/schemas/")
            assert ref.removeprefix("#/components/schemas/") in schemas
        assert "200" in operation["responses"]


def test_token_from_header_or_body_and_the_body_wins(server: LiveServer, admin: IpcClient) -> None:
    token = admin.token
    valid_header = {"Authorization": f"Bearer {token}"}
    assert_success(post(server, "get_database_stats", headers=valid_header))
    lower_case = {"Authorization": f"bearer {token}"}
    assert_success(post(server, "get_database_stats", headers=lower_case))
    in_body = post(server, "get_database_stats", json={"session_token": token})
    assert assert_success(in_body)["data"]["backend"] == server.backend
    garbage_header = {"Authorization": "Bearer garbage"}
    body_wins = post(
        server, "get_database_stats", json={"session_token": token}, headers=garbage_header
    )
    assert assert_success(body_wins)["data"]["backend"] == server.backend
    before = snapshot(server.services)
    still_body = post(
        server, "vacuum_database", json={"session_token": "garbage"}, headers=valid_header
    )
    assert_error(still_body, 401, "AUTH_SESSION_INVALID")
    assert snapshot(server.services) == before


# -- a 500 never leaks (the dispatcher directly: no real command fails that way) --------
def failing_dispatcher(server: LiveServer, error: Exception) -> Dispatcher:
    def explode(_ctx: CommandContext, _req: object) -> None:
        raise error

    commands = Registry()
    commands.add(
        Command(
            name="explode", handler=explode, request=EmptyRequest, response=None, permission=PUBLIC
        )
    )
    return Dispatcher(server.services, commands=commands)


def dispatch(dispatcher: Dispatcher) -> Outcome:
    meta = CallMeta(client=ClientInfo(ip_address="127.0.0.1"), correlation_id="corr-500")
    return anyio.run(dispatcher.dispatch, "explode", {}, meta)


def test_an_unexpected_exception_is_a_generic_500(server: LiveServer) -> None:
    dispatcher = failing_dispatcher(server, RuntimeError("secret path /etc/x"))
    outcome = dispatch(dispatcher)
    assert outcome.status == 500
    assert outcome.body == {
        "success": False,
        "error": {"message": "Internal server error", "code": "INTERNAL_ERROR"},
        "correlation_id": "corr-500",
        "timestamp": outcome.body["timestamp"],
    }
    assert "secret" not in json.dumps(outcome.body)
    assert "/etc/x" not in json.dumps(outcome.body)
    settings = server.services.settings
    previous, settings.debug = settings.debug, True
    try:
        debug = dispatch(dispatcher).body["error"]
    finally:
        settings.debug = previous
    assert debug["message"] == "Internal server error"
    assert debug["code"] == "INTERNAL_ERROR"
    assert "RuntimeError: secret path /etc/x" in debug["stack_trace"]


def test_a_database_failure_does_not_leak_sql(server: LiveServer) -> None:
    error = OperationalError("SELECT password_hash FROM users", {}, Exception("/var/db locked"))
    outcome = dispatch(failing_dispatcher(server, error))
    assert outcome.status == 500
    assert outcome.body["error"] == {
        "message": "Database connection failed",
        "code": "DATABASE_CONNECTION",
    }
    assert "password_hash" not in json.dumps(outcome.body)


@pytest.mark.parametrize("fails", [True, False])
def test_rollback_hooks_undo_outside_work_only_when_nothing_commits(
    server: LiveServer, fails: bool
) -> None:
    """Files written by a command are removed when its transaction does not commit,
    whatever the failure; on success they stay."""
    undone: list[str] = []

    def write_then_maybe_fail(ctx: CommandContext, _req: object) -> str:
        ctx.on_rollback(lambda: undone.append("removed"))
        if fails:
            raise ValidationFailed(message="refused after writing")
        return "kept"

    commands = Registry()
    commands.add(
        Command(
            name="writes",
            handler=write_then_maybe_fail,
            request=EmptyRequest,
            response=None,
            permission=PUBLIC,
        )
    )
    meta = CallMeta(client=ClientInfo(ip_address="127.0.0.1"))
    outcome = anyio.run(Dispatcher(server.services, commands=commands).dispatch, "writes", {}, meta)
    assert outcome.status == (400 if fails else 200)
    assert undone == (["removed"] if fails else [])
