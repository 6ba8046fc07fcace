"""System commands (seed: System Commands; CONTRACT.md section 3 for who may call)."""

from __future__ import annotations

import platform
from typing import Literal

import fastapi
import sqlalchemy

from rpma import __version__
from rpma.core.clock import clock
from rpma.core.commands import command
from rpma.core.context import CommandContext
from rpma.core.permissions import PUBLIC
from rpma.domains.settings.categories import SLOW_DATABASE_MS_KEY, slow_database_threshold_ms
from rpma.domains.system import service
from rpma.domains.system.schemas import (
    AppInfo,
    DatabaseHealth,
    DatabaseStats,
    HealthCheck,
    RedisHealth,
)


def _backend(ctx: CommandContext) -> str:
    return ctx.services.db.engine.dialect.name


@command("health_check", response=HealthCheck, permission=PUBLIC, writes=False)
def health_check(ctx: CommandContext, _req: object) -> HealthCheck:
    """Is the server up, and are its database and (when configured) Redis answering?
    `unhealthy` when the database does not answer; `degraded` when a database round trip
    takes longer than the `slow_database_threshold_ms` setting (1000 by default) or the
    configured Redis does not answer; `reasons` says which."""
    reachable, seconds, stored = service.ping(ctx.db, SLOW_DATABASE_MS_KEY)
    round_trip_ms = round(seconds * 1000, 3)
    reasons: list[str] = []
    if not reachable:
        reasons.append("database unreachable")
    else:
        threshold = slow_database_threshold_ms(stored)
        if round_trip_ms > threshold:
            reasons.append(
                f"database slow: {round_trip_ms} ms round trip (threshold {threshold} ms)"
            )
    redis_url = ctx.services.settings.redis_url
    redis_status: Literal["not_configured", "connected", "unreachable"] = "not_configured"
    if redis_url:
        redis_status = "connected" if service.redis_reachable(redis_url) else "unreachable"
        if redis_status == "unreachable":
            reasons.append("redis unreachable")
    status: Literal["healthy", "degraded", "unhealthy"] = (
        "unhealthy" if not reachable else "degraded" if reasons else "healthy"
    )
    return HealthCheck(
        status=status,
        version=__version__,
        timestamp=clock.now_ms(),
        uptime=round(ctx.services.uptime_seconds, 3),
        database=DatabaseHealth(
            status="connected" if reachable else "unreachable",
            backend=_backend(ctx),
            round_trip_ms=round_trip_ms,
            size_bytes=service.database_size(ctx.db) if reachable else 0,
            connection_pool=service.pool_figures(ctx.services.db.engine),
        ),
        redis=RedisHealth(status=redis_status),
        reasons=reasons,
    )


@command("get_app_info", response=AppInfo, permission=PUBLIC, writes=False)
def get_app_info(ctx: CommandContext, _req: object) -> AppInfo:
    """Name, version and the versions of the stack (where the seed listed Tauri/Rust/Node)."""
    return AppInfo(
        name="RPMA",
        version=__version__,
        build=f"{platform.system().lower()}-{platform.machine()}",
        python_version=platform.python_version(),
        fastapi_version=fastapi.__version__,
        sqlalchemy_version=sqlalchemy.__version__,
        database_backend=_backend(ctx),
    )


@command(
    "get_database_stats",
    response=DatabaseStats,
    permission="system.admin",
    writes=False,
    errors=["AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED"],
)
def get_database_stats(ctx: CommandContext, _req: object) -> DatabaseStats:
    """File and WAL size, rows and indexes per table, and the last vacuum."""
    return service.database_stats(ctx.db, _backend(ctx))


@command(
    "vacuum_database",
    response=str,
    permission="system.admin",
    errors=["AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED", "DATABASE_ERROR"],
)
def vacuum_database(ctx: CommandContext, _req: object) -> str:
    """Reclaim space and refresh the planner's statistics."""
    engine = ctx.services.db.engine
    before = service.database_size(ctx.db)
    # Our own transaction holds no lock yet (reads only so far); end it so VACUUM on
    # SQLite does not wait on us.
    ctx.db.rollback()
    service.vacuum(engine)
    service.record_vacuum(ctx.db)
    after = service.database_size(ctx.db)
    return f"Database optimized: {before} bytes before, {after} bytes after"
