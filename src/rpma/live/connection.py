"""One /ws client: a bounded send queue, a reader and a writer.

Everything here runs on the event loop that accepted the socket; the hub reaches a
connection from other threads only through ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from rpma.core.clock import clock
from rpma.core.context import Principal
from rpma.core.permissions import Role
from rpma.live.config import CLOSE_SLOW, CLOSE_TIMEOUT, LiveConfig
from rpma.live.messages import LiveMessage, control
from rpma.live.topics import READ_RULES, readers

log = logging.getLogger(__name__)

GONE = (WebSocketDisconnect, OSError, RuntimeError)  # what a vanished peer raises


class Connection:
    def __init__(self, websocket: WebSocket, principal: Principal, token: str, config: LiveConfig):
        self.client_id = f"ws_{secrets.token_hex(8)}"
        self.websocket = websocket
        self.user_id = principal.user_id
        self.role: Role = principal.role
        self.session_id = principal.session_id
        self.token = token
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=config.queue_size)
        self.backlog: list[str] = []  # welcome and replay, sent before the queue
        self.floor = 0  # events up to this id came (or were due) through the backlog
        self.topics: set[str] | None = None  # None: every topic the role may read
        self.last_seen = self.loop.time()
        self.closing: tuple[int, str] | None = None
        self.sent = 0  # messages written from the queue
        self._done: asyncio.Future[None] = self.loop.create_future()

    # -- filtering and queueing (called by the hub on this loop) -------------------------
    def admits(self, message: LiveMessage) -> bool:
        topics = self.topics
        if topics is not None and message.type in READ_RULES and message.type not in topics:
            return False
        return message.to.admits(self.user_id, self.role, self.client_id)

    def offer(self, text: str) -> bool:
        """Queue a frame; a full queue means the client cannot keep up: drop it rather
        than let the server's memory grow."""
        if self.closing is not None:
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            limit = self.queue.maxsize
            self.drop(CLOSE_SLOW, f"SLOW_CLIENT: over {limit} messages unread; reconnect")
            return False
        return True

    def drop(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason[:120])
        # Let go of the queued frames now: they will never be sent.
        while not self.queue.empty():
            self.queue.get_nowait()
        if not self._done.done():
            self._done.set_result(None)

    # -- the connection's life ---------------------------------------------------------
    async def run(self) -> None:
        # Two tasks per connection; heartbeats are one task per event loop (the hub's).
        workers = [asyncio.create_task(self._write()), asyncio.create_task(self._read())]
        try:
            await asyncio.wait([*workers, self._done], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def beat(self) -> None:
        """A heartbeat tick: ping, or drop a client silent for too long."""
        silent = self.loop.time() - self.last_seen
        if silent > self.config.heartbeat_timeout_seconds:
            self.drop(CLOSE_TIMEOUT, f"HEARTBEAT_TIMEOUT: no frame for {silent:.1f} s")
        else:
            self.offer(control("ping", {"timestamp": clock.now_ms()}))

    async def _write(self) -> None:
        with contextlib.suppress(*GONE):
            for text in self.backlog:
                await self.websocket.send_text(text)
            self.backlog = []
            while True:
                text = await self.queue.get()
                await self.websocket.send_text(text)
                self.sent += 1

    async def _read(self) -> None:
        while True:
            try:
                message = await self.websocket.receive()
            except GONE:
                return
            if message["type"] == "websocket.disconnect":
                return
            self.last_seen = self.loop.time()
            self.handle(message.get("text"))

    # -- what a client may send --------------------------------------------------------
    def handle(self, text: str | None) -> None:
        try:
            frame = json.loads(text) if text is not None else None
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            self.error("VALIDATION_ERROR", 'Send JSON text frames like {"type": "pong"}')
            return
        kind = frame["type"]
        if kind == "pong":
            return
        if kind == "ping":
            self.offer(control("pong", {"timestamp": clock.now_ms()}))
        elif kind in ("subscribe", "unsubscribe"):
            self.subscribe(frame.get("topics"), add=kind == "subscribe")
        elif kind == "auth":
            self.error("VALIDATION_ERROR", "This connection is already authenticated")
        else:
            self.error("VALIDATION_ERROR", f"Unknown frame type {kind[:40]!r}", type=kind[:40])

    def subscribe(self, topics: Any, *, add: bool) -> None:
        """Narrow (or widen back) the topics received. All or nothing: one unknown or
        unreadable topic refuses the whole frame and changes nothing."""
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            self.error("VALIDATION_ERROR", '"topics" must be a list of topic names')
            return
        unknown = sorted({t for t in topics if t not in READ_RULES})
        if unknown:
            self.error("VALIDATION_ERROR", "Unknown topics", topics=unknown)
            return
        forbidden = sorted({t for t in topics if self.role not in readers(t)})
        if forbidden:
            message = f"A {self.role.value} may not read these topics"
            self.error("AUTH_FORBIDDEN", message, topics=forbidden)
            return
        readable = {t for t in READ_RULES if self.role in readers(t)}
        if add:
            current = set() if self.topics is None else self.topics
            self.topics = current | set(topics)
        else:
            self.topics = (readable if self.topics is None else self.topics) - set(topics)
        self.offer(control("subscribed", {"topics": sorted(self.topics)}))

    def error(self, code: str, message: str, **details: Any) -> None:
        self.offer(control("error", {"code": code, "message": message, **details}))
