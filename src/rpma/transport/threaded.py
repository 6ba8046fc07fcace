"""uvicorn serving an app from a background thread: the desktop window's local server,
the extra /ws listeners, and the tests' servers all start and stop this way."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.types import ASGIApp


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """``start()`` returns once uvicorn accepts connections (or raises RuntimeError);
    ``stop()`` asks it to finish and waits for the thread. ``config`` goes to
    ``uvicorn.Config`` (``ws``, ``lifespan``...)."""

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int | None = None, **config: Any
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        config.setdefault("log_level", "warning")
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, **config))
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive() and self.server.started

    def start(
        self, timeout: float = 15.0, *, sockets: list[socket.socket] | None = None
    ) -> ThreadedServer:
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": sockets},
            name=f"rpma-server-{self.port}",
            daemon=True,
        )
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
