"""The simulation loop: days in order; each domain's activity module acts on each day.

Activities are modules in api.simulator.activities exposing `ACTIVITY` (an object with
`name`, `available()`, `day(ctx, day_index, date)`); a domain whose services are not installed
reports unavailable and is skipped, so new domains plug in as their services land.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from api.jobs.pause import periodic_hooks_paused
from api.simulator.clock import SimClock

WEEKDAY_FACTOR = (1.0, 1.08, 1.12, 1.06, 1.0, 0.72, 0.62)  # Monday..Sunday


@dataclass
class SimContext:
    seed: int
    days: int
    target_users: int
    start: date
    rng: random.Random
    clock: SimClock
    session_factory: Callable[[], Session]
    users: list[dict] = field(default_factory=list)  # {id, email, password, signup_day, ...}
    counts: dict[str, int] = field(default_factory=dict)
    plan: list[int] = field(default_factory=list)  # sign-ups per day

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def session(self) -> Session:
        return self.clock.attach(self.session_factory())

    def at(self, day: date, seconds: float) -> datetime:
        """A moment of `day` (UTC), seconds after midnight; sets the clock to it."""
        self.clock.now = datetime.combine(day, time(), UTC) + timedelta(seconds=seconds)
        return self.clock.now

    def daytime(self) -> float:
        """Seconds after midnight, busier in the day than at night."""
        return min(86_399.0, max(0.0, self.rng.gauss(14 * 3600, 4 * 3600)))


def daily_signups(start: date, days: int, total: int, rng: random.Random) -> list[int]:
    """Growth (about 3x over the period), weekly seasonality and noise; sums to `total`."""
    weights = []
    for d in range(days):
        growth = math.exp(1.1 * d / max(days - 1, 1))
        weekday = (start + timedelta(days=d)).weekday()
        weights.append(growth * WEEKDAY_FACTOR[weekday] * rng.uniform(0.85, 1.15))
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):  # distribute rounding remainder deterministically
        counts[-1 - (i % days)] += 1
    return counts


def run(*, days: int, users: int, seed: int, end: date,
        session_factory: Callable[[], Session],
        progress: Callable[[int, date], None] | None = None) -> SimContext:
    """Simulate the `days` days that end with `end` (inclusive). `end` is the simulation's
    "today": callers pass it, so the same arguments give the same data on any calendar day."""
    from api.simulator.activities import available_activities

    start = end - timedelta(days=days - 1)
    rng = random.Random(seed)
    ctx = SimContext(seed, days, users, start, rng, SimClock(datetime.combine(start, time(), UTC)),
                     session_factory)
    activities = available_activities()
    ctx.counts["activities"] = len(activities)
    ctx.plan = daily_signups(start, days, users, rng)
    with periodic_hooks_paused():  # real-time jobs would act on the simulated past meanwhile
        for i in range(days):
            day = start + timedelta(days=i)
            for activity in activities:
                activity.day(ctx, i, day)
            if progress:
                progress(i, day)
    return ctx
