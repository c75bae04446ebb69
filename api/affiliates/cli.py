"""`ehb affiliates commissions`: approve due commissions and pay approved ones."""

from __future__ import annotations

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    app = typer.Typer(help="affiliate programme", no_args_is_help=True)

    @app.command("commissions")
    def commissions() -> None:
        """pending → approved after the return window; approved → paid through the ledger."""
        from api.affiliates.service import approve_due, pay_approved
        from api.db import new_session

        with new_session() as session:
            approved = approve_due(session)
            result = pay_approved(session)
        typer.echo(f"approved {approved}, paid {result['paid']}, "
                   f"awaiting ledger {result['awaiting_ledger']}")

    root.add_typer(app, name="affiliates")
