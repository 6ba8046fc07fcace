"""GET /ws: live updates pushed to signed-in clients (CONTRACT.md 6, docs/LIVE.md).

The token comes as ``?token=`` or in a first frame ``{"type": "auth", "token": ...}``
(preferred: a query string ends up in access logs). A reconnecting client adds
``last_event_id`` (and the ``stream`` of its welcome) to get what it missed. A refused
connection is accepted, then closed with a code and a reason that says why, so that
every client library can show it (a refused upgrade would only say 403).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from rpma.core.context import Principal
from rpma.core.errors import AppError
from rpma.live.config import CLOSE_AUTH, CLOSE_TIMEOUT
from rpma.live.connection import GONE, Connection
from rpma.live.hub import LiveHub, Resume

AUTH_HINT = 'send ?token=<access_token> or a first frame {"type": "auth", "token": ...}'


class Refused(Exception):
    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code, self.reason = code, reason[:120]


@dataclass(frozen=True)
class Login:
    principal: Principal
    token: str
    resume: Resume | None


def resume_from(values: dict[str, Any]) -> Resume | None:
    raw = values.get("last_event_id")
    if raw is None or raw == "":
        return None
    try:
        last = int(raw)
    except (TypeError, ValueError):
        raise Refused(CLOSE_AUTH, "VALIDATION_ERROR: last_event_id must be an integer") from None
    stream = values.get("stream")
    return Resume(max(last, 0), str(stream) if stream else None)


async def first_frame(websocket: WebSocket, hub: LiveHub) -> dict[str, Any]:
    try:
        message = await asyncio.wait_for(websocket.receive(), hub.config.auth_timeout_seconds)
    except TimeoutError:
        seconds = hub.config.auth_timeout_seconds
        raise Refused(CLOSE_TIMEOUT, f"AUTH_TIMEOUT: no auth frame within {seconds:g} s") from None
    if message["type"] == "websocket.disconnect":
        raise Refused(None)
    try:
        frame = json.loads(message.get("text") or "")
    except ValueError:
        frame = None
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        raise Refused(CLOSE_AUTH, f"AUTH_REQUIRED: {AUTH_HINT}")
    return frame


async def authenticate(websocket: WebSocket, hub: LiveHub) -> Login:
    params: dict[str, Any] = dict(websocket.query_params)
    if not params.get("token"):
        params = {**params, **await first_frame(websocket, hub)}
    token = params.get("token")
    if not isinstance(token, str) or not token:
        raise Refused(CLOSE_AUTH, f"AUTH_REQUIRED: {AUTH_HINT}")
    resume = resume_from(params)
    try:
        principal = await anyio.to_thread.run_sync(hub.resolve, token)
    except AppError as error:
        raise Refused(CLOSE_AUTH, f"{error.code}: {error.message}") from None
    return Login(principal, token, resume)


async def close_quietly(websocket: WebSocket, code: int, reason: str, timeout: float) -> None:
    """Close; a client that reads nothing may never let the close frame out, so give
    up after ``timeout`` (uvicorn then closes the transport)."""
    with contextlib.suppress(*GONE, TimeoutError):
        await asyncio.wait_for(websocket.close(code, reason), timeout)


async def serve(websocket: WebSocket, hub: LiveHub) -> None:
    await websocket.accept()
    try:
        login = await authenticate(websocket, hub)
    except Refused as refusal:
        if refusal.code is not None:
            timeout = hub.config.close_timeout_seconds
            await close_quietly(websocket, refusal.code, refusal.reason, timeout)
        return
    conn = Connection(websocket, login.principal, login.token, hub.config)
    hub.register(conn, login.resume)
    try:
        await conn.run()
    finally:
        hub.unregister(conn)
    if conn.closing is not None:
        code, reason = conn.closing
        await close_quietly(websocket, code, reason, hub.config.close_timeout_seconds)


class RecordServerAddress:
    """Notes the address this server answers on, for ``init_websocket_server``: the
    app does not otherwise know the port uvicorn was given."""

    def __init__(self, app: ASGIApp, hub: LiveHub) -> None:
        self.app, self.hub = app, hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hub.main_address is None and scope["type"] in ("http", "websocket"):
            server = scope.get("server")
            if server and server[1] is not None:
                self.hub.main_address = (str(server[0]), int(server[1]))
        await self.app(scope, receive, send)


def install(app: FastAPI, hub: LiveHub) -> None:
    """Mount /ws on the main app."""
    router = APIRouter()

    @router.websocket("/ws")
    async def live_socket(websocket: WebSocket) -> None:
        await serve(websocket, hub)

    app.include_router(router)
    app.add_middleware(RecordServerAddress, hub=hub)
    hub.listener_app = lambda: listener_app(hub)


def listener_app(hub: LiveHub) -> Starlette:
    """The app of an extra listener: /ws only."""

    async def live_socket(websocket: WebSocket) -> None:
        await serve(websocket, hub)

    return Starlette(routes=[WebSocketRoute("/ws", live_socket)])
