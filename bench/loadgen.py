"""A lean HTTP/1.1 keep-alive load generator.

Each of N connections sends one pre-built request, reads the answer by its
Content-Length, and sends the next: a closed loop, one request in flight per connection.
It runs in a process of its own (spawned, so it shares no GIL and no imported state with
the orchestrator) and does as little per request as it can, so that it costs the same
for every server it measures.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import time
from array import array
from collections import Counter
from collections.abc import Coroutine
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = b"\r\ncontent-length:"
ERROR_SAMPLES = 5


def build_request(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


@dataclass(frozen=True)
class LoadSpec:
    host: str
    port: int
    request: bytes
    connections: int = 32
    warmup_s: float = 1.0
    duration_s: float = 5.0
    max_requests: int = 2_000_000


@dataclass
class LoadResult:
    """One measured window. Latencies are in milliseconds, in completion order."""

    requests: int
    errors: int
    elapsed_s: float
    latencies_ms: array[float]
    statuses: dict[int, int]
    error_samples: list[str]
    # Warm-up included: what the process CPU figures are divided by.
    total_requests: int
    wall_s: float
    client_cpu_s: float


@dataclass
class _State:
    start: float
    end: float
    max_requests: int
    latencies: array[float] = field(default_factory=lambda: array("d"))
    statuses: Counter[int] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    errors: int = 0
    total: int = 0
    last_done: float = 0.0

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(message)


def _content_length(head: bytes) -> int:
    # Starlette writes header names in lower case; the fallback is for anything else.
    at = head.find(CONTENT_LENGTH)
    if at < 0:
        at = head.lower().find(CONTENT_LENGTH)
        if at < 0:
            raise ValueError("answer without Content-Length: " + head[:200].decode("latin-1"))
    stop = head.find(b"\r\n", at + len(CONTENT_LENGTH))
    return int(head[at + len(CONTENT_LENGTH) : stop])


async def _connection(spec: LoadSpec, state: _State) -> None:
    try:
        reader, writer = await asyncio.open_connection(spec.host, spec.port)
    except OSError as exc:
        state.error(f"cannot connect: {exc!r}")
        return
    request = spec.request
    latencies = state.latencies
    start, end = state.start, state.end
    clock = time.perf_counter
    try:
        while True:
            sent = clock()
            if sent >= end or len(latencies) >= state.max_requests:
                return
            writer.write(request)
            head = await reader.readuntil(HEADER_END)
            body = await reader.readexactly(_content_length(head))
            done = clock()
            state.total += 1
            status = int(head[9:12])
            if status != 200:  # in the warm-up too: a failing server has no rate to report
                state.error(f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}")
            if sent < start or done > end:
                continue  # warm-up, or straddling the end of the window
            latencies.append((done - sent) * 1000.0)
            state.last_done = done
            state.statuses[status] += 1
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        # The connection is lost for the rest of the window: a loud error, not a slow run.
        state.error(f"connection failed: {exc!r}")
    finally:
        writer.close()


async def _run(spec: LoadSpec) -> LoadResult:
    began = time.perf_counter()
    cpu_began = time.process_time()
    start = began + spec.warmup_s
    state = _State(start=start, end=start + spec.duration_s, max_requests=spec.max_requests)
    await asyncio.gather(*(_connection(spec, state) for _ in range(spec.connections)))
    finished = time.perf_counter()
    # A run cut short by max_requests is measured up to its last answer.
    elapsed = min(state.end, max(state.last_done, start)) - start
    return LoadResult(
        requests=len(state.latencies),
        errors=state.errors,
        elapsed_s=elapsed,
        latencies_ms=state.latencies,
        statuses=dict(state.statuses),
        error_samples=state.error_samples,
        total_requests=state.total,
        wall_s=finished - began,
        client_cpu_s=time.process_time() - cpu_began,
    )


def _run_loop(main: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    # uvloop, as on the servers' side: the stock loop would make the client the slow end.
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(main)
    return uvloop.run(main)


def generate(spec: LoadSpec) -> LoadResult:
    """Run the load in this process (the entry point of the spawned process)."""
    return _run_loop(_run(spec))


def measure(spec: LoadSpec) -> LoadResult:
    """Run the load in a fresh process, so it shares no GIL with anything else."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(generate, spec).result()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
