"""The seed's rate limits, with the `limits` library (moving window).

Memory storage on one machine; Redis storage when RPMA_REDIS_URL is set, so that
several server processes share one count.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from rpma.config import Settings
from rpma.core.commands import RateClass
from rpma.core.errors import RateLimited


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

    def hit(self, rate_class: RateClass, key: str) -> None:
        """Count one call of ``key`` in ``rate_class``; refuse it once over the limit."""
        if not self.enabled:
            return
        item = self._items[rate_class]
        if self._limiter.hit(item, rate_class.value, key):
            return
        stats = self._limiter.get_window_stats(item, rate_class.value, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            retry_after,
            message=f"Too many requests: the limit is {item} (per "
            f"{'client address' if rate_class is RateClass.AUTH else 'user'})",
            limit=str(item),
        )

    def reset(self) -> None:
        self._storage.reset()
