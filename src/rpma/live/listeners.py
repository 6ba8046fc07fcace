"""Extra /ws listeners started by ``init_websocket_server``: a second uvicorn server in
a thread, on its own port, serving only /ws with the same hub (and so the same events,
permissions and replay buffer)."""

from __future__ import annotations

import errno
import socket

from starlette.types import ASGIApp

from rpma.core.errors import AppError, Conflict, ValidationFailed
from rpma.transport.threaded import ThreadedServer


class ExtraListener:
    def __init__(self, app: ASGIApp, host: str, port: int, *, compression: bool) -> None:
        self.host, self.port, self.compression = host, port, compression
        self.server = ThreadedServer(
            app,
            host=host,
            port=port,
            ws="websockets-sansio",
            ws_per_message_deflate=compression,
            lifespan="off",
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/ws"

    def start(self, timeout: float = 10.0) -> None:
        """Bind first, so that a busy port is a clear error here, not a log line later."""
        sock = bind(self.host, self.port)
        try:
            self.server.start(timeout, sockets=[sock])
        except RuntimeError:
            raise AppError(
                "WEBSOCKET_LISTENER_FAILED",
                message=f"The listener on port {self.port} did not start",
                port=self.port,
            ) from None

    @property
    def running(self) -> bool:
        return self.server.running

    def stop(self) -> None:
        self.server.stop()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Conflict(
                "WEBSOCKET_PORT_IN_USE",
                message=f"Port {port} on {host} is already in use",
                port=port,
                host=host,
            ) from None
        raise ValidationFailed(
            message=f"Cannot listen on {host}:{port}: {exc.strerror}",
            fields=[{"field": "port", "message": str(exc.strerror)}],
        ) from None
    sock.set_inheritable(True)
    return sock
