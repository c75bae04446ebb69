"""`ehb worker` (run job workers) and `ehb jobs ...` (inspect the queue)."""

from __future__ import annotations

import typer

jobs_app = typer.Typer(help="background jobs (procrastinate)", no_args_is_help=True)


def register(root: typer.Typer, bench: typer.Typer) -> None:
    root.add_typer(jobs_app, name="jobs")

    @root.command("worker")
    def worker(
        queue: list[str] = typer.Option(None, "--queue", "-q",
                                        help="queue to work (repeatable; default: all)"),
        once: bool = typer.Option(False, help="exit when the queues are empty"),
    ) -> None:
        """Run job workers: one per queue, each with its concurrency limit (JOBS_QUEUE_CONCURRENCY)."""
        import asyncio

        from api.core.logging import configure_logging
        from api.jobs.worker import run_workers
        from api.production import api_settings, refuse_development_defaults
        from api.settings import get_settings

        refuse_development_defaults(api_settings())
        configure_logging()
        asyncio.run(run_workers(get_settings().sqlalchemy_url, queues=queue or None,
                                wait=not once))

    @jobs_app.command("status")
    def status() -> None:
        """Job counts per queue and status, and the cron schedules."""
        from rich.console import Console
        from rich.table import Table

        from api.db import new_session
        from api.jobs import service

        with new_session() as session:
            counts = service.counts(session)
        table = Table("queue", *service.STATUSES)
        for queue, by_status in sorted(counts.items()):
            table.add_row(queue, *(str(by_status[s]) for s in service.STATUSES))
        Console().print(table)
        for s in service.schedules():
            typer.echo(f"{s['cron']:<16} {s['task']} (queue {s['queue']})")
