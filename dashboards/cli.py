"""`ehb dash` (serve the Dash app) and `ehb bench dash` (callback latency and page payload)."""

from __future__ import annotations

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    @root.command("dash")
    def dash_serve(
        host: str = typer.Option(None, help="bind address (default DASH_HOST, 127.0.0.1)"),
        port: int = typer.Option(None, help="port (default settings.dash_port, 8050)"),
    ) -> None:
        """Serve the Dash analytics app over the published warehouse snapshot."""
        from dashboards.serve import serve

        serve(host, port)

    @bench.command("dash")
    def dash_bench(
        users: int = typer.Option(2_000_000, help="rows of marts.dim_users in the snapshot"),
        days: int = typer.Option(730, help="days of daily marts"),
        events_per_day: int = typer.Option(2000, help="security events per day and type weight"),
        repeat: int = typer.Option(20, help="calls per callback"),
        snapshot: str = typer.Option(None, help="use this snapshot instead of building one"),
        role: str = typer.Option("analyst", help="viewer role (seller etc. run scoped)"),
    ) -> None:
        """p95 callback latency and page payload per page on a big snapshot."""
        from dashboards.bench import run_bench

        run_bench(users=users, days=days, events_per_day=events_per_day, repeat=repeat,
                  snapshot=snapshot, role=role)
