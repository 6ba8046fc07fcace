"""Settings, read from RPMA_* environment variables, and the data directory."""

from __future__ import annotations

import os
import sys
from functools import cached_property
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """A per-user folder, as desktop programs keep their data."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "RPMA"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "RPMA"
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "rpma"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RPMA_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str | None = Field(default=None, repr=False)
    debug: bool = False

    # The seed's token lifetimes.
    access_token_minutes: int = 8 * 60
    refresh_token_days: int = 30

    # The seed's Argon2id parameters. Tests lower them; everything else keeps these.
    argon2_memory_kib: int = 32 * 1024
    argon2_time_cost: int = 3
    argon2_parallelism: int = 4

    # The seed's rate limits (CONTRACT.md section 7).
    rate_limits_enabled: bool = True
    rate_limit_auth: str = "10/minute"
    rate_limit_tasks: str = "100/minute"
    rate_limit_upload: str = "5/minute"
    rate_limit_calendar: str = "200/minute"
    rate_limit_reports: str = "20/minute"

    # Envelopes whose data JSON is larger than this are compressed when the client asks.
    compression_threshold_bytes: int = 1024
    sqlite_busy_timeout_ms: int = 5000
    # Threads that run commands at once, per process (see core/dispatch.py).
    worker_threads: int = Field(default=4, ge=1, le=64)
    db_pool_size: int = 10
    stream_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)  # start_stream_transfer cap
    stream_abandon_minutes: int = Field(default=60, ge=1)  # unfinished streams are removed after
    # Notifications (docs/NOTIFICATIONS.md): the outbox worker, retries, provider calls.
    notification_worker_enabled: bool = True
    notification_poll_seconds: float = Field(default=5.0, gt=0)
    # Wait before attempt 2, 3, ...: one more attempt than entries, then dead-lettered.
    notification_retry_seconds: list[int] = Field(
        default_factory=lambda: [30, 120, 600, 1800, 7200], min_length=1
    )
    notification_provider_timeout_seconds: float = Field(default=10.0, gt=0)
    # A claimed row returns to the queue if its worker has not answered by then.
    notification_lease_seconds: float = Field(default=300.0, gt=0)
    # Sync (docs/SYNC.md): the central RPMA server this machine pushes to and pulls from
    # (None: no central server, this machine works alone or is itself the central).
    sync_url: str | None = None
    # The credential issued by the central's sync_issue_token; never logged or returned.
    sync_token: str | None = Field(default=None, repr=False)
    sync_interval_seconds: float = Field(default=300.0, gt=0)
    sync_batch_size: int = Field(default=100, ge=1, le=1000)
    sync_timeout_seconds: float = Field(default=15.0, gt=0)
    # Start the background service with the server when sync_url is set.
    sync_autostart: bool = True
    # This machine's name in the sync feed; a random id kept in the database by default.
    sync_node_id: str | None = Field(default=None, min_length=1, max_length=64)
    # Operations handed out by sync_dequeue_batch return to pending after this long.
    sync_lease_seconds: float = Field(default=300.0, gt=0)
    # Machines that sync share one task-number space (YYYYMMDD-NNN): machine k of n
    # issues k, k+n, k+2n... each day (docs/SYNC.md). One machine: 1 of 1.
    task_number_stride: int = Field(default=1, ge=1, le=99)
    task_number_offset: int = Field(default=1, ge=1, le=99)

    @model_validator(mode="after")
    def _offset_within_stride(self) -> Settings:
        if self.task_number_offset > self.task_number_stride:
            raise ValueError(
                f"RPMA_TASK_NUMBER_OFFSET ({self.task_number_offset}) must be between 1 and "
                f"RPMA_TASK_NUMBER_STRIDE ({self.task_number_stride})"
            )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'rpma.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir
