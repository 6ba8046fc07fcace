"""The servers under load, each a uvicorn subprocess started and always stopped here."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

# One worker, uvloop and httptools named rather than left to "auto", and no log line per
# request: every server under test gets exactly these, so only the app differs.
# The real server is started with uvicorn directly rather than `rpma serve`, because
# `serve` fixes log_level="info" (an access-log line per request, which the floor would
# not pay); the app, `rpma.asgi:app`, is the one `serve` runs, and it migrates on import.
UVICORN_OPTIONS = (
    "--workers",
    "1",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--log-level",
    "warning",
)
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class ServerFailed(RuntimeError):
    pass


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far (Linux /proc), all threads."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        # The command name (field 2) may hold spaces; count fields after its ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_env() -> dict[str, str]:
    # An RPMA_* variable from the caller's shell (a database URL, rate limits) must not
    # leak into the measured server.
    return {key: value for key, value in os.environ.items() if not key.startswith("RPMA_")}


def _wait_ready(server: Server, probe_path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerFailed(
                    f"{server.name} exited with code {server.process.returncode}:\n"
                    + server.log_tail()
                )
            try:
                answer = client.post(server.base_url + probe_path, json={})
            except httpx.TransportError as exc:
                last_error = repr(exc)
            else:
                if answer.status_code == 200:
                    return
                last_error = f"HTTP {answer.status_code}: {answer.text[:300]}"
            time.sleep(0.1)
    raise ServerFailed(
        f"{server.name} not ready after {READY_TIMEOUT_S:.0f} s ({last_error}):\n"
        + server.log_tail()
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


@contextmanager
def uvicorn_server(
    name: str, app: str, probe_path: str, env: dict[str, str], workdir: Path
) -> Iterator[Server]:
    port = free_port()
    log_path = workdir / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [*command, *UVICORN_OPTIONS],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Server(name=name, port=port, process=process, log_path=log_path)
    try:
        _wait_ready(server, probe_path)
        yield server
    finally:
        _stop(process)


@contextmanager
def floor_server(workdir: Path) -> Iterator[Server]:
    with uvicorn_server("floor", "bench.floor_app:app", "/ipc/floor", _clean_env(), workdir) as s:
        yield s


@contextmanager
def rpma_server(workdir: Path) -> Iterator[Server]:
    """The real server on a fresh SQLite database in a temporary data directory."""
    data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=workdir))
    env = _clean_env() | {
        "RPMA_DATA_DIR": str(data_dir),
        "RPMA_RATE_LIMITS_ENABLED": "false",
        "RPMA_SECRET_KEY": secrets.token_urlsafe(48),
    }
    with uvicorn_server("rpma", "rpma.asgi:app", "/ipc/health_check", env, workdir) as s:
        yield s
