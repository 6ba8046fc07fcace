"""Run-time figures for performance_get_performance_stats: sliding windows of database
queries and command response times, the process's CPU, and live WebSocket connections.

Recording must stay cheap (it runs on every SQL statement and every command): a few
integer operations and no lock on the hot path. Reading sums at most ``WINDOW_MAX_SECONDS``
one-second buckets.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Engine

# The longest window a reader may ask for; the ring holds one bucket per second of it.
WINDOW_MAX_SECONDS: Final = 300
DEFAULT_WINDOW_SECONDS: Final = 60


@dataclass(frozen=True)
class WindowFigures:
    count: int
    total: float
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    @property
    def average(self) -> float:
        return self.total / self.count if self.count else 0.0


class SlidingWindow:
    """Counts (and sums of values) per second over the last ``WINDOW_MAX_SECONDS``.

    ``now`` is a monotonic source in seconds; tests pass their own to get exact figures.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._started = now()
        self._lock = threading.Lock()
        self._seconds = [-1] * WINDOW_MAX_SECONDS  # which second each bucket holds
        self._counts = [0] * WINDOW_MAX_SECONDS
        self._totals = [0.0] * WINDOW_MAX_SECONDS

    def record(self, value: float = 0.0) -> None:
        second = int(self._now())
        slot = second % WINDOW_MAX_SECONDS
        if self._seconds[slot] != second:
            with self._lock:  # once per second: start the bucket afresh
                if self._seconds[slot] != second:
                    self._counts[slot] = 0
                    self._totals[slot] = 0.0
                    self._seconds[slot] = second
        # No lock here: this runs for every SQL statement, and a lock costs more than the
        # rest together. Two threads adding at the same instant may, rarely, lose one
        # count; a statistic can afford that, the hot path cannot afford the lock.
        self._counts[slot] += 1
        self._totals[slot] += value

    def figures(self, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> WindowFigures:
        """What was recorded in the last ``window_seconds`` (the current second included).
        A server younger than the window divides by its age, not by the whole window."""
        window = max(1, min(window_seconds, WINDOW_MAX_SECONDS))
        now = self._now()
        current = int(now)
        oldest = current - window + 1
        count, total = 0, 0.0
        with self._lock:
            for slot in range(WINDOW_MAX_SECONDS):
                if oldest <= self._seconds[slot] <= current:
                    count += self._counts[slot]
                    total += self._totals[slot]
        elapsed = min(float(window), max(now - self._started, 1.0))
        return WindowFigures(count, total, elapsed)


class CpuSampler:
    """The process's CPU use (percent of one core, as ``top`` shows it) since the previous
    reading, or since the process started on the first one."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process(os.getpid())
        self._lock = threading.Lock()
        self._last_wall = self._process.create_time()
        self._last_cpu = 0.0
        self._wall_clock = time.time

    def percent(self) -> float:
        times = self._process.cpu_times()
        cpu = times.user + times.system
        wall = self._wall_clock()
        with self._lock:
            elapsed = wall - self._last_wall
            used = cpu - self._last_cpu
            # Readings closer than a tenth of a second are noise: keep the older base.
            if elapsed >= 0.1:
                self._last_wall, self._last_cpu = wall, cpu
        return round(max(0.0, used / elapsed * 100), 2) if elapsed > 0 else 0.0

    def memory_bytes(self) -> int:
        return int(self._process.memory_info().rss)


class ServerMetrics:
    """One per Database (a server): its queries and its commands."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.queries = SlidingWindow(now)
        self.commands = SlidingWindow(now)
        self._cpu: CpuSampler | None = None

    @property
    def cpu(self) -> CpuSampler:
        if self._cpu is None:  # psutil is imported only when someone asks
            self._cpu = CpuSampler()
        return self._cpu

    def count_queries(self, engine: Engine) -> None:
        record = self.queries.record

        @event.listens_for(engine, "before_cursor_execute")
        def on_execute(*_args: Any) -> None:
            record()


# WebSocket connections of this process that the live-updates hub does not count (the
# /ipc command sockets): their endpoint calls websocket_opened() when a socket is
# accepted and websocket_closed() when it ends. The /ws clients are counted by the hub.
_sockets_lock = threading.Lock()
_open_sockets = 0


def websocket_opened() -> None:
    global _open_sockets
    with _sockets_lock:
        _open_sockets += 1


def websocket_closed() -> None:
    global _open_sockets
    with _sockets_lock:
        _open_sockets = max(0, _open_sockets - 1)


def active_websockets() -> int:
    with _sockets_lock:
        return _open_sockets
