"""`ehb ledger verify` and `ehb bench ledger`."""

from __future__ import annotations

import json

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    ledger = typer.Typer(help="wallet ledger", no_args_is_help=True)

    @ledger.command("verify")
    def verify(account_id: list[int] = typer.Option(None, help="only these accounts")) -> None:
        """Recompute every account's hash chain; exit 1 and name the first broken link."""
        from api.db import new_session
        from api.wallet.verify import verify_ledger

        with new_session() as session:
            report = verify_ledger(session, account_id or None)
        typer.echo(json.dumps(report.as_dict(), indent=2))
        if not report.ok:
            raise typer.Exit(1)

    root.add_typer(ledger, name="ledger")

    @bench.command("ledger")
    def bench_ledger(
        seconds: int = typer.Option(8, help="measured seconds per phase"),
        clients: int = typer.Option(16, help="concurrent clients (HTTP and pgbench)"),
        workers: int = typer.Option(2, help="uvicorn worker processes"),
        accounts: int = typer.Option(100, help="accounts in the spread-out case"),
        keep: bool = typer.Option(False, help="keep the scratch database"),
    ) -> None:
        """HTTP transfers/s vs raw SQL (pgbench, same writes and locking), ratio per case."""
        from rich.console import Console
        from rich.table import Table

        from api.settings import get_settings
        from api.wallet.bench import run

        base = get_settings().database_url
        if not base:
            typer.echo("DATABASE_URL is not set", err=True)
            raise typer.Exit(2)
        cases = run(base, seconds=seconds, clients=clients, workers=workers,
                    spread_accounts=accounts, keep=keep)
        table = Table(title=f"ledger transfers/s, {clients} clients, {workers} API workers, "
                            f"{seconds} s per phase")
        for col in ("case", "accounts", "HTTP tps", "raw SQL tps", "HTTP / raw", "HTTP errors"):
            table.add_column(col)
        for c in cases:
            table.add_row(c.name, str(c.accounts), f"{c.http_tps:,.0f}", f"{c.raw_tps:,.0f}",
                          f"{c.ratio:.2f}x", str(c.http_errors))
        Console().print(table)
        typer.echo("ledger verified after the run: every hash chain intact")
