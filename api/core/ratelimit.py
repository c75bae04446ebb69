"""Rate limits per client and per user with the `limits` library (memory, or Redis if configured)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from api.core.errors import TooManyRequests


class InlineExpiryMemoryStorage(MemoryStorage):
    """limits' in-process storage, expiring old entries on the calling thread.

    The library's MemoryStorage re-arms a 10 ms threading.Timer on every hit once the last one
    has fired: under load that is ~100 new threads a second, each taking the GIL from the
    event loop (8% of the API's Python time in `ehb bench ledger`). Expiry only frees memory
    (the strategies compare timestamps themselves), so doing it at most once a second on the
    thread that hits costs nothing in correctness. The limits package is pinned in
    requirements.lock: this overrides its private `__schedule_expiry`, checked by a test."""

    EXPIRE_EVERY_SECONDS = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._next_expiry = time.monotonic() + self.EXPIRE_EVERY_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # the library calls it on every hit
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + self.EXPIRE_EVERY_SECONDS
            self._MemoryStorage__expire_events()


class RateLimiter:
    def __init__(self, storage_url: str | None, per_client: str, per_user: str):
        # Redis makes the limit shared across workers and instances; memory is per process.
        self.storage = (storage_from_string(storage_url) if storage_url
                        else InlineExpiryMemoryStorage())
        # A shared storage (Redis) answers over the network: on the event loop a hit would
        # stall every request of the worker for a round trip (or a Redis hiccup).
        self.remote = bool(storage_url)
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

    async def hit_client_async(self, client: str) -> None:
        """hit_client for code on the event loop: a remote storage is called from a thread."""
        if self.remote:
            await run_in_threadpool(self.hit_client, client)
        else:
            self.hit_client(client)

    async def hit_user_async(self, user_id: int) -> None:
        if self.remote:
            await run_in_threadpool(self.hit_user, user_id)
        else:
            self.hit_user(user_id)

    def check(self, item: str, *identifiers: str) -> None:
        """A stricter ad-hoc limit (e.g. login attempts) sharing the same storage."""
        self._hit(parse(item), *identifiers)
