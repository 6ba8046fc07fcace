"""The seed's rate limits through the real transport, in memory and on Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpma.client import IpcClient, RateLimitError
from rpma.config import Settings
from rpma.core.ratelimit import RateLimiter
from tests.conftest import LiveServer, fast_settings
from tests.helpers import raw, snapshot

REDIS_URL = os.environ.get("RPMA_TEST_REDIS_URL")
STORAGES = [
    pytest.param(None, id="memory"),
    pytest.param(
        REDIS_URL,
        id="redis",
        marks=pytest.mark.skipif(not REDIS_URL, reason="RPMA_TEST_REDIS_URL is not set"),
    ),
]


def test_defaults_are_the_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RPMA_RATE_LIMIT"):
            monkeypatch.delenv(name)
    settings = Settings(data_dir=tmp_path)
    assert settings.rate_limits_enabled is True
    assert (
        settings.rate_limit_auth,
        settings.rate_limit_tasks,
        settings.rate_limit_upload,
        settings.rate_limit_calendar,
        settings.rate_limit_reports,
    ) == ("10/minute", "100/minute", "5/minute", "200/minute", "20/minute")


@pytest.fixture(params=STORAGES)
def limited(
    request: pytest.FixtureRequest, server: LiveServer, tmp_path: Path
) -> Iterator[LiveServer]:
    original = server.services.rate_limiter
    limiter = RateLimiter(
        fast_settings(
            tmp_path, rate_limits_enabled=True, rate_limit_auth="3/minute", redis_url=request.param
        )
    )
    limiter.reset()
    server.services.rate_limiter = limiter
    yield server
    limiter.reset()
    server.services.rate_limiter = original


def test_auth_calls_are_limited_per_address(limited: LiveServer, anon: IpcClient) -> None:
    for _ in range(3):
        with pytest.raises(Exception, match="AUTH_INVALID"):
            anon.auth.login("nobody@shop.example", "Wrong-Password-1")
    before = snapshot(limited.services)
    response = raw(anon, "auth_login", {"email": "nobody@shop.example", "password": "x"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMIT"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response.json()["error"]["details"]["retry_after"] == retry_after
    with pytest.raises(RateLimitError):
        anon.call("auth_refresh_token", {"refresh_token": "x"})  # same class, same budget
    assert snapshot(limited.services) == before
    # Commands outside the auth class are not counted against it.
    assert anon.call("health_check")["status"] == "healthy"


def test_an_unreachable_redis_counts_in_the_process(tmp_path: Path) -> None:
    """Redis down must not fail every command: the limit then holds per process."""
    from rpma.core.commands import RateClass
    from rpma.core.errors import RateLimited

    settings = fast_settings(tmp_path).model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "rate_limit_upload": "2/minute"}
    )
    limiter = RateLimiter(settings)
    limiter.enabled = True
    limiter.hit(RateClass.UPLOAD, "user-1")
    limiter.hit(RateClass.UPLOAD, "user-1")
    with pytest.raises(RateLimited):
        limiter.hit(RateClass.UPLOAD, "user-1")
