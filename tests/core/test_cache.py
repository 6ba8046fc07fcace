"""The application cache (core/cache.py): entries tied to table versions, versions bumped
by the commits that wrote the tables, on a real SQLite database (and Redis when
RPMA_TEST_REDIS_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from rpma.core.cache import AppCache, CacheStats, TableVersions, cascade_targets

REDIS_URL = os.environ.get("RPMA_TEST_REDIS_URL")


class Base(DeclarativeBase):
    pass


class Shelf(Base):
    __tablename__ = "shelves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class Jar(Base):
    __tablename__ = "jars"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shelf_id: Mapped[int | None] = mapped_column(ForeignKey("shelves.id", ondelete="CASCADE"))


class Label(Base):
    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jar_id: Mapped[int | None] = mapped_column(ForeignKey("jars.id", ondelete="SET NULL"))


class Note(Base):  # refers to shelves without a cascading action
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shelf_id: Mapped[int | None] = mapped_column(ForeignKey("shelves.id"))


class Store:
    """What ``core.db.Database`` offers the cache: fresh sessions."""

    def __init__(self, path: Path) -> None:
        self.engine = create_engine(f"sqlite:///{path}")

        # Real transactions, as the server's engine has them: BEGIN at the first
        # statement, so a reader keeps one snapshot (WAL) until it ends.
        @event.listens_for(self.engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

        @event.listens_for(self.engine, "begin")
        def on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

        Base.metadata.create_all(self.engine)
        self.factory = sessionmaker(bind=self.engine, expire_on_commit=False)

    def session(self, *, write: bool) -> Session:
        return self.factory()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "cache.db")
    yield store
    store.engine.dispose()


@pytest.fixture
def versions(store: Store) -> TableVersions:
    tracked = TableVersions()
    tracked.track(store.factory)
    return tracked


def shelf_count(db: Session) -> int:
    return int(db.scalar(select(Shelf.id).order_by(Shelf.id.desc()).limit(1)) or 0)


def test_a_commit_bumps_the_tables_it_wrote(store: Store, versions: TableVersions) -> None:
    with store.session(write=True) as db:
        db.add(Shelf(id=1, name="top"))
        db.commit()
    assert versions.current(["shelves", "jars"]) == (0, 1)  # sorted: jars, shelves
    with store.session(write=True) as db:
        db.execute(insert(Jar), [{"id": 1, "shelf_id": 1}, {"id": 2, "shelf_id": 1}])
        db.execute(update(Shelf).values(name="upper"))
        db.commit()
    assert versions.current(["jars", "shelves"]) == (1, 2)


def test_a_rollback_or_a_read_bumps_nothing(store: Store, versions: TableVersions) -> None:
    with store.session(write=True) as db:
        db.add(Shelf(id=1, name="top"))
        db.flush()
        db.rollback()
    with store.session(write=True) as db:
        db.add(Shelf(id=2, name="bottom"))
        db.flush()  # closed without a commit
    with store.session(write=False) as db:
        db.scalars(select(Shelf)).all()
        db.commit()
    assert versions.current(["shelves"]) == (0,)


def test_a_delete_bumps_the_tables_it_cascades_to(store: Store, versions: TableVersions) -> None:
    with store.session(write=True) as db:
        db.add(Shelf(id=1, name="top"))
        db.commit()
    before = versions.current(["jars", "labels", "notes", "shelves"])
    with store.session(write=True) as db:
        db.execute(delete(Shelf).where(Shelf.id == 1))
        db.commit()
    after = versions.current(["jars", "labels", "notes", "shelves"])
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 0, 1]  # type: ignore[operator]
    assert cascade_targets(Base.metadata, ["jars"]) == {"jars", "labels"}


def test_a_write_makes_the_next_call_recompute(store: Store, versions: TableVersions) -> None:
    cache = AppCache(versions)
    calls: list[int] = []

    def newest(db: Session) -> int:
        calls.append(1)
        return shelf_count(db)

    assert cache.get_or_query("newest", ["shelves"], store, newest) == 0
    assert cache.get_or_query("newest", ["shelves"], store, newest) == 0
    with store.session(write=False) as db:  # a read-only transaction changes nothing
        db.scalars(select(Shelf)).all()
        db.commit()
    assert cache.get_or_query("newest", ["shelves"], store, newest) == 0
    assert (len(calls), cache.stats().hits) == (1, 2)
    with store.session(write=True) as db:
        db.add(Jar(id=1, shelf_id=None))  # another table: still cached
        db.commit()
    assert cache.get_or_query("newest", ["shelves"], store, newest) == 0
    assert len(calls) == 1
    with store.session(write=True) as db:
        db.add(Shelf(id=7, name="new"))
        db.commit()
    assert cache.get_or_query("newest", ["shelves"], store, newest) == 7
    assert len(calls) == 2
    assert cache.stats().entries == 1


def test_a_value_is_never_older_than_its_versions(store: Store, versions: TableVersions) -> None:
    """A caller whose own transaction began before a commit still caches the fresh value:
    get_or_query reads in a transaction of its own, begun after the versions were read."""
    cache = AppCache(versions)
    with store.session(write=False) as old_reader:
        assert shelf_count(old_reader) == 0  # its snapshot starts here
        with store.session(write=True) as writer:
            writer.add(Shelf(id=3, name="late"))
            writer.commit()
        assert shelf_count(old_reader) == 0  # still its old snapshot
        assert cache.get_or_query("newest", ["shelves"], store, shelf_count) == 3
    assert cache.get_or_query("newest", ["shelves"], store, shelf_count) == 3


def test_the_cache_is_bounded(versions: TableVersions) -> None:
    cache = AppCache(versions, max_entries=2)
    for key in ("a", "b", "c"):
        cache.get_or_compute(key, ["shelves"], lambda key=key: key)  # type: ignore[misc]
    assert cache.stats().entries == 2
    assert cache.get_or_compute("a", ["shelves"], lambda: "again") == "again"  # evicted
    assert cache.clear() == 2
    assert cache.stats().hits == 0


@pytest.mark.skipif(not REDIS_URL, reason="RPMA_TEST_REDIS_URL is not set")
def test_versions_in_redis_are_shared_and_survive_a_flush() -> None:
    assert REDIS_URL is not None
    prefix = f"rpma:test:{uuid.uuid4().hex}:"
    one, two = TableVersions(REDIS_URL, prefix=prefix), TableVersions(REDIS_URL, prefix=prefix)
    cache = AppCache(two)
    assert cache.get_or_compute("k", ["tasks"], lambda: "first") == "first"
    one.bump(["tasks"])  # a write in another server process
    assert cache.get_or_compute("k", ["tasks"], lambda: "second") == "second"
    import redis

    server = redis.Redis.from_url(REDIS_URL)
    try:
        # Redis loses its keys: the counters restart from 0 and meet the entry's again...
        server.delete(*server.keys(prefix + "*"))
        one.bump(["tasks"])
        # ...but the generation is new, so the entry is stale, not wrongly fresh.
        assert cache.get_or_compute("k", ["tasks"], lambda: "third") == "third"
    finally:
        keys = server.keys(prefix + "*")
        if keys:
            server.delete(*keys)
        server.close()


def test_an_unreachable_redis_never_fails_a_write_nor_serves_a_guess() -> None:
    # Port 1 refuses connections: the shop's Redis is down.
    versions = TableVersions("redis://127.0.0.1:1/0")
    versions.bump(["tasks"])  # after a commit: must not raise
    cache = AppCache(versions)
    assert cache.get_or_compute("k", ["tasks"], lambda: "first") == "first"
    assert cache.get_or_compute("k", ["tasks"], lambda: "second") == "second"  # not kept
    assert cache.stats() == CacheStats(hits=0, misses=2, entries=0)


@pytest.mark.skipif(not REDIS_URL, reason="RPMA_TEST_REDIS_URL is not set")
def test_a_bump_lost_while_redis_was_down_makes_every_entry_stale() -> None:
    assert REDIS_URL is not None
    import redis

    prefix = f"rpma:test:{uuid.uuid4().hex}:"
    versions = TableVersions(REDIS_URL, prefix=prefix)
    cache = AppCache(versions)
    assert cache.get_or_compute("k", ["clients"], lambda: "before") == "before"
    reachable = versions._redis
    versions._redis = redis.Redis.from_url("redis://127.0.0.1:1/0")  # Redis goes away...
    try:
        versions.bump(["clients"])  # ...while a commit writes the table
    finally:
        versions._redis = reachable  # ...and comes back
    try:
        assert cache.get_or_compute("k", ["clients"], lambda: "after") == "after"
    finally:
        keys = reachable.keys(prefix + "*")
        if keys:
            reachable.delete(*keys)
