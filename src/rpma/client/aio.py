"""The asyncio client: many calls in flight on one WebSocket, matched by id."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from ._common import DEFAULT_BASE_URL, ClientBase, Encoding, Transport
from ._http import read_response
from ._ws import decode_frame
from .api import Then
from .codec import unwrap
from .errors import TransportError

__all__ = ["AsyncIpcClient"]


class _Channel:
    """One WebSocket and the calls waiting on it; dies with its connection."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.pending: dict[int, asyncio.Future[Mapping[str, Any]]] = {}
        self.closed = False
        self.reader = asyncio.create_task(self._read())

    async def request(
        self, request_id: int, frame: str | bytes, timeout: float
    ) -> Mapping[str, Any]:
        future: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        try:
            await self.conn.send(frame)
            return await asyncio.wait_for(future, timeout)
        except ConnectionClosed as exc:
            raise TransportError(f"WebSocket closed: {exc}") from exc
        finally:
            self.pending.pop(request_id, None)

    async def _read(self) -> None:
        reason = "WebSocket closed"
        try:
            async for message in self.conn:
                try:
                    reply = decode_frame(message)
                except TransportError:
                    # Nobody can be told: an unreadable frame names no id. Its
                    # caller, if any, times out.
                    continue
                request_id = reply.get("id")
                future = self.pending.get(request_id) if isinstance(request_id, int) else None
                if future is not None and not future.done():
                    future.set_result(reply)
        except ConnectionClosed as exc:
            reason = f"WebSocket closed: {exc}"
        finally:
            self.closed = True
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(TransportError(reason))

    async def close(self) -> None:
        self.closed = True
        await self.conn.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class AsyncIpcClient(ClientBase[Coroutine[Any, Any, Any]]):
    """Like `IpcClient`, but `call` and every namespace method are awaited."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        token: str | None = None,
        transport: Transport = "http",
        encoding: Encoding = "json",
        compression: bool = False,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(
            base_url,
            token=token,
            transport=transport,
            encoding=encoding,
            compression=compression,
            timeout=timeout,
        )
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._channel: _Channel | None = None
        self._connecting = asyncio.Lock()

    async def call(self, command: str, args: Mapping[str, Any] | None = None) -> Any:
        payload = dict(args or {})
        if self.transport == "ws":
            return await self._call_ws(command, payload)
        return await self._call_http(command, payload)

    def _invoke(
        self, command: str, args: Mapping[str, Any], then: Then | None = None
    ) -> Coroutine[Any, Any, Any]:
        return self._call_then(command, args, then)

    async def _call_then(self, command: str, args: Mapping[str, Any], then: Then | None) -> Any:
        result = await self.call(command, args)
        return then(result) if then is not None else result

    async def _call_http(self, command: str, args: dict[str, Any]) -> Any:
        request = self._http_request(command, args)
        try:
            response = await self._http.post(
                request.path, content=request.content, headers=request.headers
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"{command}: {type(exc).__name__}: {exc}") from exc
        return read_response(response)

    async def _call_ws(self, command: str, args: dict[str, Any]) -> Any:
        channel = await self._open_channel()
        request_id, frame = self._ws_frame(command, args)
        try:
            reply = await channel.request(request_id, frame, self.timeout)
        except TimeoutError as exc:
            raise TransportError(f"{command}: no answer within {self.timeout}s") from exc
        except TransportError as exc:
            raise TransportError(f"{command}: {exc.message}") from exc
        return unwrap(reply)

    async def _open_channel(self) -> _Channel:
        async with self._connecting:
            if self._channel is None or self._channel.closed:
                try:
                    # No frame-size cap: report exports and stream reads can be large.
                    conn = await connect(self._ws_url, open_timeout=self.timeout, max_size=None)
                except (OSError, WebSocketException) as exc:
                    raise TransportError(f"cannot open {self._ws_url}: {exc}") from exc
                self._channel = _Channel(conn)
            return self._channel

    async def aclose(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
