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

    @users.command("prune")
    def prune() -> None:
        """Delete stale login-failure counters, long-expired refresh and email tokens, and
        devices no one signed in from for AUTH_KNOWN_DEVICE_TTL_DAYS."""
        from datetime import UTC, datetime, timedelta

        from api.auth import devices, email_tokens, sessions, throttle
        from api.auth.settings import get_auth_settings
        from api.db import session_scope

        now = datetime.now(UTC)
        settings = get_auth_settings()
        with session_scope() as session:
            counts = (throttle.prune(session, now, settings),
                      sessions.prune_expired(session, now),
                      email_tokens.prune_expired(session, now),
                      devices.prune(session, now,
                                    timedelta(days=settings.known_device_ttl_days)))
        typer.echo("removed {} login throttle rows, {} refresh tokens, {} email tokens, "
                   "{} known devices".format(*counts))

    def _admin(action) -> None:
        """Run a user-admin service call on the user with this email; refusals exit 1."""
        from api.core.errors import AppError
        from api.db import session_scope

        try:
            with session_scope() as session:
                typer.echo(action(session))
        except AppError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from None

    def _user_id(session, email: str) -> int:
        from api.auth.service import get_user_by_email
        from api.core.errors import NotFound

        user = get_user_by_email(session, email)
        if user is None:
            raise NotFound(f"no user with email {email}")
        return user.id

    @users.command("set-roles")
    def set_roles(email: str, roles: list[str] = typer.Argument(..., help="e.g. admin analyst")):
        """Replace a user's roles."""
        from api.users import service

        _admin(lambda s: "roles: " + " ".join(
            service.set_roles(s, None, _user_id(s, email), roles).roles))

    @users.command("disable")
    def disable(email: str) -> None:
        """Disable a user and end all their sessions."""
        from api.users import service

        _admin(lambda s: f"disabled {service.disable_user(s, None, _user_id(s, email)).email}")

    @users.command("enable")
    def enable(email: str) -> None:
        """Re-enable a disabled user."""
        from api.users import service

        _admin(lambda s: f"enabled {service.enable_user(s, None, _user_id(s, email)).email}")

    root.add_typer(users, name="users")
