"""`ehb pipeline run|ui` and `ehb bench ingest` (heavy imports inside the commands)."""

from __future__ import annotations

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    pipeline = typer.Typer(help="data platform: ingest, validate, dbt build, publish",
                           no_args_is_help=True)

    @pipeline.command("run")
    def run(full: bool = typer.Option(False, "--full", help="full refresh of every raw table")) -> None:
        """Materialize everything in this process (the same job the schedules run)."""
        import time

        from rich.console import Console

        from pipelines.run import run_pipeline

        console = Console()
        started = time.perf_counter()
        with console.status("loading the Dagster definitions ...") as status:
            def progress(event: str, step: str) -> None:
                if event == "STEP_START":
                    status.update(f"running {step} ...")
                elif event in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
                    mark = {"STEP_SUCCESS": "[green]ok[/]", "STEP_FAILURE": "[red]failed[/]",
                            "STEP_SKIPPED": "[yellow]skipped[/]"}[event]
                    console.print(f"  {mark} {step}")

            result = run_pipeline(full=full, progress=progress)
        failed = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                  and not e.event_specific_data.passed]
        for e in failed:
            ev = e.event_specific_data
            console.print(f"  [yellow]check failed[/] {ev.asset_key.to_user_string()}:{ev.check_name}")
        console.print(f"pipeline {'succeeded' if result.success else 'FAILED'} in "
                      f"{time.perf_counter() - started:.1f}s")
        raise typer.Exit(0 if result.success else 1)

    @pipeline.command("serve")
    def serve(interval: int = typer.Option(None, envvar="EHB_PIPELINE_INTERVAL",
                                           help="seconds between incremental runs (900)")) -> None:
        """Demo data if the database is empty, materialize everything, then keep it fresh: an
        incremental run every INTERVAL seconds, and the runs `ehb pipeline refresh` asks for."""
        import time

        from pipelines.refresh import ServePoller
        from pipelines.run import bootstrap_demo, run_pipeline

        poller = ServePoller(interval or 900)
        bootstrap_demo(echo=lambda m: typer.echo(f"[pipeline] {m}"))
        while True:
            time.sleep(ServePoller.POLL_SECONDS)
            requests = poller.next_run()
            if requests is None:
                continue
            kind = "full" if requests.full else "incremental"
            result = run_pipeline(full=requests.full)
            typer.echo(f"[pipeline] {kind} run ({', '.join(requests.requested_by)}) "
                       f"{'ok' if result.success else 'FAILED'}")

    @pipeline.command("refresh")
    def refresh(full: bool = typer.Option(False, "--full", help="ask for a full refresh")) -> None:
        """Ask for a run now: `ehb pipeline serve` (make run) or the Dagster daemon's
        `refresh_requests` sensor starts it within seconds."""
        import getpass

        from pipelines.refresh import request_refresh

        path = request_refresh(full=full, requested_by=getpass.getuser())
        typer.echo(f"refresh requested ({'full' if full else 'incremental'}): {path.name}")

    @pipeline.command("ui")
    def ui(host: str = typer.Option(None, help="bind address (default DAGSTER_HOST, "
                                                 "127.0.0.1)"),
           port: int = typer.Option(None)) -> None:
        """Serve the Dagster UI on the workspace (blocking)."""
        from pipelines.run import serve_dagster_ui

        serve_dagster_ui(host=host, port=port)

    root.add_typer(pipeline, name="pipeline")

    @bench.command("ingest")
    def bench_ingest(
        rows: int = typer.Option(5_000_000, help="rows in the benchmark table"),
        parallel: int = typer.Option(2, help="parallel COPY streams over page (ctid) ranges of one snapshot"),
        skip_freshness: bool = typer.Option(False, help="skip the write->snapshot measurement"),
        keep: bool = typer.Option(False, help="keep the scratch database"),
    ) -> None:
        """Full load vs COPY BINARY, peak RSS, incremental after 1% change, freshness."""
        import json

        from api.settings import get_settings
        from pipelines.bench import freshness, run_bench

        from api.scratchdb import scratch_database

        if not get_settings().database_url:
            typer.echo("DATABASE_URL is not set: the bench makes a scratch database beside it",
                       err=True)
            raise typer.Exit(2)
        # A migrated scratch database beside the configured one: the bench table, the deletes
        # log the ingestion reads, and the freshness probe's write never touch real data.
        with scratch_database(get_settings().sqlalchemy_url, keep=keep,
                              echo=typer.echo) as url:
            figures = run_bench(url, rows, parallel, typer.echo)
            if not skip_freshness:
                figures.update(freshness(url, typer.echo))
        typer.echo(json.dumps(figures, indent=2))
