"""The clients' request building and token handling, against in-memory fakes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from rpma.client import (
    AsyncIpcClient,
    IpcClient,
    NotFoundError,
    RateLimitError,
    TransportError,
)
from rpma.client import aio as aio_module
from rpma.client import sync as sync_module
from rpma.client._ws import encode_frame, with_session_token, ws_url
from rpma.client.codec import pack, unpack

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "http://rpma.test"
LOGIN = {"access_token": "at1", "refresh_token": "rt1", "user": {"id": "u1"}, "expires_at": 1}


def _ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "correlation_id": "req_1", "timestamp": 1}


class Recorder:
    """An httpx handler that answers from a table and remembers what it saw."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.answers = answers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        command = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json=_ok(self.answers.get(command)))

    def body(self, index: int = -1) -> Any:
        request = self.requests[index]
        if request.headers["content-type"] == "application/msgpack":
            return unpack(request.content)
        return json.loads(request.content)


def _tokens(client: IpcClient) -> tuple[str | None, str | None]:
    # Read through a function so mypy does not keep the narrowing from assignments.
    return client.token, client.refresh_token


def _sync_client(handler: Handler, **kwargs: Any) -> IpcClient:
    client = IpcClient(BASE, **kwargs)
    client._http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(handler))
    return client


# -- sync over HTTP --------------------------------------------------------


def test_call_posts_json_to_the_command_path() -> None:
    recorder = Recorder({"health_check": {"status": "healthy"}})
    with _sync_client(recorder) as client:
        assert client.system.health_check() == {"status": "healthy"}
    request = recorder.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/ipc/health_check"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert "x-ipc-compression" not in request.headers
    assert recorder.body() == {}


def test_login_stores_tokens_and_later_calls_send_bearer() -> None:
    recorder = Recorder({"auth_login": LOGIN})
    with _sync_client(recorder) as client:
        assert client.auth.login("a@b.co", "Secret123!") == LOGIN
        assert (client.token, client.refresh_token) == ("at1", "rt1")
        client.system.database_stats()
    assert recorder.body(0) == {"email": "a@b.co", "password": "Secret123!"}
    assert recorder.requests[1].headers["authorization"] == "Bearer at1"
    assert "session_token" not in recorder.body(1)


def test_2fa_challenge_is_not_a_session_until_verified() -> None:
    challenge = {"requires_2fa": True, "challenge_token": "ch1", "expires_at": 1}
    recorder = Recorder({"auth_login": challenge, "verify_2fa_code": LOGIN})
    with _sync_client(recorder) as client:
        client.auth.login("a@b.co", "Secret123!")
        assert client.token is None
        client.auth.verify_2fa_code("123456", session_token="ch1")
        assert client.token == "at1"
    assert recorder.body() == {"code": "123456", "session_token": "ch1"}


def test_reverify_answering_true_keeps_tokens() -> None:
    recorder = Recorder({"verify_2fa_code": True})
    with _sync_client(recorder, token="at0") as client:
        assert client.auth.verify_2fa_code("123456") is True
        assert client.token == "at0"


def test_logout_sends_token_and_forgets_it() -> None:
    recorder = Recorder()
    with _sync_client(recorder, token="at1") as client:
        client.refresh_token = "rt1"
        client.auth.logout()
        assert _tokens(client) == (None, None)
    assert recorder.body() == {"token": "at1"}


def test_refresh_and_validate_default_to_the_clients_tokens() -> None:
    new_pair = {"access_token": "at2", "refresh_token": "rt2", "expires_at": 2}
    recorder = Recorder({"auth_refresh_token": new_pair})
    with _sync_client(recorder, token="at1") as client:
        client.refresh_token = "rt1"
        client.auth.validate_session()
        client.auth.refresh_token()
        assert (client.token, client.refresh_token) == ("at2", "rt2")
    assert recorder.body(0) == {"token": "at1"}
    assert recorder.body(1) == {"refresh_token": "rt1"}


def test_create_account_logs_in_only_without_a_session() -> None:
    recorder = Recorder({"auth_create_account": LOGIN})
    with _sync_client(recorder) as client:
        client.auth.create_account("a@b.co", "Ada", "Admin", "Secret123!")
        assert client.token == "at1"
    assert recorder.body() == {
        "email": "a@b.co",
        "first_name": "Ada",
        "last_name": "Admin",
        "password": "Secret123!",
    }
    with _sync_client(recorder, token="admin") as client:
        client.auth.create_account("t@b.co", "Tom", "Tech", "Secret123!", role="technician")
        assert client.token == "admin"
        client.auth.create_account("v@b.co", "Vi", "View", "Secret123!", log_in=True)
        assert client.token == "at1"


def test_users_crud_sends_action_and_data() -> None:
    recorder = Recorder()
    with _sync_client(recorder, token="at1") as client:
        client.users.crud("ChangeRole", {"id": "u2", "role": "viewer"})
        client.users.crud("List", pagination={"page": 1, "page_size": 50})
    assert recorder.body(0) == {"action": "ChangeRole", "data": {"id": "u2", "role": "viewer"}}
    assert recorder.body(1) == {"action": "List", "pagination": {"page": 1, "page_size": 50}}


def test_msgpack_and_compression_headers() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/msgpack"
        assert request.headers["x-ipc-compression"] == "gzip"
        assert unpack(request.content) == {"id": "x", "blob": b"\x00"}
        body = pack(_ok({"echo": b"\x01"}))
        return httpx.Response(200, content=body, headers={"content-type": "application/msgpack"})

    with _sync_client(handler, encoding="msgpack", compression=True) as client:
        assert client.call("anything", {"id": "x", "blob": b"\x00"}) == {"echo": b"\x01"}


def test_error_status_and_retry_after_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"success": False, "error": {"code": "RATE_LIMIT", "message": "slow"}}
        return httpx.Response(429, json=error, headers={"Retry-After": "42"})

    with _sync_client(handler) as client, pytest.raises(RateLimitError) as info:
        client.auth.login("a@b.co", "x")
    assert (info.value.status, info.value.retry_after) == (429, 42.0)


def test_connection_failure_is_transport_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _sync_client(handler) as client, pytest.raises(TransportError, match="refused"):
        client.call("health_check")


def test_args_are_not_mutated() -> None:
    args = {"task_id": "t1"}
    with _sync_client(Recorder(), token="at1", transport="http") as client:
        client.call("task_get_history", args)
    assert args == {"task_id": "t1"}


@pytest.mark.parametrize(("kwarg", "value"), [("transport", "grpc"), ("encoding", "xml")])
def test_unknown_transport_or_encoding_is_refused(kwarg: str, value: str) -> None:
    options: dict[str, Any] = {kwarg: value}
    with pytest.raises(ValueError, match=kwarg):
        IpcClient(BASE, **options)


# -- WebSocket frames ------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:8000", "ws://127.0.0.1:8000/ipc"),
        ("https://shop.example/rpma/", "wss://shop.example/rpma/ipc"),
        ("ws://h:1", "ws://h:1/ipc"),
    ],
)
def test_ws_url(base: str, expected: str) -> None:
    assert ws_url(base) == expected


def test_ws_url_refuses_other_schemes() -> None:
    with pytest.raises(ValueError, match="scheme"):
        ws_url("ftp://h")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, {"session_token": "at1"}),
        ({"session_token": "ch1"}, {"session_token": "ch1"}),
        ({"token": "other"}, {"token": "other"}),
    ],
)
def test_ws_token_goes_into_args_unless_given(
    args: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert with_session_token(args, "at1") == expected
    assert with_session_token(args, None) == args


def test_ws_frame_encodings() -> None:
    text = encode_frame(3, "health_check", {}, token=None, msgpack=False, compression=True)
    assert isinstance(text, str)
    assert json.loads(text) == {
        "id": 3,
        "command": "health_check",
        "args": {},
        "compression": "gzip",
    }
    binary = encode_frame(4, "x", {"a": 1}, token="t", msgpack=True, compression=False)
    assert isinstance(binary, bytes)
    assert unpack(binary) == {"id": 4, "command": "x", "args": {"a": 1, "session_token": "t"}}


class FakeSyncConn:
    def __init__(self, stale: list[str]) -> None:
        self.inbox = list(stale)
        self.sent: list[str | bytes] = []

    def send(self, frame: str | bytes) -> None:
        self.sent.append(frame)
        request = json.loads(frame)
        data = {"args": request["args"]}
        self.inbox.append(json.dumps({"id": request["id"], **_ok(data)}))

    def recv(self, timeout: float | None = None) -> str:
        if not self.inbox:
            raise TimeoutError
        return self.inbox.pop(0)

    def close(self) -> None:
        self.inbox.clear()

    def __enter__(self) -> FakeSyncConn:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def test_sync_ws_skips_stale_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    stale = json.dumps({"id": 999, **_ok("stale")})
    conn = FakeSyncConn([stale])
    monkeypatch.setattr(sync_module, "connect", lambda *a, **k: conn)
    with IpcClient(BASE, transport="ws", token="at1") as client:
        assert client.call("is_2fa_enabled") == {"args": {"session_token": "at1"}}
        assert client.call("x", {"token": "t"}) == {"args": {"token": "t"}}


def test_sync_ws_timeout_is_transport_error(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = FakeSyncConn([])
    conn.send = lambda frame: None  # type: ignore[method-assign]
    monkeypatch.setattr(sync_module, "connect", lambda *a, **k: conn)
    with (
        IpcClient(BASE, transport="ws", timeout=0.05) as client,
        pytest.raises(TransportError, match="no answer"),
    ):
        client.call("health_check")


# -- async -----------------------------------------------------------------


def test_async_http_namespace_is_awaitable_and_keeps_tokens() -> None:
    recorder = Recorder({"auth_login": LOGIN})

    async def scenario() -> None:
        async with AsyncIpcClient(BASE) as client:
            client._http = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(recorder))
            assert await client.auth.login("a@b.co", "Secret123!") == LOGIN
            assert client.token == "at1"
            await client.system.app_info()

    asyncio.run(scenario())
    assert recorder.requests[1].url.path == "/ipc/get_app_info"
    assert recorder.requests[1].headers["authorization"] == "Bearer at1"


class FakeAsyncConn:
    """Holds requests until `batch` have arrived, then answers them in reverse."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.held: list[dict[str, Any]] = []
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()

    async def send(self, frame: str | bytes) -> None:
        self.held.append(json.loads(frame))
        if len(self.held) == self.batch:
            for request in reversed(self.held):
                if request["command"] == "missing":
                    answer = {"success": False, "error": {"code": "NOT_FOUND", "message": "?"}}
                else:
                    answer = _ok(request["args"])
                await self.inbox.put(json.dumps({"id": request["id"], **answer}))

    async def __aiter__(self) -> AsyncIterator[str]:
        while (message := await self.inbox.get()) is not None:
            yield message

    async def close(self) -> None:
        await self.inbox.put(None)


def test_async_ws_matches_out_of_order_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> tuple[Any, ...]:
        conn = FakeAsyncConn(batch=3)

        async def fake_connect(*args: Any, **kwargs: Any) -> FakeAsyncConn:
            return conn

        monkeypatch.setattr(aio_module, "connect", fake_connect)
        async with AsyncIpcClient(BASE, transport="ws", token="at1") as client:
            return tuple(
                await asyncio.gather(
                    client.call("a", {"n": 1}),
                    client.call("b", {"n": 2}),
                    client.call("missing"),
                    return_exceptions=True,
                )
            )

    first, second, third = asyncio.run(scenario())
    assert first == {"n": 1, "session_token": "at1"}
    assert second == {"n": 2, "session_token": "at1"}
    assert isinstance(third, NotFoundError)


def test_async_ws_close_fails_waiting_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        conn = FakeAsyncConn(batch=99)

        async def fake_connect(*args: Any, **kwargs: Any) -> FakeAsyncConn:
            return conn

        monkeypatch.setattr(aio_module, "connect", fake_connect)
        async with AsyncIpcClient(BASE, transport="ws") as client:
            pending = asyncio.create_task(client.call("health_check"))
            await asyncio.sleep(0.01)
            await conn.close()
            with pytest.raises(TransportError, match="closed"):
                await pending

    asyncio.run(scenario())
