"""The blocking client: one keep-alive HTTP connection pool or one WebSocket."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from ._common import DEFAULT_BASE_URL, ClientBase, Encoding, Transport
from ._http import read_response
from ._ws import decode_frame
from .api import Then
from .codec import unwrap
from .errors import TransportError

__all__ = ["IpcClient"]


class IpcClient(ClientBase[Any]):
    """Invoke RPMA commands; `call` returns the envelope's `data` or raises an IpcError."""

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
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._ws: ClientConnection | None = None
        self._ws_stack = ExitStack()
        # One request at a time on the socket, so a reader never sees another's answer.
        self._ws_lock = threading.Lock()

    def call(self, command: str, args: Mapping[str, Any] | None = None) -> Any:
        payload = dict(args or {})
        if self.transport == "ws":
            return self._call_ws(command, payload)
        return self._call_http(command, payload)

    def _invoke(self, command: str, args: Mapping[str, Any], then: Then | None = None) -> Any:
        result = self.call(command, args)
        return then(result) if then is not None else result

    def _call_http(self, command: str, args: dict[str, Any]) -> Any:
        request = self._http_request(command, args)
        try:
            response = self._http.post(
                request.path, content=request.content, headers=request.headers
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"{command}: {type(exc).__name__}: {exc}") from exc
        return read_response(response)

    def _call_ws(self, command: str, args: dict[str, Any]) -> Any:
        with self._ws_lock:
            conn = self._connect()
            request_id, frame = self._ws_frame(command, args)
            deadline = time.monotonic() + self.timeout
            try:
                conn.send(frame)
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    reply = decode_frame(conn.recv(timeout=remaining))
                    # Answers to earlier calls that timed out may still arrive first.
                    if reply.get("id") == request_id:
                        break
            except TimeoutError as exc:
                raise TransportError(f"{command}: no answer within {self.timeout}s") from exc
            except (ConnectionClosed, OSError) as exc:
                self._drop_socket()
                raise TransportError(f"{command}: WebSocket closed: {exc}") from exc
        return unwrap(reply)

    def _connect(self) -> ClientConnection:
        if self._ws is None:
            try:
                # No frame-size cap: report exports and stream reads can be large.
                # Entered as a context manager, as websockets requires; closed by close().
                stack = ExitStack()
                self._ws = stack.enter_context(
                    connect(self._ws_url, open_timeout=self.timeout, max_size=None)
                )
                self._ws_stack = stack
            except (OSError, WebSocketException) as exc:
                raise TransportError(f"cannot open {self._ws_url}: {exc}") from exc
        return self._ws

    def _drop_socket(self) -> None:
        self._ws = None
        self._ws_stack.close()

    def close(self) -> None:
        with self._ws_lock:
            self._drop_socket()
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
