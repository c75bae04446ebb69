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
