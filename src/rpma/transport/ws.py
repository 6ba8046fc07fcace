"""GET /ipc as a WebSocket: many commands in flight on one socket (CONTRACT.md 1).

Each request frame is ``{"id", "command", "args", "compression"?}``; each answer is
``{"id", ...envelope}``, in whatever order the commands finish. Text frames are JSON,
binary frames MessagePack, and an answer uses the encoding of its request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from rpma.core import envelope
from rpma.core.context import ClientInfo
from rpma.core.dispatch import CallMeta, Dispatcher, Outcome
from rpma.core.errors import ValidationFailed

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64  # per socket: a client cannot make the server queue without bound


def parse_frame(message: MutableMapping[str, Any]) -> tuple[Any, bool]:
    """Return (decoded frame, is_binary)."""
    if message.get("bytes") is not None:
        return envelope.unpack(message["bytes"]), True
    return json.loads(message.get("text") or ""), False


def build_router(dispatcher: Dispatcher) -> APIRouter:
    router = APIRouter()

    @router.websocket("/ipc")
    async def ipc_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        client = ClientInfo(
            ip_address=websocket.client.host if websocket.client else None,
            user_agent=websocket.headers.get("user-agent"),
            transport="websocket",
        )
        socket_token = websocket.query_params.get("token")
        send_lock = anyio.Lock()
        slots = anyio.Semaphore(MAX_IN_FLIGHT)

        async def answer(request_id: Any, outcome: Outcome, binary: bool) -> None:
            frame = {"id": request_id, **outcome.body}
            if outcome.headers.get("Retry-After"):
                frame["retry_after"] = int(outcome.headers["Retry-After"])
            async with send_lock:
                if binary:
                    await websocket.send_bytes(envelope.pack(frame))
                else:
                    await websocket.send_text(
                        envelope.dumps_json(envelope.json_safe(frame)).decode()
                    )

        async def run(frame: dict[str, Any], binary: bool) -> None:
            try:
                meta = CallMeta(
                    client=client,
                    bearer_token=socket_token,
                    compress=str(frame.get("compression", "")).lower() == "gzip",
                )
                outcome = await dispatcher.dispatch(
                    str(frame.get("command", "")), frame.get("args", {}), meta
                )
                await answer(frame.get("id"), outcome, binary)
            finally:
                slots.release()

        try:
            async with anyio.create_task_group() as tasks:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    try:
                        frame, binary = parse_frame(message)
                    except (ValueError, TypeError):
                        error = ValidationFailed(message="The frame is not valid JSON/MessagePack")
                        await answer(None, dispatcher.failure(error, CallMeta(client)), False)
                        continue
                    if not isinstance(frame, dict) or not isinstance(frame.get("command"), str):
                        error = ValidationFailed(
                            message='A frame must be an object with "id", "command" and "args"'
                        )
                        request_id = frame.get("id") if isinstance(frame, dict) else None
                        await answer(
                            request_id, dispatcher.failure(error, CallMeta(client)), binary
                        )
                        continue
                    await slots.acquire()
                    tasks.start_soon(run, frame, binary)
                tasks.cancel_scope.cancel()
        except WebSocketDisconnect:
            pass
        except RuntimeError:  # sending after the peer went away
            log.debug("ipc socket closed while answering")

    return router
