"""System commands (seed: System Commands; CONTRACT.md section 3 for who may call)."""

from __future__ import annotations

import platform

import fastapi
import sqlalchemy

from rpma import __version__
from rpma.core.clock import clock
from rpma.core.commands import command
from rpma.core.context import CommandContext
from rpma.core.permissions import PUBLIC
from rpma.domains.system import service
from rpma.domains.system.schemas import AppInfo, DatabaseHealth, DatabaseStats, HealthCheck


def _backend(ctx: CommandContext) -> str:
    return ctx.services.db.engine.dialect.name


@command("health_check", response=HealthCheck, permission=PUBLIC, writes=False)
def health_check(ctx: CommandContext, _req: object) -> HealthCheck:
    """Is the server up, and is its database answering?"""
    reachable, seconds = service.ping(ctx.db)
    status = "healthy"
    if not reachable:
        status = "unhealthy"
    elif seconds > service.SLOW_PING_SECONDS:
        status = "degraded"
    return HealthCheck(
        status=status,
        version=__version__,
        timestamp=clock.now_ms(),
        uptime=round(ctx.services.uptime_seconds, 3),
        database=DatabaseHealth(
            status="connected" if reachable else "unreachable",
            backend=_backend(ctx),
            size_bytes=service.database_size(ctx.db) if reachable else 0,
            connection_pool=service.pool_figures(ctx.services.db.engine),
        ),
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
