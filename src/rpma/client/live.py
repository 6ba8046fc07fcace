"""A client for /ws live updates (docs/LIVE.md).

    async with LiveClient("http://127.0.0.1:8000", token) as live:
        async for message in live:
            print(message["type"], message.get("data"))

It authenticates with a first ``auth`` frame (the token stays out of URLs and logs),
answers the server's heartbeats, remembers the last event id, and after a lost
connection reconnects with it, so the server replays what was missed (a
``replay_gap`` message says when that was too long ago). A refusal of the token
(close code 4401) is final and raises :class:`LiveClosed`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from .errors import TransportError

__all__ = ["CLOSE_AUTH", "LiveClient", "LiveClosed", "live_url"]

CLOSE_AUTH = 4401
_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def live_url(base_url: str) -> str:
    """`http://host:8000` -> `ws://host:8000/ws` (a URL already ending in /ws is kept)."""
    parts = urlsplit(base_url)
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"unsupported URL scheme for live updates: {base_url!r}")
    path = parts.path.rstrip("/")
    path = path if path.endswith("/ws") else path + "/ws"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class LiveClosed(TransportError):
    """The server closed the live connection for good (or reconnecting is off)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"live connection closed ({code}): {reason}", details={"code": code})
        self.close_code, self.reason = code, reason


class LiveClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        last_event_id: int | None = None,
        stream: str | None = None,
        topics: Sequence[str] | None = None,
        reconnect: bool = True,
        max_backoff: float = 10.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.url = live_url(base_url)
        self.token = token
        self.last_event_id = last_event_id
        self.stream = stream
        self.topics = list(topics) if topics is not None else None
        self.reconnect = reconnect
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.welcome: dict[str, Any] = {}
        self._conn: ClientConnection | None = None
        self._pending: list[dict[str, Any]] = []

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def client_id(self) -> str | None:
        return self.welcome.get("client_id")

    async def connect(self) -> None:
        """Open, authenticate (resuming after ``last_event_id``), read the welcome."""
        try:
            conn = await connect(self.url, open_timeout=self.open_timeout, max_size=None)
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise TransportError(f"cannot open {self.url}: {exc}") from exc
        auth: dict[str, Any] = {"type": "auth", "token": self.token}
        if self.last_event_id is not None:
            auth["last_event_id"] = self.last_event_id
            if self.stream:
                auth["stream"] = self.stream
        try:
            await conn.send(json.dumps(auth))
            welcome = json.loads(await conn.recv())
        except ConnectionClosed as exc:
            raise _closed(exc) from exc
        self._conn = conn
        self.welcome = dict(welcome.get("data") or {})
        self.stream = self.welcome.get("stream", self.stream)
        self._pending.append(welcome)
        if self.topics is not None:
            await self.subscribe(self.topics)

    async def subscribe(self, topics: Sequence[str]) -> None:
        """Receive only these topics from now on (answered by a ``subscribed`` or an
        ``error`` message)."""
        self.topics = list(topics)
        await self._send({"type": "subscribe", "topics": self.topics})

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._messages()

    async def receive(self) -> dict[str, Any]:
        """The next message other than a heartbeat."""
        if self._pending:
            return self._pending.pop(0)
        while True:
            if self._conn is None:
                raise LiveClosed(None, "not connected")
            try:
                message = json.loads(await self._conn.recv())
            except ConnectionClosed as exc:
                self._conn = None
                closed = _closed(exc)
                if not self.reconnect or closed.close_code == CLOSE_AUTH:
                    raise closed from exc
                await self._reconnect()
                if self._pending:
                    return self._pending.pop(0)
                continue
            if message.get("type") == "ping":
                await self._send({"type": "pong"})
                continue
            if isinstance(message.get("id"), int):
                self.last_event_id = message["id"]
            return dict(message)

    async def _messages(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.receive()

    async def _reconnect(self) -> None:
        """Until it works (cancel the caller to give up); a refused token is final."""
        backoff = 0.1
        while True:
            await asyncio.sleep(backoff)
            try:
                await self.connect()
                return
            except LiveClosed as closed:
                if closed.close_code == CLOSE_AUTH:
                    raise
            except TransportError:
                pass
            backoff = min(backoff * 2, self.max_backoff)

    async def _send(self, frame: dict[str, Any]) -> None:
        if self._conn is None:
            raise LiveClosed(None, "not connected")
        try:
            await self._conn.send(json.dumps(frame))
        except ConnectionClosed as exc:
            raise _closed(exc) from exc


def _closed(exc: ConnectionClosed) -> LiveClosed:
    close = exc.rcvd
    return LiveClosed(close.code if close else None, close.reason if close else "no close frame")
