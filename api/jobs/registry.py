"""Hooks other domains register without editing this package.

A domain adds `api/<domain>/jobs.py` and decorates plain service functions:

    from api.jobs.registry import periodic_hook, hook

    @periodic_hook("wallet.release_payouts", cron="*/10 * * * *", queue="payouts")
    def release_payouts(session, now):          # committed after it returns
        return {"released": n}                   # optional, logged

    @hook("payments.reconcile_one", queue="payments")
    def reconcile_one(session, payment_id: int): ...
    # deferred inside the caller's transaction: api.jobs.service.defer(session,
    #     "hooks.payments.reconcile_one", payment_id=42)

The worker imports every `api/<domain>/jobs.py` at start (discover()), so they are known.
Each hook becomes a procrastinate task named "hooks.<name>" with retries and backoff.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import api
from api.jobs.app import app, default_retry

log = logging.getLogger("ehb.jobs")

HookFunc = Callable[..., Any]
# name -> (queue, cron or None): what /api/v1/jobs lists as registered schedules.
HOOKS: dict[str, tuple[str, str | None]] = {}


def _run_in_transaction(name: str, func: HookFunc, **kwargs: Any) -> Any:
    from api.db import new_session

    # Service functions commit their own units of work; whatever is left open commits here.
    with new_session() as session:
        result = func(session, **kwargs)
        session.commit()
    log.info("hook done", extra={"hook": name, "result": result})
    return result


def hook(name: str, *, queue: str = "default", retry: Any = None,
         lock: str | None = None) -> Callable[[HookFunc], HookFunc]:
    """Register `func(session, **kwargs)` as task "hooks.<name>" (deferred on demand)."""

    def decorator(func: HookFunc) -> HookFunc:
        task_name = f"hooks.{name}"

        def run(**kwargs: Any) -> Any:
            return _run_in_transaction(name, func, **kwargs)

        run.__name__ = func.__name__
        app.task(name=task_name, queue=queue, lock=lock,
                 retry=retry if retry is not None else default_retry())(run)
        HOOKS[task_name] = (queue, None)
        return func

    return decorator


def periodic_hook(name: str, *, cron: str, queue: str = "default",
                  retry: Any = None) -> Callable[[HookFunc], HookFunc]:
    """Register `func(session, now)` to run on a cron schedule ("hooks.<name>"). The task's
    lock keeps two runs of one schedule from overlapping."""

    def decorator(func: HookFunc) -> HookFunc:
        task_name = f"hooks.{name}"

        def run(timestamp: int) -> Any:
            from api.jobs.pause import unless_paused

            now = datetime.fromtimestamp(timestamp, UTC)
            with unless_paused() as free:
                if not free:  # a simulation is writing: this tick is skipped, the next one runs
                    log.info("hook skipped", extra={"hook": name, "reason": "simulation running"})
                    return {"skipped": "simulation running"}
                return _run_in_transaction(name, func, now=now)

        run.__name__ = func.__name__
        task = app.task(name=task_name, queue=queue, lock=task_name,
                        retry=retry if retry is not None else default_retry())(run)
        app.periodic(cron=cron, periodic_id=name)(task)
        HOOKS[task_name] = (queue, cron)
        return func

    return decorator


def discover() -> list[str]:
    """Import every `api/<domain>/jobs.py` so its hooks are registered (worker start-up), and
    every domain's models: a job flushing a row whose foreign key points into another domain
    (notification_outbox.user_id -> users) fails in a process that never imported that one."""
    from api.registry import import_all_models

    import_all_models()
    base = Path(api.__file__).parent
    found = []
    for m in pkgutil.iter_modules([str(base)]):
        if m.ispkg and m.name != "jobs" and (base / m.name / "jobs.py").exists():
            importlib.import_module(f"api.{m.name}.jobs")
            found.append(f"api.{m.name}.jobs")
    return found

