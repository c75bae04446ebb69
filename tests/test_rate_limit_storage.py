"""The in-process rate-limit storage: limits still hold, old entries are still expired, and no
thread is started per hit (the library's own MemoryStorage re-arms a 10 ms Timer thread)."""

from __future__ import annotations

import threading
import time

import pytest

from api.core.errors import TooManyRequests
from api.core.ratelimit import InlineExpiryMemoryStorage, RateLimiter


def test_limit_holds_and_entries_expire_without_timer_threads(monkeypatch):
    monkeypatch.setattr(InlineExpiryMemoryStorage, "EXPIRE_EVERY_SECONDS", 0.05)
    limiter = RateLimiter(None, per_client="3/second", per_user="100/minute")
    assert isinstance(limiter.storage, InlineExpiryMemoryStorage)
    time.sleep(0.06)  # past the first expiry point
    threads_before = {t.ident for t in threading.enumerate()}
    for _ in range(3):
        limiter.hit_client("10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit_client("10.0.0.1")
    assert refused.value.headers["Retry-After"] == "1"
    for i in range(500):  # many keys, many hits: no thread appears
        limiter.hit_user(i % 50)
    assert {t.ident for t in threading.enumerate()} <= threads_before

    time.sleep(1.1)  # the 1 s window passed: allowed again, and the next hit expires old ones
    limiter.hit_client("10.0.0.2")
    old = [entries for key, entries in limiter.storage.events.items() if "10.0.0.1" in key]
    assert old == [[]]  # its expired entries are gone
    limiter.hit_client("10.0.0.1")


def test_the_private_hook_still_exists_in_the_pinned_library():
    """The override relies on limits' MemoryStorage calling __schedule_expiry on each hit."""
    from limits.storage import MemoryStorage

    assert hasattr(MemoryStorage, "_MemoryStorage__schedule_expiry")
    assert hasattr(MemoryStorage, "_MemoryStorage__expire_events")


def test_redis_limits_hold_and_are_never_hit_on_the_event_loop(database_url, monkeypatch):
    """With REDIS_URL the limits are shared through Redis; a hit is a network round trip, so
    the middleware and the pooled routes make it from a worker thread, never on the loop."""
    import asyncio
    import uuid

    import redis
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    url = "redis://127.0.0.1:6379/0"
    on_loop = []
    real_hit = RateLimiter._hit

    def spy(self, item, *identifiers):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real_hit(self, item, *identifiers)

    monkeypatch.setattr(RateLimiter, "_hit", spy)
    limit = f"3/{uuid.uuid4().int % 1000 + 1000} seconds"  # a key of its own in the shared Redis
    app = create_app(Settings(redis_url=url, rate_limit_per_client=limit))
    assert app.state.rate_limiter.remote
    try:
        with TestClient(app) as c:
            codes = [c.get("/api/v1/auth/me").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        assert on_loop and not any(on_loop)
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"*{limit.split('/')[1].replace(' ', '*')}*"):
            client.delete(key)
