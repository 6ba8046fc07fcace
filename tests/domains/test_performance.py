"""Performance figures: the sliding windows (exact, with a time source the test moves),
and the admin commands over HTTP with the server's real counters."""

from __future__ import annotations

import json
import os
from functools import partial

import psutil
from websockets.sync.client import connect

from rpma.client import IpcClient
from rpma.core.metrics import (
    WINDOW_MAX_SECONDS,
    SlidingWindow,
    active_websockets,
    websocket_closed,
    websocket_opened,
)
from tests.conftest import LiveServer
from tests.helpers import refused


class Seconds:
    """A monotonic source the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_counts_averages_and_forgets() -> None:
    seconds = Seconds()
    window = SlidingWindow(seconds)
    seconds.now += 120  # a server older than the window divides by the window
    for value in (0.010, 0.030):
        window.record(value)
    seconds.now += 1
    window.record(0.020)
    figures = window.figures(60)
    assert (figures.count, round(figures.total, 6), figures.seconds) == (3, 0.06, 60.0)
    assert round(figures.average, 6) == 0.02
    assert figures.per_second == 3 / 60
    seconds.now += 59  # the first two fall out of a 60 s window, not of a 61 s one
    assert window.figures(60).count == 1
    assert window.figures(61).count == 3
    seconds.now += WINDOW_MAX_SECONDS  # a bucket reused after a full turn starts afresh
    window.record(1.0)
    assert (window.figures(60).count, window.figures(60).total) == (1, 1.0)


def test_young_server_divides_by_its_age() -> None:
    seconds = Seconds()
    window = SlidingWindow(seconds)
    seconds.now += 10
    for _ in range(20):
        window.record()
    assert window.figures(60).per_second == 2.0


def test_stats_are_real_figures(admin: IpcClient, server: LiveServer) -> None:
    for _ in range(5):
        admin.call("health_check")
    stats = admin.performance.stats()
    assert stats["window_seconds"] == 60
    assert stats["commands_in_window"] >= 6  # sign-up, five health checks
    assert stats["queries_in_window"] > stats["commands_in_window"]
    assert stats["database_queries_per_second"] > 0
    assert stats["average_response_time"] > 0
    assert stats["cpu_usage"] >= 0
    # The test server runs in this process: the same resident memory, give or take.
    rss = psutil.Process(os.getpid()).memory_info().rss
    assert rss / 2 < stats["memory_usage"] < rss * 2
    admin.settings.update_performance(stats_window_seconds=10)
    assert admin.performance.stats()["window_seconds"] == 10


def test_live_clients_are_counted(admin: IpcClient, server: LiveServer) -> None:
    before = admin.performance.stats()["active_websocket_connections"]
    url = f"{server.ws_url}/ws?token={admin.token}"
    with connect(url, open_timeout=10) as first, connect(url, open_timeout=10) as second:
        for conn in (first, second):
            assert json.loads(conn.recv(timeout=10))["type"] == "welcome"
        assert admin.performance.stats()["active_websocket_connections"] == before + 2


def test_command_sockets_are_counted(admin: IpcClient) -> None:
    before = active_websockets()
    websocket_opened()
    websocket_opened()
    try:
        assert admin.performance.stats()["active_websocket_connections"] == before + 2
    finally:
        websocket_closed()
        websocket_closed()
    assert admin.performance.stats()["active_websocket_connections"] == before


def test_cache_hit_ratio_and_clearing(admin: IpcClient, server: LiveServer) -> None:
    cache = server.services.cache
    cache.clear()
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return 42

    for _ in range(3):
        assert cache.get_or_compute("report:demo", ["tasks"], compute) == 42
    assert computed == [1]
    stats = admin.performance.stats()
    assert (stats["cache_hits"], stats["cache_misses"], stats["cache_entries"]) == (2, 1, 1)
    assert stats["cache_hit_ratio"] == 0.6667
    assert admin.performance.clear_cache() == {"entries_dropped": 1}
    stats = admin.performance.stats()
    assert (stats["cache_hits"], stats["cache_misses"], stats["cache_entries"]) == (0, 0, 0)
    assert stats["cache_hit_ratio"] == 0.0
    assert admin.performance.clear_cache() == {"entries_dropped": 0}


def test_only_an_admin(role_clients: dict[str, IpcClient], server: LiveServer) -> None:
    server.services.cache.get_or_compute("report:kept", ["tasks"], lambda: 1)
    for role in ("supervisor", "technician", "viewer"):
        client = role_clients[role]
        for command in ("performance_get_performance_stats", "performance_clear_application_cache"):
            refused(server.services, partial(client.call, command, {}), "AUTH_FORBIDDEN", 403)
    assert server.services.cache.stats().entries >= 1  # nobody cleared it
