"""Engines, sessions and the declarative base.

SQLite (the embedded default) runs in WAL mode with foreign keys and a busy timeout;
commands that write open their transaction with BEGIN IMMEDIATE so that two writers
queue on the busy timeout instead of failing on a lock upgrade.
PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Integer, MetaData, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from rpma.config import Settings
from rpma.core.metrics import ServerMetrics

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from rpma.core.cache import TableVersions

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 36  # UUID strings


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AuditMixin:
    """Who and when, as Unix milliseconds (DOMAIN.md: every entity)."""

    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    updated_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))


class SyncMixin:
    """Synced entities: a version bumped on every change and a soft delete."""

    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("rpma_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def make_engine(url: str, settings: Settings) -> Engine:
    if url.startswith("sqlite"):
        in_memory = url in {"sqlite://", "sqlite:///:memory:"}
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if in_memory:
            kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_size"] = settings.db_pool_size
            kwargs["max_overflow"] = settings.db_pool_size
        engine = create_engine(url, hide_parameters=True, **kwargs)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        hide_parameters=True,  # SQL errors must never carry a hash or token into a log
    )


_COMMIT_NOTES = "rpma_commit_notes"
# What a committed transaction did that other parts react to (``Database.on_committed``).
SESSIONS_CHANGED = "sessions_changed"  # a session revoked, a role changed, an account off


def note_for_commit(db: Session, note: str) -> None:
    """Tell ``Database.on_committed`` listeners about this transaction once it commits
    (nothing is said if it rolls back)."""
    db.info.setdefault(_COMMIT_NOTES, set()).add(note)


_STATEMENT_CHANGES = "rpma_statement_changes"


def note_statement_change(db: Session, model: type[Any], kind: str, ids: Iterable[str]) -> None:
    """Rows of ``model`` created (``kind`` "create") or changed ("update") by an INSERT
    or UPDATE statement rather than through the unit of work, which session events do
    not see: change capture (sync) reads them at commit."""
    db.info.setdefault(_STATEMENT_CHANGES, []).append((model, kind, list(ids)))


def statement_changes(db: Session) -> list[tuple[type[Any], str, list[str]]]:
    """What ``note_statement_change`` recorded in this transaction, forgotten once read."""
    found: list[tuple[type[Any], str, list[str]]] = db.info.pop(_STATEMENT_CHANGES, [])
    return found


class Database:
    """One engine, two session factories: reads, and writes (BEGIN IMMEDIATE on SQLite)."""

    def __init__(self, settings: Settings, url: str | None = None) -> None:
        self.url = url or settings.resolved_database_url
        self.engine = make_engine(self.url, settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Queries per second for performance_get_performance_stats.
        self.metrics = ServerMetrics()
        self.metrics.count_queries(self.engine)
        write_engine = self.engine.execution_options(rpma_write=True)
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._writer = sessionmaker(bind=write_engine, expire_on_commit=False)
        self._listeners: dict[str, list[Callable[[], None]]] = {}
        self._write_lock = threading.Lock()
        self._busy_timeout_s = settings.sqlite_busy_timeout_ms / 1000
        self._install_commit_notes()

    def on_committed(self, note: str, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each commit that noted ``note``; answers how to stop."""
        self._listeners.setdefault(note, []).append(listener)
        return lambda: self._listeners.get(note, []).remove(listener)

    def _install_commit_notes(self) -> None:
        for factory in (self._writer, self._reader):

            @event.listens_for(factory, "after_commit")
            def after_commit(session: Session) -> None:
                for note in session.info.pop(_COMMIT_NOTES, ()):
                    for listener in list(self._listeners.get(note, ())):
                        try:
                            listener()
                        except Exception:  # the commit stands; a listener must not undo it
                            log.exception("commit listener for %s failed", note)

            @event.listens_for(factory, "after_rollback")
            def after_rollback(session: Session) -> None:
                session.info.pop(_COMMIT_NOTES, None)
                session.info.pop(_STATEMENT_CHANGES, None)

    def track_writes(self, versions: TableVersions) -> None:
        """Let the application cache see which tables each commit wrote."""
        versions.track(self._writer)
        versions.track(self._reader)

    @property
    def session_factories(self) -> tuple[sessionmaker[Session], ...]:
        """Both factories, for listeners that must see every session (sync capture)."""
        return (self._writer, self._reader)

    @contextmanager
    def write_turn(self, write: bool) -> Iterator[None]:
        """On SQLite, this process's writers queue on a lock before BEGIN IMMEDIATE.
        A waiting writer then starts the moment the previous one commits, where SQLite's
        busy handler would sleep and poll (the p99 of concurrent consumptions was 10x
        their p50). After the busy timeout the writer goes ahead and SQLite decides, as
        before; other processes (the CLI) still meet only SQLite's lock."""
        if not (write and self.is_sqlite):
            yield
            return
        acquired = self._write_lock.acquire(timeout=self._busy_timeout_s)
        try:
            yield
        finally:
            if acquired:
                self._write_lock.release()

    def session(self, *, write: bool) -> Session:
        return (self._writer if write else self._reader)()

    def dispose(self) -> None:
        self.engine.dispose()
