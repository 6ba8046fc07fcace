"""The seed's rate limits, with the `limits` library (moving window).

Memory storage on one machine; Redis storage when RPMA_REDIS_URL is set, so that
several server processes share one count.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from rpma.config import Settings
from rpma.core.commands import RateClass
from rpma.core.errors import RateLimited

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        self._items: dict[RateClass, RateLimitItem] = {
            RateClass.AUTH: parse(settings.rate_limit_auth),
            RateClass.TASKS: parse(settings.rate_limit_tasks),
            RateClass.UPLOAD: parse(settings.rate_limit_upload),
            RateClass.CALENDAR: parse(settings.rate_limit_calendar),
            RateClass.REPORTS: parse(settings.rate_limit_reports),
        }
        self._storage = storage_from_string(settings.redis_url or "memory://")
        self._limiter = MovingWindowRateLimiter(self._storage)
        # While a configured Redis is unreachable, count in this process instead: the
        # limits then hold per process (looser), and no command fails because of it.
        self._fallback = MovingWindowRateLimiter(storage_from_string("memory://"))

    def hit(self, rate_class: RateClass, key: str) -> None:
        """Count one call of ``key`` in ``rate_class``; refuse it once over the limit."""
        if not self.enabled:
            return
        item = self._items[rate_class]
        limiter = self._limiter
        try:
            allowed = limiter.hit(item, rate_class.value, key)
        except (RedisError, StorageError, OSError):
            log.warning("rate limits counted in this process: Redis is unreachable")
            limiter = self._fallback
            allowed = limiter.hit(item, rate_class.value, key)
        if allowed:
            return
        stats = limiter.get_window_stats(item, rate_class.value, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            retry_after,
            message=f"Too many requests: the limit is {item} (per "
            f"{'client address' if rate_class is RateClass.AUTH else 'user'})",
            limit=str(item),
        )

    def reset(self) -> None:
        self._storage.reset()
        self._fallback.storage.reset()
