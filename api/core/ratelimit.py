"""Rate limits per client and per user with the `limits` library (memory, or Redis if configured)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api.core.errors import TooManyRequests


class RateLimiter:
    def __init__(self, storage_url: str | None, per_client: str, per_user: str):
        # Redis makes the limit shared across workers and instances; memory is per process.
        self.storage = storage_from_string(storage_url or "memory://")
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.per_client = parse(per_client)
        self.per_user = parse(per_user)

    def _hit(self, item, *identifiers: str) -> None:
        if self.limiter.hit(item, *identifiers):
            return
        stats = self.limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests(
            f"rate limit of {item} exceeded; retry in {retry_after} s",
            details={"limit": str(item), "scope": identifiers[0]},
            headers={"Retry-After": str(retry_after)},
        )

    def hit_client(self, client: str) -> None:
        self._hit(self.per_client, "client", client)

    def hit_user(self, user_id: int) -> None:
        self._hit(self.per_user, "user", str(user_id))

    def check(self, item: str, *identifiers: str) -> None:
        """A stricter ad-hoc limit (e.g. login attempts) sharing the same storage."""
        self._hit(parse(item), *identifiers)
