"""Performance responses (seed: Performance Commands)."""

from __future__ import annotations

from pydantic import BaseModel


class PerformanceStats(BaseModel):
    """The seed's fields first; the rest says what they were measured over."""

    cpu_usage: float  # percent of one core used by this server process
    memory_usage: int  # resident memory of the process, bytes
    database_queries_per_second: float
    average_response_time: float  # milliseconds per command
    active_websocket_connections: int
    cache_hit_ratio: float  # 0..1
    window_seconds: int
    commands_in_window: int
    queries_in_window: int
    cache_entries: int
    cache_hits: int
    cache_misses: int


class ClearedCache(BaseModel):
    entries_dropped: int
