"""The migrations build exactly the schema the models describe, up and down."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from rpma import migrations
from rpma.core.db import Base, Database
from rpma.models import load_models
from tests.conftest import BACKENDS, _create_pg_database, _drop_pg_database, fast_settings

HEAD = "0010"


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = _create_pg_database() if request.param == "postgresql" else None
    database = Database(fast_settings(tmp_path, database_url=url))
    yield database
    database.dispose()
    if url:
        _drop_pg_database(url)


def test_upgrade_builds_the_models_schema(empty_database: Database) -> None:
    load_models()
    engine = empty_database.engine
    migrations.upgrade(engine)
    assert migrations.current_revision(engine) == HEAD
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": migrations.include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    migrations.upgrade(engine)  # a second run is a no-op
    assert migrations.current_revision(engine) == HEAD


def test_downgrade_removes_everything(empty_database: Database) -> None:
    engine = empty_database.engine
    migrations.upgrade(engine)
    migrations.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(engine)
    assert {"users", "sessions", "system_state", "security_events", "backup_codes"} <= set(
        inspect(engine).get_table_names()
    )


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(fast_settings(tmp_path))
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    database.dispose()


@pytest.mark.skipif(not os.environ.get("RPMA_TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_concurrent_starts_migrate_once(tmp_path: Path) -> None:
    """Several server processes starting together take the advisory lock in turn."""
    import threading

    url = _create_pg_database()
    try:
        databases = [Database(fast_settings(tmp_path, database_url=url)) for _ in range(3)]
        errors: list[BaseException] = []

        def start(db: Database) -> None:
            try:
                migrations.upgrade(db.engine)
            except BaseException as exc:  # collected for the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(db,)) for db in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert migrations.current_revision(databases[0].engine) == HEAD
        for db in databases:
            db.dispose()
    finally:
        _drop_pg_database(url)
