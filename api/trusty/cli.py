"""`ehb keys rotate|generate` (field encryption) and `ehb trusty run-due`."""

from __future__ import annotations

import json

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    keys = typer.Typer(help="field encryption keys (AES-GCM)", no_args_is_help=True)

    @keys.command("generate")
    def generate() -> None:
        """Print a new random 256-bit key for FIELD_ENCRYPTION_KEYS (never commit it)."""
        from api.core.fieldcrypt import generate_key

        typer.echo(generate_key())

    @keys.command("rotate")
    def rotate(batch_size: int = typer.Option(500, help="rows per short transaction")) -> None:
        """Re-encrypt every encrypted column under FIELD_ENCRYPTION_ACTIVE_KEY, in batches,
        while the service keeps running (reads accept every key in the ring)."""
        from api.core import fieldcrypt
        from api.db import Base, get_engine
        from api.registry import import_all_models

        import_all_models()
        counts = fieldcrypt.rotate(get_engine(), Base.metadata, batch_size=batch_size)
        typer.echo(json.dumps({"active_key": fieldcrypt.keyring().active, "reencrypted": counts},
                              indent=2))

    root.add_typer(keys, name="keys")

    trusty = typer.Typer(help="trusty wallet jobs", no_args_is_help=True)

    @trusty.command("run-due")
    def run_due() -> None:
        """Expire stale approval requests and execute vault moves whose delay has passed."""
        from api.db import new_session
        from api.trusty.service import run_due as run

        with new_session() as session:
            typer.echo(json.dumps(run(session)))

    root.add_typer(trusty, name="trusty")
