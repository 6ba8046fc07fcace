"""Real figures about the running server and its database."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from rpma.core.clock import clock
from rpma.core.db import Base
from rpma.domains.settings.models import AppSetting
from rpma.domains.system.models import SystemState
from rpma.domains.system.schemas import ConnectionPool, DatabaseStats, TableStats

LAST_VACUUM = "last_vacuum"
# A configured Redis that does not answer within this is reported unreachable.
REDIS_TIMEOUT_SECONDS = 0.5


def sqlite_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def file_size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def database_size(db: Session) -> int:
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    path = sqlite_path(engine)
    if path is not None:
        return file_size(path)
    if engine.dialect.name == "postgresql":
        return int(db.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    return 0


def pool_figures(engine: Engine) -> ConnectionPool:
    pool = engine.pool
    if isinstance(pool, QueuePool):
        active = pool.checkedout()
        idle = pool.checkedin()
        return ConnectionPool(active=active, idle=idle, total=active + idle)
    return ConnectionPool(active=0, idle=0, total=0)


def ping(db: Session, setting_key: str) -> tuple[bool, float, str | None]:
    """One database round trip: whether it answered, how long it took, and the stored
    JSON of the setting ``setting_key`` (read by the same query, so that a health check
    costs no more queries than a bare ``SELECT 1``)."""
    started = time.perf_counter()
    try:
        value = db.scalar(select(AppSetting.value).where(AppSetting.key == setting_key))
    except Exception:
        return False, time.perf_counter() - started, None
    return True, time.perf_counter() - started, value


def database_stats(db: Session, backend: str) -> DatabaseStats:
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    inspector = inspect(db.connection())
    tables: dict[str, TableStats] = {}
    for table in Base.metadata.sorted_tables:
        # Table names come from our own metadata, never from a caller.
        rows = int(db.scalar(select(text("count(*)")).select_from(table)) or 0)
        # PostgreSQL lists a unique constraint's index among the indexes too: count names.
        names = {ix["name"] for ix in inspector.get_indexes(table.name)}
        names |= {uq["name"] for uq in inspector.get_unique_constraints(table.name)}
        tables[table.name] = TableStats(row_count=rows, index_count=len(names))
    path = sqlite_path(engine)
    wal = file_size(Path(f"{path}-wal")) if path else 0
    return DatabaseStats(
        backend=backend,
        file_size_bytes=database_size(db),
        tables=tables,
        total_rows=sum(t.row_count for t in tables.values()),
        last_vacuum=last_vacuum(db),
        wal_size_bytes=wal,
    )


def last_vacuum(db: Session) -> int | None:
    row = db.get(SystemState, LAST_VACUUM)
    return int(row.value) if row else None


def vacuum(engine: Engine) -> None:
    """VACUUM cannot run inside a transaction, so it takes its own autocommit connection."""
    if engine.dialect.name == "sqlite":
        # The driver runs in autocommit (core.db takes BEGIN into its own hands), so a
        # raw connection executes VACUUM outside any transaction.
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA optimize")
            cursor.close()
        finally:
            raw.close()
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")


def record_vacuum(db: Session) -> int:
    now = clock.now_ms()
    row = db.get(SystemState, LAST_VACUUM)
    if row is None:
        db.add(SystemState(key=LAST_VACUUM, value=str(now), updated_at=now))
    else:
        row.value, row.updated_at = str(now), now
    db.flush()
    return now


def redis_reachable(url: str) -> bool:
    """Whether the Redis at ``url`` answers a PING (quickly: health checks must not hang)."""
    import redis

    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False
    finally:
        client.close()
