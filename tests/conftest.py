"""Test fixtures: a real server on loopback per database backend.

SQLite always; PostgreSQL when RPMA_TEST_DATABASE_URL is set (CI sets it). Each backend
gets one database built by the migrations and one uvicorn server in a thread; between
tests the tables are emptied, the clock reset and the rate limiter cleared.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rpma.app import build_services, create_app
from rpma.client import IpcClient
from rpma.config import Settings
from rpma.core.clock import clock
from rpma.core.db import Base
from rpma.core.services import Services
from rpma.domains import load_all
from rpma.transport.threaded import ThreadedServer

load_all()  # register every command, for the tests that walk the registry

PG_URL = os.environ.get("RPMA_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("RPMA_TEST_REDIS_URL")
ADMIN_PASSWORD = "Workshop-Boss-2024"
USER_PASSWORD = "Technician#2024x"


def fast_settings(data_dir: Path, **overrides: object) -> Settings:
    """The seed's settings, with the Argon2 cost lowered so the suite stays fast
    (tests/test_security.py proves the real defaults)."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "secret_key": "test-secret-key-" + "x" * 48,
        "argon2_memory_kib": 1024,
        "argon2_time_cost": 1,
        "argon2_parallelism": 1,
        "rate_limits_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class LiveServer:
    url: str
    services: Services
    backend: str

    def client(self, **kwargs: object) -> IpcClient:
        return IpcClient(self.url, **kwargs)  # type: ignore[arg-type]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


def _create_pg_database() -> str:
    assert PG_URL is not None
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"rpma_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    admin.dispose()


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(
            not PG_URL, reason="RPMA_TEST_DATABASE_URL is not set (PostgreSQL tests skipped)"
        ),
    ),
]


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    backend: str = request.param
    data_dir = tmp_path_factory.mktemp(f"data-{backend}")
    database_url = _create_pg_database() if backend == "postgresql" else None
    settings = fast_settings(data_dir, database_url=database_url)
    services = build_services(settings)
    app = create_app(settings, services=services)
    server = ThreadedServer(app, ws="websockets-sansio").start()
    yield LiveServer(server.url, services, backend)
    server.stop()
    services.db.dispose()
    if database_url:
        _drop_pg_database(database_url)


def wipe(services: Services) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with services.db.engine.begin() as conn:
        if services.db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
    # Rows vanished behind the cache's back (TRUNCATE is not tracked): forget its figures.
    services.cache.clear()


@pytest.fixture
def server(live_server: LiveServer) -> Iterator[LiveServer]:
    wipe(live_server.services)
    live_server.services.rate_limiter.reset()
    live_server.services.rate_limiter.enabled = False
    clock.reset()
    yield live_server
    clock.reset()


@pytest.fixture
def anon(server: LiveServer) -> Iterator[IpcClient]:
    with server.client() as client:
        yield client


@pytest.fixture
def admin(server: LiveServer) -> Iterator[IpcClient]:
    """A client signed in as the first account (an admin)."""
    with server.client() as client:
        client.auth.create_account("owner@shop.example", "Olive", "Owner", ADMIN_PASSWORD)
        yield client


def make_user(
    admin: IpcClient, server: LiveServer, role: str, email: str | None = None
) -> IpcClient:
    """A second account of ``role``, created by the admin and signed in."""
    email = email or f"{role}-{uuid.uuid4().hex[:6]}@shop.example"
    admin.call(
        "auth_create_account",
        {
            "email": email,
            "first_name": "Sam",
            "last_name": role.title(),
            "password": USER_PASSWORD,
            "role": role,
        },
    )
    client = server.client()
    client.auth.login(email, USER_PASSWORD)
    return client


@pytest.fixture
def role_clients(admin: IpcClient, server: LiveServer) -> Iterator[dict[str, IpcClient]]:
    clients = {"admin": admin}
    for role in ("supervisor", "technician", "viewer"):
        clients[role] = make_user(admin, server, role)
    yield clients
    for role, client in clients.items():
        if role != "admin":
            client.close()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's environment: a fresh SQLite data directory and a cheap Argon2."""
    monkeypatch.setenv("RPMA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RPMA_DATABASE_URL", raising=False)
    monkeypatch.setenv("RPMA_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("RPMA_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("RPMA_ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that rich tables never wrap an email
    return tmp_path
