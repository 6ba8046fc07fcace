"""GET /ipc as a WebSocket: many commands in flight on one socket (CONTRACT.md 1).

Each request frame is ``{"id", "command", "args", "compression"?}``; each answer is
``{"id", ...envelope}``, in whatever order the commands finish. Text frames are JSON,
binary frames MessagePack, and an answer uses the encoding of its request.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import MutableMapping
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from rpma.core import envelope, metrics
from rpma.core.context import ClientInfo
from rpma.core.dispatch import CallMeta, Dispatcher, Outcome
from rpma.core.errors import ValidationFailed

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64  # per socket: a client cannot make the server queue without bound


def parse_frame(message: MutableMapping[str, Any]) -> Any:
    if message.get("bytes") is not None:
        return envelope.unpack(message["bytes"])
    return json.loads(message.get("text") or "")


def frame_problem(frame: Any) -> ValidationFailed | None:
    """Why a decoded frame cannot be dispatched, naming the offending part."""
    if not isinstance(frame, dict):
        field, problem = "(frame)", "expected an object"
    elif not isinstance(frame.get("command"), str):
        field, problem = "command", "expected the command name as a string"
    else:
        return None
    return ValidationFailed(
        message='A frame must be an object with "id", "command" and "args"',
        fields=[{"field": field, "message": problem}],
    )


class IpcSocket:
    """One client connection: reads frames, runs each command as its own task."""

    def __init__(self, websocket: WebSocket, dispatcher: Dispatcher) -> None:
        self.websocket = websocket
        self.dispatcher = dispatcher
        self.client = ClientInfo(
            ip_address=websocket.client.host if websocket.client else None,
            user_agent=websocket.headers.get("user-agent"),
            transport="websocket",
        )
        self.socket_token = websocket.query_params.get("token")
        self.send_lock = anyio.Lock()
        self.slots = anyio.Semaphore(MAX_IN_FLIGHT)

    async def answer(self, request_id: Any, outcome: Outcome, binary: bool) -> None:
        frame = {"id": request_id, **outcome.body}
        if outcome.headers.get("Retry-After"):
            frame["retry_after"] = int(outcome.headers["Retry-After"])
        try:
            async with self.send_lock:
                if binary:
                    await self.websocket.send_bytes(envelope.pack(frame))
                else:
                    text = envelope.dumps_json(frame).decode()
                    await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError):
            # The client hung up before its answer was ready: nobody left to tell.
            log.debug("ipc socket closed before answer %r", request_id)

    async def refuse(self, request_id: Any, error: ValidationFailed, binary: bool) -> None:
        await self.answer(request_id, self.dispatcher.failure(error, CallMeta(self.client)), binary)

    async def run(self, frame: dict[str, Any], binary: bool) -> None:
        try:
            meta = CallMeta(
                client=self.client,
                bearer_token=self.socket_token,
                compress=str(frame.get("compression", "")).lower() == "gzip",
            )
            outcome = await self.dispatcher.dispatch(
                str(frame["command"]), frame.get("args", {}), meta
            )
            await self.answer(frame.get("id"), outcome, binary)
        finally:
            self.slots.release()

    async def serve(self) -> None:
        async with anyio.create_task_group() as tasks:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                binary = message.get("bytes") is not None
                try:
                    frame = parse_frame(message)
                except (ValueError, TypeError) as exc:
                    kind = "MessagePack" if binary else "JSON"
                    error = ValidationFailed(
                        message=f"The frame is not valid {kind}",
                        fields=[{"field": "(frame)", "message": str(exc)[:200]}],
                    )
                    await self.refuse(None, error, binary)
                    continue
                problem = frame_problem(frame)
                if problem is not None:
                    request_id = frame.get("id") if isinstance(frame, dict) else None
                    await self.refuse(request_id, problem, binary)
                    continue
                await self.slots.acquire()
                tasks.start_soon(self.run, frame, binary)
            # The client is gone: commands still running finish their transaction in
            # their worker thread, but nobody waits for their answers.
            tasks.cancel_scope.cancel()


def build_router(dispatcher: Dispatcher) -> APIRouter:
    router = APIRouter()

    @router.websocket("/ipc")
    async def ipc_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        metrics.websocket_opened()  # counted in performance_get_performance_stats
        try:
            with contextlib.suppress(WebSocketDisconnect):
                await IpcSocket(websocket, dispatcher).serve()
        finally:
            metrics.websocket_closed()

    return router
