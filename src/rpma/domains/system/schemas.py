"""System command responses (seed: System Commands)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ConnectionPool(BaseModel):
    active: int
    idle: int
    total: int


class DatabaseHealth(BaseModel):
    status: str
    round_trip_ms: float
    backend: str
    size_bytes: int
    connection_pool: ConnectionPool


class RedisHealth(BaseModel):
    status: Literal["not_configured", "connected", "unreachable"]


class HealthCheck(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    timestamp: int
    uptime: float
    database: DatabaseHealth
    redis: RedisHealth
    # Why the status is not "healthy" (empty when it is).
    reasons: list[str]


class AppInfo(BaseModel):
    name: str
    version: str
    build: str
    python_version: str
    fastapi_version: str
    sqlalchemy_version: str
    database_backend: str


class TableStats(BaseModel):
    row_count: int
    index_count: int


class DatabaseStats(BaseModel):
    backend: str
    file_size_bytes: int
    tables: dict[str, TableStats]
    total_rows: int
    last_vacuum: int | None
    wal_size_bytes: int
