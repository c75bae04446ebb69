"""Running workers: one procrastinate worker per queue in one process, each with that queue's
concurrency limit, sharing one connection pool. SIGINT/SIGTERM stop them gracefully (jobs in
flight finish)."""

from __future__ import annotations

import asyncio
import logging
import signal

import procrastinate

from api.jobs.app import app, conninfo
from api.jobs.settings import get_jobs_settings

log = logging.getLogger("ehb.jobs")


async def run_workers(database_url: str, *, queues: list[str] | None = None,
                      wait: bool = True, install_signal_handlers: bool = True) -> None:
    """Run until stopped (wait=True) or until every selected queue is empty (wait=False)."""
    settings = get_jobs_settings()
    limits = settings.concurrency()
    selected = {q: limits.get(q, 1) for q in (queues or list(limits))}
    # A connector of this run's own: its pool is sized for the queues and closed at the end.
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1,
        max_size=sum(selected.values()) + 2 * len(selected) + 1,
        kwargs={"application_name": "ehb-worker"})
    with app.replace_connector(connector):
        async with app.open_async():
            tasks = [asyncio.create_task(app.run_worker_async(
                queues=[queue], concurrency=n, name=f"ehb-{queue}", wait=wait,
                install_signal_handlers=False, listen_notify=wait,
                fetch_job_polling_interval=settings.fetch_polling_interval,
            ), name=f"worker-{queue}") for queue, n in selected.items()]
            if install_signal_handlers:
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, lambda: [t.cancel() for t in tasks])
            log.info("workers started", extra={"queues": selected})
            results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            raise result
