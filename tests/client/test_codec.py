"""Envelope decoding and error mapping: pure functions, no server."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from rpma.client import (
    AuthenticationError,
    ConflictError,
    InterventionError,
    IpcError,
    NotFoundError,
    NotImplementedByServerError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from rpma.client.codec import (
    decode_body,
    decode_compressed,
    pack,
    parse_retry_after,
    unpack,
    unwrap,
)
from rpma.client.errors import error_class, error_from_envelope


def _ok(data: Any, **extra: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "correlation_id": "req_1", "timestamp": 1, **extra}


def _err(code: str, message: str = "nope", details: Any = None) -> dict[str, Any]:
    error = {"code": code, "message": message, "details": details}
    return {"success": False, "error": error, "correlation_id": "req_9", "timestamp": 1}


def _compress(data: Any) -> str:
    return base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()


# -- success ---------------------------------------------------------------


@pytest.mark.parametrize("data", [{"id": "t1", "status": "scheduled"}, [1, 2], "ok", True, None])
def test_plain_success_returns_data(data: Any) -> None:
    assert unwrap(_ok(data)) == data


def test_success_without_data_is_none() -> None:
    assert unwrap({"success": True, "timestamp": 1}) is None


def test_compressed_success_is_decoded() -> None:
    data = {"tasks": [{"id": str(i), "title": "PPF " * 50} for i in range(20)]}
    assert unwrap(_ok(_compress(data), compressed=True)) == data


def test_compressed_raw_bytes_from_msgpack_are_decoded() -> None:
    data = {"total": 3}
    assert decode_compressed(gzip.compress(json.dumps(data).encode())) == data


def test_compressed_false_leaves_string_data_alone() -> None:
    assert unwrap(_ok("aGVsbG8=", compressed=False)) == "aGVsbG8="


@pytest.mark.parametrize("bad", ["not base64!!", base64.b64encode(b"not gzip").decode(), 42])
def test_corrupt_compressed_payload_is_transport_error(bad: Any) -> None:
    with pytest.raises(TransportError, match="corrupt compressed payload"):
        unwrap(_ok(bad, compressed=True))


@pytest.mark.parametrize("body", [None, [], "oops", {"data": 1}, {"success": "yes"}])
def test_non_envelope_is_transport_error(body: Any) -> None:
    with pytest.raises(TransportError) as info:
        unwrap(body, status=502)
    assert info.value.code == "NETWORK_ERROR"
    assert info.value.status == 502


# -- errors ----------------------------------------------------------------


def test_error_carries_envelope_fields() -> None:
    with pytest.raises(NotFoundError) as info:
        unwrap(_err("NOT_FOUND_TASK", "Task not found", {"task_id": "t1"}), status=404)
    err = info.value
    assert (err.code, err.message, err.status) == ("NOT_FOUND_TASK", "Task not found", 404)
    assert err.details == {"task_id": "t1"}
    assert err.correlation_id == "req_9"
    assert str(err) == "NOT_FOUND_TASK: Task not found"


def test_malformed_error_object_still_raises_ipc_error() -> None:
    with pytest.raises(ServerError) as info:
        unwrap({"success": False, "error": "boom"})
    assert info.value.code == "UNKNOWN_ERROR"


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "AUTH_INVALID", AuthenticationError),
        (401, "AUTH_SESSION_EXPIRED", AuthenticationError),
        (403, "AUTH_FORBIDDEN", PermissionDeniedError),
        (400, "VALIDATION_ERROR", RequestValidationError),
        (400, "2FA_INVALID_CODE", RequestValidationError),
        (400, "SOMETHING_ELSE", RequestValidationError),
        (400, "INTERVENTION_ALREADY_ACTIVE", InterventionError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "INTERVENTION_CONCURRENT_MODIFICATION", ConflictError),
        (429, "RATE_LIMIT", RateLimitError),
        (500, "DATABASE_ERROR", ServerError),
        (500, "NETWORK_ERROR", ServerError),
        (503, "INTERNAL_ERROR", ServerError),
        (501, "NOT_IMPLEMENTED", NotImplementedByServerError),
        (422, "UNHEARD_OF", RequestValidationError),
        (422, "NOT_FOUND_USER", NotFoundError),
    ],
)
def test_error_class_by_status(status: int, code: str, cls: type[IpcError]) -> None:
    with pytest.raises(cls) as info:
        unwrap(_err(code), status=status)
    assert type(info.value) is cls
    assert info.value.status == status


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("AUTH_FORBIDDEN", PermissionDeniedError),
        ("AUTH_INVALID", AuthenticationError),
        ("AUTH_SESSION_INVALID", AuthenticationError),
        ("VALIDATION_ERROR", RequestValidationError),
        ("VALIDATION_EMAIL_TAKEN", RequestValidationError),
        ("2FA_ALREADY_ENABLED", RequestValidationError),
        ("NOT_FOUND", NotFoundError),
        ("NOT_FOUND_INTERVENTION", NotFoundError),
        ("RATE_LIMIT", RateLimitError),
        ("INTERVENTION_CONCURRENT_MODIFICATION", ConflictError),
        ("INTERVENTION_STEP_OUT_OF_ORDER", InterventionError),
        ("INTERVENTION_INVALID_STATE", InterventionError),
        ("NOT_IMPLEMENTED", NotImplementedByServerError),
        ("DATABASE_ERROR", ServerError),
        ("INTERNAL_ERROR", ServerError),
    ],
)
def test_error_class_by_code_without_status(code: str, cls: type[IpcError]) -> None:
    with pytest.raises(cls) as info:
        unwrap(_err(code))
    assert type(info.value) is cls
    assert info.value.status is None


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AUTH_INVALID", 401),
        ("AUTH_FORBIDDEN", 403),
        ("VALIDATION_PASSWORD_WEAK", 400),
        ("2FA_INVALID_CODE", 400),
        ("NOT_FOUND_CLIENT", 404),
        ("RATE_LIMIT", 429),
        ("INTERVENTION_TIMEOUT", 400),
        ("INTERVENTION_CONCURRENT_MODIFICATION", 409),
        ("DATABASE_CONNECTION", 500),
        ("NOT_IMPLEMENTED", 501),
    ],
)
def test_http_and_websocket_agree(code: str, status: int) -> None:
    assert error_class(code, status) is error_class(code, None)


def test_success_status_with_failed_envelope_falls_back_to_code() -> None:
    assert error_class("AUTH_FORBIDDEN", 200) is PermissionDeniedError


def test_intervention_error_is_a_validation_error() -> None:
    with pytest.raises(RequestValidationError):
        unwrap(_err("INTERVENTION_ALREADY_ACTIVE"), status=400)


def test_rate_limit_keeps_retry_after() -> None:
    with pytest.raises(RateLimitError) as info:
        unwrap(_err("RATE_LIMIT"), status=429, retry_after=12.0)
    assert info.value.retry_after == 12.0


def test_rate_limit_retry_after_from_details_when_no_header() -> None:
    err = error_from_envelope({"code": "RATE_LIMIT", "details": {"retry_after": 7}}, None, None)
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 7.0


def test_rate_limit_without_hint() -> None:
    err = error_from_envelope({"code": "RATE_LIMIT", "message": "slow down"}, 429, "req_2")
    assert isinstance(err, RateLimitError)
    assert err.retry_after is None
    assert err.correlation_id == "req_2"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("30", 30.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Wed, 01 Jan 2025 00:01:00 GMT", 60.0),
        ("Tue, 31 Dec 2024 00:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == expected


def test_transport_error_shape() -> None:
    err = TransportError("connection refused")
    assert err.code == "NETWORK_ERROR"
    assert str(err) == "NETWORK_ERROR: connection refused"
    assert isinstance(err, IpcError)


# -- bodies ----------------------------------------------------------------


def test_msgpack_round_trip_keeps_bytes_and_str_apart() -> None:
    obj = {"name": "hood.jpg", "data": b"\x00\xff", "n": [1, 2.5, None, True]}
    assert unpack(pack(obj)) == obj


def test_decode_body_by_content_type() -> None:
    envelope = _ok({"a": 1})
    assert decode_body(pack(envelope), "application/msgpack") == envelope
    assert decode_body(json.dumps(envelope).encode(), "application/json") == envelope
    assert decode_body(json.dumps(envelope).encode(), None) == envelope


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"<html>Bad Gateway</html>", "text/html"), (b"\xc1", "application/msgpack"), (b"", None)],
)
def test_undecodable_body_is_transport_error(content: bytes, content_type: str | None) -> None:
    with pytest.raises(TransportError, match="not an RPMA envelope"):
        decode_body(content, content_type, status=502)
