"""`ehb users ...`"""

from __future__ import annotations

import typer


def register(root: typer.Typer, bench: typer.Typer) -> None:
    users = typer.Typer(help="user administration", no_args_is_help=True)

    @users.command("create-admin")
    def create_admin(
        email: str = typer.Option(..., prompt=True),
        password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                     envvar="EHB_ADMIN_PASSWORD"),
    ) -> None:
        """Create the first admin (email verified, role admin)."""
        from api.auth.service import create_user
        from api.core.errors import AppError
        from api.db import session_scope

        try:
            with session_scope() as session:
                user = create_user(session, email, password, roles=["admin"], verified=True)
                typer.echo(f"created admin {user.email} (id {user.id})")
        except AppError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from None

    @users.command("prune-throttles")
    def prune_throttles() -> None:
        """Delete stale login-failure counters (unlocked, past the failure window)."""
        from datetime import UTC, datetime

        from api.auth.settings import get_auth_settings
        from api.auth.throttle import prune
        from api.db import session_scope

        with session_scope() as session:
            removed = prune(session, datetime.now(UTC), get_auth_settings())
        typer.echo(f"removed {removed} stale login throttle rows")

    root.add_typer(users, name="users")
