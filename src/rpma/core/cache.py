"""The application cache: results of costly reads (reports, statistics) kept until a write
touches a table they read.

Invalidation is automatic. Every session of the Database records which tables its
flushes and bulk statements wrote; when it commits, those tables' versions go up. A
cached entry remembers the versions of the tables it read and is stale as soon as one
of them moved. With Redis configured the versions live there, so a write in one server
process invalidates the entries of every process; otherwise they live in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

T = TypeVar("T")
_WRITTEN = "rpma_written_tables"


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

    def bump(self, tables: Iterable[str]) -> None:
        names = sorted(set(tables))
        if not names:
            return
        if self._redis is not None:
            pipe = self._redis.pipeline()
            for name in names:
                pipe.incr(self._prefix + name)
            pipe.execute()
            return
        with self._lock:
            for name in names:
                self._local[name] = self._local.get(name, 0) + 1

    def current(self, tables: Iterable[str]) -> tuple[int, ...]:
        names = sorted(set(tables))
        if self._redis is not None:
            values = self._redis.mget([self._prefix + n for n in names]) if names else []
            return tuple(int(v or 0) for v in values)
        with self._lock:
            return tuple(self._local.get(n, 0) for n in names)

    def track(self, session_factory: Any) -> None:
        """Record the tables written through sessions made by ``session_factory``."""

        def remember(session: Session, names: Iterable[str]) -> None:
            session.info.setdefault(_WRITTEN, set()).update(names)

        @event.listens_for(session_factory, "after_flush")
        def after_flush(session: Session, _flush: UOWTransaction) -> None:
            objects = [*session.new, *session.dirty, *session.deleted]
            remember(session, {getattr(o, "__tablename__", "") for o in objects} - {""})

        @event.listens_for(session_factory, "do_orm_execute")
        def on_execute(state: ORMExecuteState) -> None:
            if state.is_insert or state.is_update or state.is_delete:
                table = getattr(state.statement, "table", None)
                if table is not None:
                    remember(state.session, {table.name})

        @event.listens_for(session_factory, "after_commit")
        def after_commit(session: Session) -> None:
            self.bump(session.info.pop(_WRITTEN, set()))

        @event.listens_for(session_factory, "after_rollback")
        def after_rollback(session: Session) -> None:
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
        self._entries: OrderedDict[str, tuple[tuple[int, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get_or_compute(self, key: str, tables: Iterable[str], compute: Callable[[], T]) -> T:
        """The cached value of ``key`` if no table in ``tables`` changed since it was
        stored, else ``compute()`` (stored for next time). Read the versions before
        computing, so that a write landing during the computation makes the entry stale
        rather than hiding it."""
        names = sorted(set(tables))
        versions = self._versions.current(names)
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
