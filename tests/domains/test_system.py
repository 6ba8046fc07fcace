"""System commands with real figures."""

from __future__ import annotations

import platform

import fastapi
import pytest
import sqlalchemy

from rpma import __version__
from rpma.client import IpcClient
from rpma.core.clock import clock
from tests.conftest import REDIS_URL, LiveServer
from tests.helpers import count


def test_health_check_is_public_and_real(server: LiveServer, anon: IpcClient) -> None:
    health = anon.call("health_check")
    assert health["status"] == "healthy"
    assert health["version"] == __version__
    assert abs(health["timestamp"] - clock.now_ms()) < 5000
    assert health["uptime"] > 0
    database = health["database"]
    assert database["status"] == "connected"
    assert database["backend"] == server.backend
    assert database["size_bytes"] > 0
    pool = database["connection_pool"]
    assert pool["total"] == pool["active"] + pool["idle"]
    assert pool["active"] >= 1  # this very command holds one


def test_app_info_names_the_python_stack(anon: IpcClient, server: LiveServer) -> None:
    info = anon.call("get_app_info")
    assert info == {
        "name": "RPMA",
        "version": __version__,
        "build": info["build"],
        "python_version": platform.python_version(),
        "fastapi_version": fastapi.__version__,
        "sqlalchemy_version": sqlalchemy.__version__,
        "database_backend": server.backend,
    }


def test_database_stats_count_rows_and_indexes(server: LiveServer, admin: IpcClient) -> None:
    stats = admin.call("get_database_stats")
    assert stats["backend"] == server.backend
    assert stats["tables"]["users"]["row_count"] == count(server.services, "users") == 1
    assert stats["tables"]["sessions"]["row_count"] == 1
    # users: ix_users_role + the unique email and username.
    assert stats["tables"]["users"]["index_count"] == 3
    assert stats["total_rows"] == sum(t["row_count"] for t in stats["tables"].values())
    assert stats["file_size_bytes"] > 0
    assert stats["last_vacuum"] is None
    if server.backend == "sqlite":
        assert stats["wal_size_bytes"] >= 0
    else:
        assert stats["wal_size_bytes"] == 0


def test_vacuum_records_when_it_ran(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    message = admin.call("vacuum_database")
    assert message.startswith("Database optimized:")
    assert admin.call("get_database_stats")["last_vacuum"] == clock.now_ms()
    # Vacuum keeps every row.
    assert count(server.services, "users") == 1


def test_health_is_degraded_when_the_database_is_slow(
    server: LiveServer, admin: IpcClient, anon: IpcClient
) -> None:
    healthy = anon.call("health_check")
    assert (healthy["status"], healthy["reasons"]) == ("healthy", [])
    assert healthy["redis"] == {"status": "not_configured"}
    # Any round trip takes longer than 0 ms.
    admin.settings.update_performance(slow_database_threshold_ms=0)
    health = anon.call("health_check")
    assert health["status"] == "degraded"
    [reason] = health["reasons"]
    assert reason.startswith("database slow: ")
    assert reason.endswith(" ms round trip (threshold 0 ms)")
    assert health["database"]["status"] == "connected"
    assert health["database"]["round_trip_ms"] > 0


def test_health_is_degraded_when_the_configured_redis_is_unreachable(
    server: LiveServer, anon: IpcClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 1: a real connection refused.
    monkeypatch.setattr(server.services.settings, "redis_url", "redis://127.0.0.1:1/0")
    health = anon.call("health_check")
    assert (health["status"], health["reasons"]) == ("degraded", ["redis unreachable"])
    assert health["redis"] == {"status": "unreachable"}
    assert health["database"]["status"] == "connected"


@pytest.mark.skipif(not REDIS_URL, reason="RPMA_TEST_REDIS_URL is not set")
def test_health_with_a_reachable_redis(
    server: LiveServer, anon: IpcClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.services.settings, "redis_url", REDIS_URL)
    health = anon.call("health_check")
    assert (health["status"], health["redis"]) == ("healthy", {"status": "connected"})
