"""Foundation: what one command costs over HTTP, against a bare FastAPI endpoint.

Three scenarios in one run, each loaded the same way: the floor (bench/floor_app.py),
`health_check` (public; one `SELECT 1` and the database file's size) and
`auth_validate_session` (JWT check, then the session and the user read from SQLite).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import textwrap
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastapi
import httpx
import starlette
import uvicorn
from rich.console import Console

from bench import loadgen
from bench.report import Figures, Row, Scenario, markdown_table
from bench.servers import HOST, Server, floor_server, rpma_server

SECTION = "foundation"
OWNER = {
    "email": "owner@shop.example",
    "first_name": "Olive",
    "last_name": "Owner",
    "password": "Workshop-Boss-2024",
}
# Above this share of a core the load generator may be what limits the rate.
CLIENT_SATURATED = 0.9


@dataclass(frozen=True)
class Settings:
    seconds: float
    warmup: float
    rounds: int
    connections: int
    max_requests: int


class BenchFailed(RuntimeError):
    pass


def _call(server: Server, command: str, args: dict[str, Any]) -> Any:
    answer = httpx.post(f"{server.base_url}/ipc/{command}", json=args, timeout=30.0)
    body = answer.json()
    if answer.status_code != 200 or not body.get("success"):
        raise BenchFailed(f"{command} answered HTTP {answer.status_code}: {answer.text[:500]}")
    return body["data"]


def _access_token(server: Server) -> str:
    data = _call(server, "auth_create_account", OWNER)
    token: str = data["access_token"]
    _call(server, "auth_validate_session", {"token": token})  # fail now, not under load
    return token


def _scenarios(token: str) -> list[Scenario]:
    return [
        Scenario("floor", "floor (bare FastAPI)", "floor", "/ipc/floor", b"{}"),
        Scenario("health_check", "health_check", "rpma", "/ipc/health_check", b"{}"),
        Scenario(
            "auth_validate_session",
            "auth_validate_session",
            "rpma",
            "/ipc/auth_validate_session",
            json.dumps({"token": token}).encode(),
        ),
    ]


def _measure(
    server: Server, scenario: Scenario, settings: Settings
) -> tuple[loadgen.LoadResult, float | None]:
    spec = loadgen.LoadSpec(
        host=HOST,
        port=server.port,
        request=loadgen.build_request(HOST, server.port, scenario.path, scenario.body),
        connections=settings.connections,
        warmup_s=settings.warmup,
        duration_s=settings.seconds,
        max_requests=settings.max_requests,
    )
    cpu_before = server.cpu_seconds()
    result = loadgen.measure(spec)
    cpu_after = server.cpu_seconds()
    if server.process.poll() is not None:
        raise BenchFailed(f"{server.name} died under load:\n{server.log_tail()}")
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return result, cpu


def run(settings: Settings, console: Console) -> list[Figures]:
    with tempfile.TemporaryDirectory(prefix="rpma-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        console.print("Starting the floor app and the RPMA server (fresh SQLite database)...")
        servers = {
            "floor": stack.enter_context(floor_server(workdir)),
            "rpma": stack.enter_context(rpma_server(workdir)),
        }
        figures = [Figures(s) for s in _scenarios(_access_token(servers["rpma"]))]
        for round_no in range(settings.rounds):
            # Rotating the order spreads any drift of the machine over every scenario.
            order = figures[round_no % len(figures) :] + figures[: round_no % len(figures)]
            for fig in order:
                console.print(
                    f"  round {round_no + 1}/{settings.rounds}: {fig.scenario.title} "
                    f"({settings.warmup:g} s warm-up + {settings.seconds:g} s)"
                )
                result, cpu = _measure(servers[fig.scenario.server], fig.scenario, settings)
                fig.add(result, cpu)
        return figures


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "stack": f"uvicorn {uvicorn.__version__}, FastAPI {fastapi.__version__}, "
        f"Starlette {starlette.__version__}",
    }


def _reading(table: list[Row], figures: list[Figures], connections: int) -> str:
    floor, health, validate = table
    client_busy = max(fig.client_busy for fig in figures)
    client_us = [row.client_cpu_us for row in table]
    server_busy = [fig.server_busy for fig in figures if fig.server_busy is not None]
    text = (
        f"Over HTTP, `health_check` sustains {health.rps_ratio:.0%} of the floor's "
        f"throughput and `auth_validate_session` {validate.rps_ratio:.0%}; their median "
        f"latency is {health.p50_ratio:.1f}x and {validate.p50_ratio:.1f}x the floor's. "
        f"With {connections} connections each keeping a request in flight on one server "
        f"process, the time per request (1 / req/s) is close to what a request costs the server: "
        f"the floor's is {1e6 / floor.rps:,.0f} µs, and a command adds "
        f"{health.added_us:,.0f} µs (`health_check`) or {validate.added_us:,.0f} µs "
        f"(`auth_validate_session`) on top. HTTP parsing, routing and JSON are in the "
        f"floor already, so the added time is RPMA's command path: the hop to a worker "
        f"thread, a SQLAlchemy session and a SQLite transaction per call, Pydantic "
        f"validation and serialisation, and for `auth_validate_session` the JWT check and "
        f"the session and user reads."
    )
    if server_busy:
        text += (
            f" The server process used {min(server_busy):.2f} to {max(server_busy):.2f} "
            f"cores, and its CPU per request follows the same order as the added time."
        )
        if max(server_busy) > 1.05:
            text += (
                " Above one core, the command's worker threads are running on both cores "
                "at once: they add no throughput (the GIL lets one run at a time) but burn "
                "CPU handing it over, and take it from the load generator's core."
            )
    if client_busy <= CLIENT_SATURATED:
        text += (
            f" The load generator spent {min(client_us):,.0f} to {max(client_us):,.0f} µs of "
            f"CPU per request and at most {client_busy:.0%} of a core, so it was not the "
            f"limit."
        )
    else:
        text += (
            f" The load generator used up to {client_busy:.0%} of a core: in that scenario "
            f"it may have been the limit, and the ratio flatters RPMA."
        )
    return text + (
        " p99 is where the queueing of the connections on one event loop shows; it moves "
        "more than p50 from run to run, as do the absolute rates on a shared machine."
    )


def _fill(paragraph: str) -> str:
    return textwrap.fill(
        " ".join(paragraph.split()), width=88, break_long_words=False, break_on_hyphens=False
    )


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def section(settings: Settings, figures: list[Figures], table: list[Row], load: float) -> str:
    info = machine()
    today = datetime.now(UTC).date().isoformat()
    rounds = (
        f"in {settings.rounds} rounds whose order rotates"
        if settings.rounds > 1
        else "in one round"
    )
    per_scenario = settings.rounds * settings.seconds
    machine_line = f"""
        Measured {today} on {info["cpus"]} CPUs ({info["cpu"]}), {info["os"]}, Python
        {info["python"]}; {info["stack"]}. One-minute load average before the run:
        {load:.2f}.
    """
    method = f"""
        **Method.** `python -m bench` starts two uvicorn processes with identical options
        (one worker, uvloop, httptools, `--log-level warning`): the floor app
        (`bench/floor_app.py`, one `async` endpoint `POST /ipc/floor` answering a
        four-field envelope) and the real server (`rpma.asgi:app`, the app `rpma serve`
        runs, on a fresh SQLite database in a temporary data directory, rate limits off).
        It creates the first account to get a real access token. The load generator
        (`bench/loadgen.py`) runs in a spawned process of its own: raw asyncio (uvloop)
        HTTP/1.1 keep-alive, {settings.connections} connections each sending a pre-built
        request and reading the answer by its Content-Length, one request in flight per
        connection. Each scenario gets {settings.warmup:g} s of warm-up and
        {settings.seconds:g} s measured, {rounds}; the figures pool
        the {per_scenario:g} measured seconds of each scenario. Latency is per request,
        from writing it to reading the last byte of the answer; any non-200 answer counts
        as an error and fails the run. *added µs/req* is 1e6 / req/s - 1e6 / floor req/s;
        the CPU columns are process CPU time (all threads) divided by requests, warm-up
        included. **The machine has {info["cpus"]} cores, and the server and the load
        generator share them** (with whatever else runs there): the rates are those of one
        server process with a busy neighbour, so read the ratios, not the absolute
        numbers.
    """
    parts = [
        "## Foundation: HTTP command overhead",
        _fill(machine_line),
        _fill(method),
        markdown_table(table),
        _fill(_reading(table, figures, settings.connections)),
    ]
    return "\n\n".join(parts) + "\n"
