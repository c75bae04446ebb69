"""Job counts in /metrics: a collector that reads procrastinate_jobs at scrape time, so the
numbers are the queue's truth whichever process scrapes (API or worker). Registered on the
default registry when the jobs router is imported."""

from __future__ import annotations

import logging

from api.core.metrics import register_state_collector
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("ehb.jobs")


class JobsCollector:
    def collect(self):
        jobs = GaugeMetricFamily("ehb_jobs", "procrastinate jobs by queue and status",
                                 labels=["queue", "status"])
        workers = GaugeMetricFamily("ehb_job_workers", "job workers with a recent heartbeat")
        try:
            from api.db import new_session
            from api.jobs import service

            with new_session() as session:
                for queue, by_status in sorted(service.counts(session).items()):
                    for status, n in by_status.items():
                        jobs.add_metric([queue, status], n)
                workers.add_metric([], service.workers_alive(session))
        except Exception:  # a scrape must not fail because the queue is unreachable
            log.warning("job metrics unavailable", exc_info=True)
            return
        yield jobs
        yield workers


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        register_state_collector(JobsCollector())
        _installed = True
