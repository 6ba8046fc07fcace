"""The application cache: results of costly reads (reports, statistics) kept until a write
touches a table they read.

Invalidation is automatic. Every session of the Database records which tables its
flushes and bulk statements wrote; when it commits, those tables' versions go up. A
cached entry remembers the versions of the tables it read and is stale as soon as one
of them moved. With Redis configured the versions live there, so a write in one server
process invalidates the entries of every process; otherwise they live in memory.

Two rules keep a cached value from being older than the versions it is stored under:
the versions are read *before* the value is computed, and the value is computed in a
transaction that *begins after* that read (``get_or_query`` opens one). A transaction
already open when the versions were read may hold a snapshot from before a commit whose
version bump it then sees (SQLite's WAL read snapshot, PostgreSQL's repeatable read),
and it may hold the caller's own uncommitted writes.

What is tracked: ORM flushes (new, changed, deleted objects) and ORM-enabled
``insert``/``update``/``delete`` statements run through a session. A delete also marks
the tables whose foreign keys cascade from the deleted table (ON DELETE CASCADE or SET
NULL change their rows too). Raw SQL text and statements run on a bare connection are
not seen: bump their tables explicitly (``TableVersions.bump``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from redis.exceptions import RedisError
from sqlalchemy import MetaData, Table, event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

T = TypeVar("T")
log = logging.getLogger(__name__)
_WRITTEN = "rpma_written_tables"
# Foreign-key actions that change the referring table's rows when a row is deleted.
_CASCADING = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})


class SessionSource(Protocol):
    """Where ``get_or_query`` gets its fresh read transaction (``core.db.Database``)."""

    def session(self, *, write: bool) -> Session: ...


def cascade_targets(metadata: MetaData, deleted: Iterable[str]) -> set[str]:
    """The tables a delete from ``deleted`` may change through cascading foreign keys,
    followed transitively (``deleted`` included)."""
    found = set(deleted)
    pending = list(found)
    while pending:
        parent = pending.pop()
        for table in metadata.tables.values():
            if table.name in found:
                continue
            for fk in table.foreign_keys:
                if fk.column.table.name == parent and (fk.ondelete or "").upper() in _CASCADING:
                    found.add(table.name)
                    pending.append(table.name)
                    break
    return found


class VersionsUnavailable(Exception):
    """The shared versions (Redis) cannot be read: no cached entry can be trusted."""


class TableVersions:
    """A counter per table; bumped after each commit that wrote the table."""

    def __init__(self, redis_url: str | None = None, prefix: str = "rpma:tablever:") -> None:
        self._lock = threading.Lock()
        self._local: dict[str, int] = {}
        self._prefix = prefix
        self._redis: Any = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
        # Redis may lose its keys (a restart without persistence, a FLUSHDB); counters
        # would start again from 0 and meet old entries' versions. A random generation
        # stored beside them is part of every version tuple, so a lost generation makes
        # every entry stale instead.
        self._generation_key = prefix + "__generation__"
        self._missed_bump = False

    def bump(self, tables: Iterable[str]) -> None:
        names = sorted(set(tables))
        if not names:
            return
        if self._redis is not None:
            try:
                pipe = self._redis.pipeline()
                for name in names:
                    pipe.incr(self._prefix + name)
                pipe.execute()
            except RedisError:
                # The write has committed: it must not fail because Redis is down. The
                # lost bump is made up for by a new generation once Redis answers again.
                self._missed_bump = True
                log.warning("cache versions not bumped (Redis unreachable): %s", names)
            return
        with self._lock:
            for name in names:
                self._local[name] = self._local.get(name, 0) + 1

    def current(self, tables: Iterable[str]) -> tuple[int | str, ...]:
        names = sorted(set(tables))
        if self._redis is not None:
            try:
                return self._redis_versions(names)
            except RedisError as error:
                raise VersionsUnavailable(str(error)) from error
        with self._lock:
            return tuple(self._local.get(n, 0) for n in names)

    def _redis_versions(self, names: list[str]) -> tuple[int | str, ...]:
        if self._missed_bump:
            # Some commit's bump never reached Redis: a new generation makes every
            # entry of every process stale, whichever tables that commit wrote.
            self._redis.delete(self._generation_key)
            self._missed_bump = False
        keys = [self._generation_key, *(self._prefix + n for n in names)]
        generation, *values = self._redis.mget(keys)
        if generation is None:
            self._redis.set(self._generation_key, uuid.uuid4().hex, nx=True)
            generation, *values = self._redis.mget(keys)
        return (generation.decode(), *(int(v or 0) for v in values))

    def track(self, session_factory: Any) -> None:
        """Record the tables written through sessions made by ``session_factory``."""

        def remember(session: Session, tables: Iterable[Table], *, deleted: bool) -> None:
            tables = list(tables)
            names = {t.name for t in tables}
            if deleted and tables:
                names = cascade_targets(tables[0].metadata, names)
            session.info.setdefault(_WRITTEN, set()).update(names)

        def table_of(instance: object) -> Table | None:
            table = getattr(instance, "__table__", None)
            return table if isinstance(table, Table) else None

        @event.listens_for(session_factory, "after_flush")
        def after_flush(session: Session, _flush: UOWTransaction) -> None:
            changed = {table_of(o) for o in [*session.new, *session.dirty]}
            removed = {table_of(o) for o in session.deleted}
            remember(session, changed - {None}, deleted=False)  # type: ignore[arg-type]
            remember(session, removed - {None}, deleted=True)  # type: ignore[arg-type]

        @event.listens_for(session_factory, "do_orm_execute")
        def on_execute(state: ORMExecuteState) -> None:
            if state.is_insert or state.is_update or state.is_delete:
                table = getattr(state.statement, "table", None)
                if isinstance(table, Table):
                    remember(state.session, [table], deleted=state.is_delete)

        @event.listens_for(session_factory, "after_commit")
        def after_commit(session: Session) -> None:
            self.bump(session.info.pop(_WRITTEN, set()))

        @event.listens_for(session_factory, "after_rollback")
        def after_rollback(session: Session) -> None:
            session.info.pop(_WRITTEN, None)

        @event.listens_for(session_factory, "after_transaction_end")
        def after_end(session: Session, transaction: SessionTransaction) -> None:
            # A session closed without commit or rollback wrote nothing durable.
            if transaction.parent is None:
                session.info.pop(_WRITTEN, None)


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int

    @property
    def hit_ratio(self) -> float:
        looked_up = self.hits + self.misses
        return self.hits / looked_up if looked_up else 0.0


class AppCache:
    """A bounded LRU of computed results, each tied to the versions of the tables it read."""

    def __init__(self, versions: TableVersions, max_entries: int = 512) -> None:
        self._versions = versions
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[tuple[int | str, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get_or_compute(self, key: str, tables: Iterable[str], compute: Callable[[], T]) -> T:
        """The cached value of ``key`` if no table in ``tables`` changed since it was
        stored, else ``compute()`` (stored for next time). Read the versions before
        computing, so that a write landing during the computation makes the entry stale
        rather than hiding it. ``compute`` must read in a transaction that begins after
        this call (``get_or_query`` does that for you). Treat the value as immutable:
        every later hit answers the same object."""
        names = sorted(set(tables))
        try:
            versions = self._versions.current(names)
        except VersionsUnavailable:
            # Without versions nothing can be proven fresh: compute, keep nothing.
            with self._lock:
                self._misses += 1
            return compute()
        full_key = f"{key}|{','.join(names)}"
        with self._lock:
            found = self._entries.get(full_key)
            if found is not None and found[0] == versions:
                self._entries.move_to_end(full_key)
                self._hits += 1
                return found[1]  # type: ignore[no-any-return]
            self._misses += 1
        value = compute()
        with self._lock:
            self._entries[full_key] = (versions, value)
            self._entries.move_to_end(full_key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def get_or_query(
        self,
        key: str,
        tables: Iterable[str],
        database: SessionSource,
        query: Callable[[Session], T],
    ) -> T:
        """``get_or_compute`` with ``query`` run in its own read transaction, begun after
        the versions were read (see the module's docstring). ``query`` only reads."""

        def compute() -> T:
            with database.session(write=False) as db:
                try:
                    return query(db)
                finally:
                    db.rollback()

        return self.get_or_compute(key, tables, compute)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries))

    def clear(self) -> int:
        """Drop every entry and reset the counters; answers how many entries were dropped."""
        with self._lock:
            dropped = len(self._entries)
            self._entries.clear()
            self._hits = self._misses = 0
            return dropped
