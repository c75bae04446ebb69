"""`ehb simulate`: demo data through the service functions."""

from __future__ import annotations

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    @root.command("simulate")
    def simulate(
        days: int = typer.Option(90, min=1, help="days of history, ending with --end"),
        users: int = typer.Option(300, min=1, help="users signing up over the period"),
        seed: int = typer.Option(5, help="same seed, same data (on an empty database)"),
        end: str = typer.Option("", help="the last simulated day, YYYY-MM-DD (default: today, "
                                         "UTC); same seed and end, same data on any day"),
    ) -> None:
        """Simulate months of platform activity through the same services as the API."""
        import time
        from datetime import UTC, date, datetime

        try:
            last = date.fromisoformat(end) if end else datetime.now(UTC).date()
        except ValueError:
            raise typer.BadParameter(f"--end {end!r} is not a date (YYYY-MM-DD)") from None

        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from api.db import new_session
        from api.simulator.engine import run

        started = time.perf_counter()
        with Progress(TextColumn("[bold]simulating[/] {task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} days"),
                      TimeElapsedColumn()) as bar:
            task = bar.add_task("", total=days)
            ctx = run(days=days, users=users, seed=seed, end=last, session_factory=new_session,
                      progress=lambda i, d: bar.update(task, completed=i + 1,
                                                       description=str(d)))
        counts = ", ".join(f"{k}={v}" for k, v in sorted(ctx.counts.items()))
        typer.echo(f"simulated {days} days in {time.perf_counter() - started:.1f}s: {counts}")
