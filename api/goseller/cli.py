"""`ehb goseller payouts`: the payout run the job system schedules."""

from __future__ import annotations

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    app = typer.Typer(help="GoSeller marketplace", no_args_is_help=True)

    @app.command("payouts")
    def payouts() -> None:
        """Pay out delivered orders whose return window has ended (each order once)."""
        from api.db import new_session
        from api.goseller.orders import run_payouts

        with new_session() as session:
            made = run_payouts(session)
        for p in made:
            typer.echo(f"order {p.order_id}: {p.net_minor} {p.currency} net ({p.status})")
        typer.echo(f"{len(made)} payout(s)")

    root.add_typer(app, name="goseller")
