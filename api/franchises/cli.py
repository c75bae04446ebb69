"""`ehb franchises settle YYYY-MM`: monthly settlement statements."""

from __future__ import annotations

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    app = typer.Typer(help="franchises", no_args_is_help=True)

    @app.command("settle")
    def settle(period: str = typer.Argument(..., help="month to settle, YYYY-MM")) -> None:
        """Create the statements of a closed month (once per franchise and currency)."""
        from datetime import date

        from api.core.errors import AppError
        from api.db import new_session
        from api.franchises.service import settle_month

        try:
            year, month = (int(x) for x in period.split("-"))
            start = date(year, month, 1)
        except ValueError:
            typer.echo("error: period must be YYYY-MM", err=True)
            raise typer.Exit(2) from None
        try:
            with new_session() as session:
                made = settle_month(session, start)
        except AppError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from None
        for s in made:
            typer.echo(f"franchise {s.franchise_id}: {s.share_minor} {s.currency} "
                       f"on {s.order_count} order(s) ({s.status})")
        typer.echo(f"{len(made)} statement(s)")

    @app.command("post")
    def post() -> None:
        """Retry paying statements the ledger refused earlier (status awaiting_ledger)."""
        from api.db import new_session
        from api.franchises.service import post_awaiting

        with new_session() as session:
            typer.echo(f"{post_awaiting(session)} statement(s) posted")

    root.add_typer(app, name="franchises")
