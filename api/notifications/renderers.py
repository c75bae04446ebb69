"""Secrets made at delivery time. A message that must carry a secret (a single-use link) is
written to the outbox without it, naming a renderer in its payload ({"render": "<domain>.<name>",
...}); delivery calls that renderer inside the attempt's savepoint, and the text it returns is
sent and never stored. So the secret exists only in the delivered mail: not in the outbox, not
in any API answer, not for a reader of the database.

A domain registers its renderers with @renderer in `api/<domain>/mail.py`, imported on first
use (the worker process need not have imported that domain before)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from api.notifications.channels import DeliveryError
from api.notifications.models import OutboxMessage

Renderer = Callable[[Session, OutboxMessage], str]
RENDERERS: dict[str, Renderer] = {}
_API_DIR = Path(__file__).resolve().parent.parent


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register `func(session, message) -> body` under `name` ("<domain>.<what>")."""

    def decorator(func: Renderer) -> Renderer:
        RENDERERS[name] = func
        return func

    return decorator


def _lookup(name: str) -> Renderer | None:
    if name not in RENDERERS:
        domain = name.split(".", 1)[0]
        if domain.isidentifier() and (_API_DIR / domain / "mail.py").is_file():
            importlib.import_module(f"api.{domain}.mail")
    return RENDERERS.get(name)


def body_to_send(session: Session, message: OutboxMessage) -> str:
    """The body as it is to be sent: the stored one, or its renderer's output (which may write,
    e.g. a token's hash, in the caller's transaction). Raises DeliveryError(permanent) when the
    renderer is unknown or the message may not carry a secret on its channel."""
    name = (message.payload or {}).get("render")
    if not name:
        return message.body
    if message.channel != "email":
        raise DeliveryError(f"a message with a secret ({name}) goes by email only",
                            permanent=True)
    func = _lookup(str(name))
    if func is None:
        raise DeliveryError(f"no renderer named {name!r}", permanent=True)
    return func(session, message)
