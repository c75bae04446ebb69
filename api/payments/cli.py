"""`ehb payments reconcile`: settle payments stuck in processing (what a scheduled job runs)."""

from __future__ import annotations

import json

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    payments = typer.Typer(help="payments jobs", no_args_is_help=True)

    @payments.command("reconcile")
    def reconcile(older_than_seconds: int = typer.Option(
            None, help="default: PAYMENTS_PROCESSING_TIMEOUT_SECONDS")) -> None:
        """Ask the provider about payments in processing longer than the timeout and apply."""
        from datetime import timedelta

        from api.db import new_session
        from api.payments.service import reconcile_processing

        with new_session() as session:
            counts = reconcile_processing(
                session, older_than=None if older_than_seconds is None
                else timedelta(seconds=older_than_seconds))
        typer.echo(json.dumps(counts))

    root.add_typer(payments, name="payments")
