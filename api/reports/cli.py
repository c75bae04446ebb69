"""`ehb reports export` (one file), `ehb reports run-due <cadence>` (scheduled exports) and
`ehb bench exports`."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    reports = typer.Typer(help="report exports", no_args_is_help=True)

    @reports.command("export")
    def export(
        report_id: int,
        fmt: str = typer.Option("csv", "--format", help="csv, xlsx, parquet or pdf"),
        dest: Path = typer.Option(Path("data/exports"), help="folder for the file"),
        params: str = typer.Option("{}", help='parameters as JSON, e.g. {"since": "2026-01-01"}'),
        user_id: int = typer.Option(None, help="export the rows this user may see"),
        keep_days: int = typer.Option(None, help="then delete files older than this"),
    ) -> None:
        """Write one report file (what the scheduled exports call)."""
        from api.core.errors import AppError
        from api.reports.exports import apply_retention, run_export

        try:
            path = run_export(report_id, fmt, dest, json.loads(params), user_id=user_id)
        except (AppError, ValueError) as exc:
            typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
            raise typer.Exit(1) from None
        typer.echo(str(path))
        if keep_days is not None:
            for old in apply_retention(dest, keep_days):
                typer.echo(f"removed {old}")

    @reports.command("run-due")
    def run_due(
        cadence: str = typer.Argument(..., help="daily, weekly or monthly"),
        dest: Path = typer.Option(None, help="folder for the files (default: the settings')"),
    ) -> None:
        """Export the due subscriptions of a cadence (what the Dagster schedules run)."""
        from api.db import new_session
        from api.reports.scheduled import run_due_exports

        if cadence not in ("daily", "weekly", "monthly"):
            typer.echo("error: cadence must be daily, weekly or monthly", err=True)
            raise typer.Exit(2)
        with new_session() as session:
            summary = run_due_exports(session, cadence, dest_dir=dest)
        for path in summary.paths:
            typer.echo(path)
        for failure in summary.failures:
            typer.echo(f"failed: {json.dumps(failure)}", err=True)
        typer.echo(f"exported {summary.exported}, failed {summary.failed}, "
                   f"removed {len(summary.removed)}")
        if summary.failed:
            raise typer.Exit(1)

    root.add_typer(reports, name="reports")

    @bench.command("exports")
    def bench_exports(
        rows: str = typer.Option("100000,1000000", help="row counts, comma-separated"),
        formats: str = typer.Option("csv,xlsx,parquet", help="formats, comma-separated "
                                    "(xlsxwriter: the previous XLSX writer, for reference)"),
    ) -> None:
        """Export time and peak memory per format as the row count grows."""
        from api.reports.bench import run_bench

        run_bench([int(r) for r in rows.split(",")], formats.split(","))
