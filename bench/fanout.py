"""Fan-out: 1,000 /ws clients on one server process, and a task change reaching them all.

`python -m bench.fanout` starts the real server (bench/servers.py: one uvicorn process,
a fresh SQLite database), connects the clients from this process (asyncio, the
`websockets` library, each signed in as the admin with a first ``auth`` frame and
answering the heartbeats), then times, for ~20 changes, a `task_crud` Update over HTTP
until the last client has the `task_updated` message. It records:

* the time from sending the update to the last delivery (p50, p99) and to the median
  delivery, against two floors measured in the same run: the HTTP update alone (no
  client connected), and the same fan-out through a bare broadcast endpoint (`floor_app`
  below: the same uvicorn, the same clients, a loop of ``send_text`` and nothing else);
* memory per connection: the server's RSS (psutil) before and after connecting, for
  RPMA and for the floor.

`--quick` is a smoke run (100 clients, 5 changes) that leaves docs/PERFORMANCE.md alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from rich.console import Console
from websockets.asyncio.client import ClientConnection, connect

from bench.loadgen import percentile
from bench.report import write_section
from bench.servers import Server, _clean_env, rpma_server, uvicorn_server

ADMIN = ("owner@bench.example", "Olive", "Owner", "Workshop-Boss-2024")
COMPRESSION: list[str | None] = ["deflate"]  # --no-compression: [None]
CONNECT_BATCH = 100  # clients opening at once (a burst of 1,000 SYNs overflows the backlog)


class RawHttp:
    """One keep-alive HTTP/1.1 connection that writes each request in one piece (as
    bench/loadgen.py does): httpx's separate header and body writes meet Nagle and
    delayed ACKs on loopback and add ~40 ms to every call, which would hide the fan-out."""

    def __init__(self, base_url: str) -> None:
        host_port = base_url.removeprefix("http://")
        self.host, port = host_port.split(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        # uvicorn closes a keep-alive connection idle for 5 s (while clients connect).
        if self.reader is None or self.reader.at_eof():
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.writer is not None
        payload = json.dumps(body).encode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        headers = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(headers.split("content-length:")[1].split("\r\n")[0])
        return json.loads(await self.reader.readexactly(length))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# -- the floor: a bare broadcast endpoint under the same uvicorn ---------------------------
floor_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
_floor_sockets: set[WebSocket] = set()


@floor_app.post("/ipc/floor")
async def _ready() -> dict[str, Any]:
    return {"success": True, "data": None}


@floor_app.post("/broadcast")
async def _broadcast(body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps({"type": "task_updated", "id": body["k"], "data": body})
    for sock in list(_floor_sockets):
        try:
            await sock.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            _floor_sockets.discard(sock)
    return {"success": True, "data": {"recipients": len(_floor_sockets)}}


@floor_app.websocket("/ws")
async def _floor_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()  # the auth frame, ignored
    await websocket.send_text(json.dumps({"type": "welcome", "data": {}}))
    _floor_sockets.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        _floor_sockets.discard(websocket)


# -- the clients ---------------------------------------------------------------------------
@dataclass
class Run:
    name: str
    clients: int
    connect_s: float = 0.0
    rss_before: int = 0
    rss_half: int = 0
    rss_after: int = 0
    last: list[float] = field(default_factory=list)  # send -> last delivery, seconds
    median: list[float] = field(default_factory=list)  # send -> median delivery
    http: list[float] = field(default_factory=list)  # send -> HTTP answer

    @property
    def per_connection_kib(self) -> float:
        return (self.rss_after - self.rss_half) / (self.clients - self.clients // 2) / 1024


class Listener:
    """One client: records when each change's message arrives."""

    def __init__(self, conn: ClientConnection, arrivals: dict[int, list[float]]) -> None:
        self.conn, self.arrivals = conn, arrivals
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for raw in self.conn:
            now = time.perf_counter()
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.conn.send('{"type":"pong"}')
            elif message["type"] == "task_updated":
                data = message["data"]
                k = data["k"] if "k" in data else int(data["updates"]["title"].split("#")[1])
                self.arrivals.setdefault(k, []).append(now)


async def open_clients(url: str, token: str, count: int) -> list[ClientConnection]:
    async def one() -> ClientConnection:
        conn = await connect(url, open_timeout=60, max_size=None, compression=COMPRESSION[0])
        await conn.send(json.dumps({"type": "auth", "token": token}))
        welcome = json.loads(await conn.recv())
        if welcome["type"] != "welcome":
            raise RuntimeError(f"not welcomed: {welcome}")
        return conn

    conns: list[ClientConnection] = []
    for start in range(0, count, CONNECT_BATCH):
        conns += await asyncio.gather(*(one() for _ in range(min(CONNECT_BATCH, count - start))))
    return conns


def rss(server: Server) -> int:
    return int(psutil.Process(server.process.pid).memory_info().rss)


async def settle() -> None:
    await asyncio.sleep(0.5)  # let the server finish connection bookkeeping


async def measure(
    run: Run, server: Server, ws_url: str, *, token: str, changes: int, change: Any
) -> None:
    await settle()
    run.rss_before = rss(server)
    # Memory per connection from the second half only: the first half also pays for
    # one-off growth (worker threads, database connections, allocator arenas).
    half = run.clients // 2
    started = time.perf_counter()
    conns = await open_clients(ws_url, token, half)
    await settle()
    run.rss_half = rss(server)
    conns += await open_clients(ws_url, token, run.clients - half)
    run.connect_s = time.perf_counter() - started
    await settle()
    run.rss_after = rss(server)
    arrivals: dict[int, list[float]] = {}
    listeners = [Listener(conn, arrivals) for conn in conns]
    for k in range(1, changes + 1):
        sent = time.perf_counter()
        await change(k)
        run.http.append(time.perf_counter() - sent)
        deadline = time.monotonic() + 60
        while len(arrivals.get(k, ())) < run.clients:
            if time.monotonic() > deadline:
                raise RuntimeError(f"change {k}: {len(arrivals.get(k, ()))} deliveries")
            await asyncio.sleep(0.001)
        times = sorted(arrivals[k])
        run.last.append(times[-1] - sent)
        run.median.append(times[len(times) // 2] - sent)
        await asyncio.sleep(0.05)
    for listener in listeners:
        listener.task.cancel()
    await asyncio.gather(*(conn.close() for conn in conns), return_exceptions=True)


async def bench_rpma(server: Server, clients: int, changes: int) -> tuple[Run, list[float]]:
    http = RawHttp(server.base_url)
    try:

        async def call(command: str, body: dict[str, Any], token: str | None = None) -> Any:
            answer = await http.post(f"/ipc/{command}", body, token)
            if not answer["success"]:
                raise RuntimeError(f"{command}: {answer['error']}")
            return answer["data"]

        email, first, last, password = ADMIN
        account = {"email": email, "first_name": first, "last_name": last, "password": password}
        await call("auth_create_account", account)
        token = (await call("auth_login", {"email": email, "password": password}))["access_token"]
        task = await call(
            "task_crud",
            {"action": "Create", "data": {"title": "Fan-out #0", "vehicle_plate": "FAN-001"}},
            token,
        )
        task_id = task["task"]["id"] if "task" in task else task["id"]

        async def change(k: int) -> None:
            data = {"id": task_id, "title": f"Fan-out #{k}"}
            await call("task_crud", {"action": "Update", "data": data}, token)

        alone = []  # the HTTP update with nobody listening
        for k in range(changes):
            sent = time.perf_counter()
            await change(10_000 + k)
            alone.append(time.perf_counter() - sent)
        run = Run("rpma", clients)
        ws_url = server.base_url.replace("http://", "ws://") + "/ws"
        await measure(run, server, ws_url, token=token, changes=changes, change=change)
        return run, alone
    finally:
        await http.close()


async def bench_floor(server: Server, clients: int, changes: int) -> Run:
    http = RawHttp(server.base_url)
    try:

        async def change(k: int) -> None:
            await http.post("/broadcast", {"k": k})

        run = Run("floor", clients)
        ws_url = server.base_url.replace("http://", "ws://") + "/ws"
        await measure(run, server, ws_url, token="-", changes=changes, change=change)
        return run
    finally:
        await http.close()


# -- the report ----------------------------------------------------------------------------
def ms(values: list[float], q: float) -> str:
    return f"{percentile(sorted(values), q / 100) * 1000:.1f}"


def section(rpma: Run, floor: Run, alone: list[float]) -> str:
    p50 = statistics.median
    ratio = p50(rpma.last) / p50(floor.last)
    load = os.getloadavg()[0]
    extra = "nothing measurable" if ratio < 1.05 else "little" if ratio < 1.3 else ""
    extra = extra or f"{(ratio - 1) * 100:.0f}%"
    lines = [
        "## Live updates: fan-out to 1,000 WebSocket clients",
        "",
        f"`python -m bench.fanout`: {rpma.clients:,} `/ws` clients in one asyncio process "
        "(the `websockets` library, negotiating permessage-deflate as browsers do, each "
        "signed in with an `auth` frame and answering heartbeats) on one server process "
        f"(`rpma.asgi:app`, one uvicorn worker, SQLite); {len(rpma.last)} task changes "
        "(`task_crud` Update over HTTP), each timed from sending the update until the "
        "last client has its `task_updated`. Floors, in the same run: the HTTP update "
        "with nobody listening, and the same uvicorn and clients with a bare endpoint "
        "that loops `send_text` over its sockets (no token, no database, no permission "
        "filter, no queues). Memory per connection is the server's RSS growth (psutil) "
        "while the second half of the clients connect. "
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPUs, one-minute load "
        f"average {load:.2f} after the run.",
        "",
        "| | p50 (ms) | p99 (ms) |",
        "|---|---:|---:|",
        f"| HTTP update alone (nobody listening) | {ms(alone, 50)} | {ms(alone, 99)} |",
        f"| RPMA: update to last delivery | {ms(rpma.last, 50)} | {ms(rpma.last, 99)} |",
        f"| RPMA: update to median delivery | {ms(rpma.median, 50)} | {ms(rpma.median, 99)} |",
        f"| floor: broadcast to last delivery | {ms(floor.last, 50)} | {ms(floor.last, 99)} |",
        "",
        "| memory | RPMA | floor |",
        "|---|---:|---:|",
        f"| server RSS before connecting (MiB) | {rpma.rss_before / 2**20:.1f} "
        f"| {floor.rss_before / 2**20:.1f} |",
        f"| server RSS with {rpma.clients:,} clients (MiB) | {rpma.rss_after / 2**20:.1f} "
        f"| {floor.rss_after / 2**20:.1f} |",
        f"| per connection (KiB) | {rpma.per_connection_kib:.1f} "
        f"| {floor.per_connection_kib:.1f} |",
        f"| time to connect all (s) | {rpma.connect_s:.1f} | {floor.connect_s:.1f} |",
        "",
        f"**Reading.** The last delivery takes {ratio:.1f}x the bare broadcast's (p50): "
        "the database write, the permission filter and the per-client queues add "
        f"{extra} to pushing the frames. Both are bounded by the clients, who "
        "share one core here and inflate and parse every message of every change. Most of "
        "a connection's memory is permessage-deflate's compression state, paid by both "
        "columns (`--no-compression`: about 50 KiB for RPMA, 32 KiB for the floor); "
        "RPMA keeps about 20 KiB more per connection (its connection object, bounded "
        "queue, reader and writer tasks), not broken down further. The p99 of 20 "
        "changes is their slowest, and moves with the machine's load: on the shared "
        "2-core machine of 2026-11-24 repeated runs put the p50 ratio anywhere from 0.8x "
        "to 2.1x, so compare runs made on a quiet machine.",
    ]
    return "\n".join(lines)


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))  # servers inherit it
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        raise SystemExit(f"need {needed} file descriptors; the hard limit is {hard}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="100 clients, 5 changes, no docs")
    parser.add_argument(
        "--no-compression", action="store_true", help="clients refuse permessage-deflate; no docs"
    )
    args = parser.parse_args(argv)
    if args.no_compression:
        COMPRESSION[0] = None
    clients, changes = (100, 5) if args.quick else (args.clients, args.changes)
    raise_fd_limit(2 * clients + 256)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="rpma-fanout-") as tmp:
        workdir = Path(tmp)
        with rpma_server(workdir) as server:
            rpma, alone = asyncio.run(bench_rpma(server, clients, changes))
        env = _clean_env()
        floor_spec = ("fanout-floor", "bench.fanout:floor_app", "/ipc/floor", env, workdir)
        with uvicorn_server(*floor_spec) as server:
            floor = asyncio.run(bench_floor(server, clients, changes))
    text = section(rpma, floor, alone)
    console.print(text)
    if not (args.quick or args.no_compression):
        write_section("fanout", text)
    return 0


__all__ = ["floor_app", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
