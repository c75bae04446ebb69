"""`ehb ai ...` (build the models, register the built-in catalog, serve a provider, check
provider health) and `ehb bench ai` (gateway overhead against calling the provider directly)."""

from __future__ import annotations

import json

import typer


def bootstrap_builtin() -> dict[str, int]:
    """The build step and the built-in catalog (used by `ehb up` in a child process)."""
    from api.ai.builtin import build_models, ensure_builtin_catalog
    from api.db import new_session

    folder = build_models()
    with new_session() as session:
        return ensure_builtin_catalog(session, folder=folder)


def register(root: typer.Typer, bench: typer.Typer) -> None:
    ai = typer.Typer(help="AI marketplace", no_args_is_help=True)

    @ai.command("build-models")
    def build_models_cmd(force: bool = typer.Option(False, help="rebuild even when present")):
        """Train the iris classifier on scikit-learn's bundled data and write its ONNX files
        (AI_MODELS_DIR, default DATA_DIR/ai/models)."""
        from rich.console import Console

        from api.ai import classifier
        from api.ai.builtin import build_models

        with Console(stderr=True).status("training and converting the iris classifier ..."):
            folder = build_models(force=force)
        for version in classifier.VERSIONS:
            card = classifier.read_card(folder, version)
            typer.echo(f"{classifier.onnx_path(folder, version)}: {card['algorithm']}, "
                       f"held-out accuracy {card['metrics']['accuracy']}")

    @ai.command("bootstrap")
    def bootstrap_cmd():
        """Build the models when missing and register the built-in provider and services."""
        typer.echo(json.dumps(bootstrap_builtin(), indent=2))

    @ai.command("provider")
    def provider_cmd(kind: str = typer.Argument(..., help="embedding or classifier"),
                     host: str = typer.Option("127.0.0.1"),
                     port: int = typer.Option(..., help="port to serve on")):
        """Serve one built-in model provider (what `ehb up` starts)."""
        from api.ai.modelserver import main

        main([kind, "--host", host, "--port", str(port)])

    @ai.command("health")
    def health_cmd():
        """Check every provider endpoint now; out of rotation after repeated failures."""
        from rich.console import Console
        from rich.table import Table

        from api.ai.health import check_endpoints
        from api.ai.service import utcnow
        from api.db import new_session

        with new_session() as session:
            results = check_endpoints(session, now=utcnow())
        table = Table(title="AI provider endpoints")
        for col in ("id", "name", "ok", "detail", "ms"):
            table.add_column(col)
        for r in results:
            table.add_row(str(r["endpoint_id"]), r["name"], "yes" if r["ok"] else "NO",
                          r["detail"], f"{r['latency_ms']:.1f}")
        Console().print(table)

    root.add_typer(ai, name="ai")

    @bench.command("ai")
    def bench_ai(calls: int = typer.Option(400, help="measured calls per side and workload"),
                 keep: bool = typer.Option(False, help="keep the scratch database")):
        """Gateway latency per call against calling the provider directly (p50, p95), per
        workload, in one run; the gateway's added share at p50 (target: under 20 %)."""
        from rich.console import Console
        from rich.table import Table

        from api.ai.bench import TARGET, run
        from api.settings import get_settings

        base = get_settings().database_url
        if not base:
            typer.echo("DATABASE_URL is not set", err=True)
            raise typer.Exit(2)
        console = Console()
        results = run(base, calls=calls, keep=keep, echo=lambda m: console.print(f"[dim]{m}"))
        table = Table(title=f"ehb bench ai: {calls} sequential calls per side, keep-alive")
        for col in ("workload", "direct p50 ms", "gateway p50 ms", "added p50 ms", "added p50",
                    "direct p95", "gateway p95", "checks + reservation p50 ms", "target < 20 %"):
            table.add_column(col)
        for r in results:
            table.add_row(r.name, f"{r.direct_p50:.2f}", f"{r.gateway_p50:.2f}",
                          f"{r.added_ms:.2f}", f"{r.added_share:.0%}", f"{r.direct_p95:.2f}",
                          f"{r.gateway_p95:.2f}", f"{r.gateway_internal_p50:.2f}",
                          "met" if r.added_share < TARGET else "NOT met")
        console.print(table)
        console.print("direct: client -> provider process; gateway: client -> API (key, "
                      "schema, reservation, provider, settlement through the ledger) -> "
                      "provider. 'checks + reservation': the gateway's time from the key check "
                      "to the provider's answer, less the provider call; the rest of the added "
                      "time is the HTTP hop, the API's request handling and the settlement "
                      "(ledger posting). Ledger verified and every call billed once after the "
                      "run.")
