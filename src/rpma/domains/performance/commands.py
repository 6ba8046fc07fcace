"""Performance commands (seed: Performance Commands). Admin only (CONTRACT.md section 3):
the figures describe the host."""

from __future__ import annotations

from rpma.core.commands import EmptyRequest, command
from rpma.core.context import CommandContext
from rpma.core.metrics import active_websockets
from rpma.domains.performance.schemas import ClearedCache, PerformanceStats
from rpma.domains.settings.categories import stats_window_seconds
from rpma.live.hub import hub_for

ERRORS = ["AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED"]


def _live_connections(ctx: CommandContext) -> int:
    """Clients connected to the live updates (/ws) of this process; the /ipc command
    sockets count through rpma.core.metrics.websocket_opened/closed."""
    hub = hub_for(ctx.services)
    return hub.connected_clients if hub is not None else 0


@command(
    "performance_get_performance_stats",
    request=EmptyRequest,
    response=PerformanceStats,
    permission="system.admin",
    writes=False,
    errors=ERRORS,
)
def performance_get_performance_stats(ctx: CommandContext, _req: EmptyRequest) -> PerformanceStats:
    """Measured figures of this server process: `cpu_usage` (percent of one core since the
    previous call), `memory_usage` (resident bytes), `database_queries_per_second` and
    `average_response_time` (milliseconds per command) over the sliding window
    (`window_seconds`, the `stats_window_seconds` setting, 60 by default),
    `active_websocket_connections` (live updates on /ws and command sockets on /ipc),
    and `cache_hit_ratio` (0 to 1) of the application cache (reports and statistics)
    since it was last cleared."""
    metrics = ctx.services.db.metrics
    window = stats_window_seconds(ctx.db)
    queries = metrics.queries.figures(window)
    commands = metrics.commands.figures(window)
    cache = ctx.services.cache.stats()
    return PerformanceStats(
        cpu_usage=metrics.cpu.percent(),
        memory_usage=metrics.cpu.memory_bytes(),
        database_queries_per_second=round(queries.per_second, 3),
        average_response_time=round(commands.average * 1000, 3),
        active_websocket_connections=_live_connections(ctx) + active_websockets(),
        cache_hit_ratio=round(cache.hit_ratio, 4),
        window_seconds=window,
        commands_in_window=commands.count,
        queries_in_window=queries.count,
        cache_entries=cache.entries,
        cache_hits=cache.hits,
        cache_misses=cache.misses,
    )


@command(
    "performance_clear_application_cache",
    request=EmptyRequest,
    response=ClearedCache,
    permission="system.admin",
    writes=False,
    errors=ERRORS,
)
def performance_clear_application_cache(ctx: CommandContext, _req: EmptyRequest) -> ClearedCache:
    """Drop every entry of the application cache (reports and statistics are computed
    afresh on their next call) and reset its hit counters; answers `entries_dropped`."""
    return ClearedCache(entries_dropped=ctx.services.cache.clear())
