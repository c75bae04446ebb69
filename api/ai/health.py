"""Provider endpoint health: a circuit breaker kept in ai_endpoints.

A failure (a call that failed after its retries, or a failed health check) adds one to the
endpoint's failures in a row; at AI_EJECT_AFTER_FAILURES it leaves rotation until
`out_until` (now + AI_EJECT_SECONDS). The gateway skips an ejected endpoint until then, after
which one call may try it (half-open); any success (call or check) puts it back in rotation.
`check_endpoints` is the active check (GET base_url + health_path), run every minute by the
job worker (api/ai/jobs.py), by `ehb ai health` and by POST /api/v1/ai/endpoints/check."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from api.ai.config import ai_settings
from api.ai.models import AiEndpoint


def record_failure(session: Session, endpoint_id: int, error: str, now: datetime) -> None:
    settings = ai_settings()
    failures = AiEndpoint.consecutive_failures + 1
    ejected = failures >= settings.eject_after_failures
    session.execute(update(AiEndpoint).where(AiEndpoint.id == endpoint_id).values(
        consecutive_failures=failures, last_error=error[:300],
        in_rotation=_case(ejected, False, AiEndpoint.in_rotation),
        out_until=_case(ejected, now + timedelta(seconds=settings.eject_seconds),
                        AiEndpoint.out_until)))


def _case(condition, then, otherwise):
    return case((condition, then), else_=otherwise)


def record_success(session: Session, endpoint_id: int, now: datetime,
                   latency_ms: float | None = None, checked: bool = False) -> None:
    values = {"consecutive_failures": 0, "in_rotation": True, "out_until": None,
              "last_ok_at": now}
    if checked:
        values.update(last_check_at=now, last_latency_ms=latency_ms)
    session.execute(update(AiEndpoint).where(AiEndpoint.id == endpoint_id).values(**values))


def usable(state: dict | None, now: datetime) -> bool:
    """In rotation, or ejected with its time out served (one trial)."""
    if state is None or state["in_rotation"]:
        return True
    out_until = state.get("out_until")
    if out_until is None:
        return True
    if isinstance(out_until, str):
        out_until = datetime.fromisoformat(out_until)
    return out_until <= now


def check_endpoints(session: Session, *, now: datetime, ids: list[int] | None = None,
                    provider_user_id: int | None = None,
                    client: httpx.Client | None = None) -> list[dict]:
    """Probe each endpoint's health URL; record the outcome (committed). Returns one row per
    endpoint: id, ok, status or error, latency."""
    settings = ai_settings()
    query = select(AiEndpoint).order_by(AiEndpoint.id)
    if ids:
        query = query.where(AiEndpoint.id.in_(ids))
    if provider_user_id is not None:
        query = query.where(AiEndpoint.provider_user_id == provider_user_id)
    endpoints = list(session.scalars(query))
    session.rollback()  # no transaction open while probing
    own = client is None
    client = client or httpx.Client(timeout=settings.health_timeout_seconds)
    results = []
    try:
        for ep in endpoints:
            started = time.perf_counter()
            try:
                resp = client.get(ep.base_url + ep.health_path,
                                  timeout=settings.health_timeout_seconds)
                ok, detail = resp.status_code == 200, f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"[:300]
            latency = round((time.perf_counter() - started) * 1000, 3)
            if ok:
                record_success(session, ep.id, now, latency, checked=True)
            else:
                record_failure(session, ep.id, f"health check: {detail}", now)
                session.execute(update(AiEndpoint).where(AiEndpoint.id == ep.id)
                                .values(last_check_at=now, last_latency_ms=latency))
            session.commit()
            results.append({"endpoint_id": ep.id, "name": ep.name, "ok": ok, "detail": detail,
                            "latency_ms": latency})
    finally:
        if own:
            client.close()
    return results
