"""Prometheus metrics: requests by route and status, latency, DB pool use.

With several workers, PROMETHEUS_MULTIPROC_DIR makes /metrics aggregate all processes.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("ehb_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "ehb_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_FLIGHT = Gauge("ehb_http_requests_in_flight", "requests being served", multiprocess_mode="livesum")
DB_POOL = Gauge("ehb_db_pool_connections", "SQLAlchemy pool connections", ["state"],
                multiprocess_mode="livesum")


_STATE_COLLECTORS: list = []


def register_state_collector(collector) -> None:
    """A collector computed on scrape from shared state (the database), so it is correct
    whatever the number of worker processes."""
    from prometheus_client import REGISTRY

    _STATE_COLLECTORS.append(collector)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        REGISTRY.register(collector)


def _sample_pool() -> None:
    from api.db import get_engine

    pool = get_engine().pool
    DB_POOL.labels("checked_out").set(pool.checkedout())
    DB_POOL.labels("idle").set(pool.checkedin())
    DB_POOL.labels("size").set(pool.size())
    DB_POOL.labels("overflow").set(max(pool.overflow(), 0))


def render() -> tuple[bytes, str]:
    _sample_pool()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        # Collectors that read current state (e.g. job queue counts) are registered on the
        # default registry; with several workers they join the aggregated one on each scrape.
        for collector in _STATE_COLLECTORS:
            registry.register(collector)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
