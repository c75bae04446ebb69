"""The invoke gateway: one call, from API key to billed answer.

    1. resolve the requested service version and the buyer's fallbacks (in-process copy of the
       catalog: versions are immutable, the copy is re-read every AI_CATALOG_CACHE_SECONDS)
    2. validate the input against every candidate's input schema (422, nothing reserved),
       count tokens with each model's own tokenizer, price each candidate
    3. reserve the dearest candidate's price: ONE statement (`ai_reserve`) checks the key
       (401), its scope (403), rate window (429), budget (429) and the buyer's balance net of
       calls in flight (402), and records the call as 'reserved'
    4. forward over HTTP (timeout, retries on 5xx and refused connections), then to the next
       candidate; an endpoint out of rotation is skipped (api/ai/health.py)
    5. a valid answer is settled: the ledger posting and `ai_settle` in one transaction
       (billed exactly once); anything else releases the reservation (`ai_release`): a failed,
       timed-out or garbage answer costs nothing (502/503/504)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from api.ai import health, money
from api.ai.config import ai_settings
from api.ai.keys import PresentedKey
from api.ai.models import AiEndpoint, AiService, AiServiceVersion
from api.ai.wordmodel import TOKEN_COUNTERS
from api.core.context import request_id_var
from api.core.errors import AppError, Conflict, NotFound, Unprocessable
from api.db import get_engine, new_session
from api.wallet.idempotency import with_retry

# SQLSTATE raised by ai_reserve -> (HTTP status, error code)
_RESERVE_ERRORS = {
    "EHA01": (401, "invalid_api_key"), "EHA02": (401, "api_key_revoked"),
    "EHA03": (401, "api_key_expired"), "EHA04": (401, "account_disabled"),
    "EHA05": (403, "key_scope"), "EHA06": (422, "currency_mismatch"),
    "EHA07": (429, "rate_limited"), "EHA08": (429, "token_rate_limited"),
    "EHA09": (429, "budget_exceeded"), "EHA10": (402, "no_wallet"),
    "EHA11": (402, "insufficient_balance"), "EHA12": (409, "duplicate_request"),
}
_RETRY_AFTER = {"EHA07", "EHA08", "EHA09"}
# Outcomes that count against the endpoint's health; an answer outside the version's schema
# or a 4xx is that version's fault, not the endpoint's (it still fails over).
HEALTH_FAILURES = {"provider_unreachable", "provider_error", "provider_timeout"}


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- the catalog copy ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One version the gateway may call, with everything a call needs."""

    service_id: int
    slug: str
    currency: str
    provider_user_id: int
    version_id: int
    version: str
    endpoint_id: int
    url: str
    input_schema: dict
    output_schema: dict
    price_per_call: int
    price_per_1k_tokens: int
    tokenizer: str | None
    max_input_tokens: int | None
    timeout_s: float
    sunset_at: datetime | None  # the earlier of the service's and the version's

    def price(self, tokens: int) -> int:
        return self.price_per_call + -(-tokens * self.price_per_1k_tokens // 1000)


@dataclass
class _Entry:
    loaded: float
    service_sunset: datetime | None
    versions: dict[str, Target] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # oldest first


_catalog: dict[tuple[str, str], _Entry] = {}
_validators: dict[tuple[int, str], Any] = {}
_lock = threading.Lock()


def _load(slug: str) -> _Entry | None:
    with new_session() as session:
        service = session.scalar(select(AiService).where(AiService.slug == slug))
        if service is None:
            return None
        rows = session.execute(
            select(AiServiceVersion, AiEndpoint)
            .join(AiEndpoint, AiEndpoint.id == AiServiceVersion.endpoint_id)
            .where(AiServiceVersion.service_id == service.id).order_by(AiServiceVersion.id)).all()
    entry = _Entry(time.monotonic(), service.sunset_at)
    for v, ep in rows:
        sunsets = [d for d in (service.sunset_at, v.sunset_at) if d is not None]
        entry.versions[v.version] = Target(
            service.id, service.slug, service.currency, service.provider_user_id, v.id,
            v.version, v.endpoint_id, ep.base_url + v.path, v.input_schema, v.output_schema,
            v.price_per_call_minor, v.price_per_1k_tokens_minor, v.tokenizer, v.max_input_tokens,
            v.timeout_ms / 1000, min(sunsets) if sunsets else None)
        entry.order.append(v.version)
    return entry


def _entry(slug: str) -> _Entry:
    key = (str(get_engine().url), slug)
    with _lock:
        entry = _catalog.get(key)
    if entry is None or time.monotonic() - entry.loaded > ai_settings().catalog_cache_seconds:
        entry = _load(slug)
        if entry is None:
            raise NotFound(f"no service {slug!r}", code="service_not_found")
        with _lock:
            _catalog[key] = entry
    return entry


def forget_catalog() -> None:
    with _lock:
        _catalog.clear()


def resolve(slug: str, version: str | None, now: datetime) -> Target:
    entry = _entry(slug)
    if entry.service_sunset is not None and entry.service_sunset <= now:
        raise AppError(f"{slug} was retired on {entry.service_sunset.isoformat()}",
                       code="service_retired", status_code=410)
    if version is not None:
        target = entry.versions.get(version)
        if target is None:
            raise NotFound(f"{slug} has no version {version!r}", code="version_not_found",
                           details={"versions": entry.order})
        if target.sunset_at is not None and target.sunset_at <= now:
            raise AppError(f"{slug}@{version} was retired on {target.sunset_at.isoformat()}",
                           code="version_retired", status_code=410)
        return target
    live = [entry.versions[v] for v in entry.order
            if entry.versions[v].sunset_at is None or entry.versions[v].sunset_at > now]
    if not live:
        raise NotFound(f"{slug} has no live version", code="version_not_found")
    return live[-1]


def _validator(target: Target, which: str):
    key = (target.version_id, which)
    found = _validators.get(key)
    if found is None:
        import jsonschema_rs

        found = jsonschema_rs.Draft202012Validator(getattr(target, f"{which}_schema"))
        _validators[key] = found
    return found


def schema_problem(target: Target, which: str, value: Any) -> dict | None:
    """None when `value` matches the version's input or output schema, else the first
    problem (where, what)."""
    validator = _validator(target, which)
    if validator.is_valid(value):
        return None
    error = next(iter(validator.iter_errors(value)))
    return {"path": "/".join(str(p) for p in error.instance_path) or "(root)",
            "message": error.message[:300]}


# ---- the provider call -----------------------------------------------------------------------

class ProviderFailure(AppError):
    status_code, code = 502, "provider_error"


@dataclass
class Outcome:
    output: Any = None
    error: AppError | None = None
    attempts: int = 0
    latency_ms: float = 0.0


_client: httpx.Client | None = None


def http_client() -> httpx.Client:
    """One pooled keep-alive client per process (thread-safe); proxies from the environment
    are ignored: providers are called directly."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = httpx.Client(trust_env=False, limits=httpx.Limits(
                    max_connections=200, max_keepalive_connections=64))
    return _client


def call_provider(target: Target, payload: bytes, request_id: str) -> Outcome:
    settings = ai_settings()
    outcome = Outcome()
    headers = {"content-type": "application/json", "x-request-id": request_id}
    for attempt in range(1, settings.provider_retries + 2):
        outcome.attempts = attempt
        started = time.perf_counter()
        try:
            resp = http_client().post(target.url, content=payload, headers=headers,
                                      timeout=target.timeout_s)
        except httpx.TimeoutException:
            outcome.error = AppError(f"{target.slug}@{target.version} did not answer within "
                                     f"{target.timeout_s:g} s", code="provider_timeout",
                                     status_code=504)
            return outcome  # the time is spent: no retry of this one
        except httpx.TransportError as exc:
            outcome.error = AppError(f"{target.slug}@{target.version} is unreachable "
                                     f"({type(exc).__name__})", code="provider_unreachable",
                                     status_code=503)
        else:
            outcome.latency_ms = (time.perf_counter() - started) * 1000
            if resp.status_code >= 500:
                outcome.error = ProviderFailure(
                    f"{target.slug}@{target.version} failed (HTTP {resp.status_code})")
            elif resp.status_code != 200:
                outcome.error = ProviderFailure(
                    f"{target.slug}@{target.version} refused the call (HTTP {resp.status_code})",
                    code="provider_rejected")
                return outcome
            else:
                try:
                    output = orjson.loads(resp.content)
                except orjson.JSONDecodeError:
                    outcome.error = ProviderFailure(
                        f"{target.slug}@{target.version} answered something that is not JSON",
                        code="provider_bad_output")
                    return outcome
                problem = schema_problem(target, "output", output)
                if problem is not None:
                    outcome.error = ProviderFailure(
                        f"{target.slug}@{target.version} answered outside its output schema",
                        code="provider_bad_output", details=problem)
                    return outcome
                outcome.output, outcome.error = output, None
                return outcome
        if attempt <= settings.provider_retries:
            time.sleep(settings.retry_backoff_seconds * attempt)
    return outcome


# ---- reservation, settlement, release --------------------------------------------------------

def reserve(key: PresentedKey, chain: list[Target], amount: int, tokens: int,
            request_key: str | None, now: datetime) -> dict:
    services = list(dict.fromkeys(t.service_id for t in chain))
    endpoints = list(dict.fromkeys(t.endpoint_id for t in chain))
    try:
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return conn.exec_driver_sql(
                "SELECT ai_reserve(%(prefix)s, %(hash)s, %(services)s, %(endpoints)s, "
                "%(currency)s, %(amount)s, %(tokens)s, %(request_key)s, %(now)s)",
                {"prefix": key.prefix, "hash": key.secret_hash, "services": services,
                 "endpoints": endpoints, "currency": chain[0].currency, "amount": amount,
                 "tokens": tokens, "request_key": request_key, "now": now}).scalar_one()
    except DBAPIError as exc:
        raise _reserve_refusal(exc) from None


def _reserve_refusal(exc: DBAPIError) -> BaseException:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)
    if state not in _RESERVE_ERRORS:
        return exc
    status, code = _RESERVE_ERRORS[state]
    diag = orig.diag
    headers, details = None, None
    if state in _RETRY_AFTER and diag.message_detail:
        headers = {"Retry-After": str(max(1, int(diag.message_detail)))}
    if state == "EHA05" and diag.message_detail:
        details = {"service_ids": [int(s) for s in diag.message_detail.split(",")]}
    if state == "EHA12" and diag.message_detail:
        details = {"call_id": int(diag.message_detail)}
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return AppError(diag.message_primary, code=code, status_code=status, headers=headers,
                    details=details)


def release(call_id: int, error_code: str, version_id: int | None, latency_ms: float,
            attempts: int, now: datetime) -> None:
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SELECT ai_release(%(call)s, %(error)s, %(version)s, %(latency)s, "
                             "%(attempts)s, %(now)s)",
                             {"call": call_id, "error": error_code, "version": version_id,
                              "latency": latency_ms, "attempts": attempts, "now": now})


def _settle(call_id: int, target: Target, reservation: dict, tokens: int, charge: int,
            latency_ms: float, outcome: Outcome, attempts: int, fallback: bool, now: datetime,
            endpoint_recovered: bool) -> int | None:
    provider_share, fee = money.split(charge, ai_settings().platform_fee_bps)
    session = new_session()

    def unit() -> int | None:
        tx = money.post_call_charge(
            session, call_id=call_id, buyer_wallet_id=reservation["wallet_account_id"],
            provider_user_id=target.provider_user_id, currency=target.currency,
            charge_minor=charge, fee_minor=fee, service=f"{target.slug}@{target.version}",
            buyer_user_id=reservation["user_id"])
        settled = session.execute(text(
            "SELECT ai_settle(:call, :version, :provider, :charge, :share, :fee, :tokens, "
            ":latency, :provider_latency, :attempts, :fallback, :tx, :now)"), {
            "call": call_id, "version": target.version_id, "provider": target.provider_user_id,
            "charge": charge, "share": provider_share, "fee": fee, "tokens": tokens,
            "latency": latency_ms, "provider_latency": outcome.latency_ms,
            "attempts": attempts, "fallback": fallback, "tx": tx, "now": now}).scalar_one()
        if not settled:
            session.rollback()
            raise Conflict(f"call {call_id} is no longer reserved (released meanwhile)",
                           code="call_not_reserved")
        if endpoint_recovered:
            health.record_success(session, target.endpoint_id, now)
        session.commit()
        return tx

    try:
        return with_retry(session, unit)
    finally:
        session.close()


def _record_endpoint_failure(endpoint_id: int, error: AppError, now: datetime) -> None:
    with new_session() as session:
        health.record_failure(session, endpoint_id, f"{error.code}: {error.message}", now)
        session.commit()


# ---- invoke ----------------------------------------------------------------------------------

def _chain(slug: str, version: str | None, fallbacks: list[str], now: datetime) -> list[Target]:
    chain = [resolve(slug, version, now)]
    for ref in fallbacks:
        name, _, ver = ref.partition("@")
        chain.append(resolve(name, ver or None, now))
    unique = list({t.version_id: t for t in chain}.values())
    if other := [f"{t.slug}@{t.version}" for t in unique if t.currency != unique[0].currency]:
        raise Unprocessable(f"fallbacks must be priced in {unique[0].currency}: {', '.join(other)}",
                            code="currency_mismatch")
    return unique


def invoke(key: PresentedKey, slug: str, payload: Any, *, version: str | None = None,
           fallbacks: list[str] | tuple = (), request_key: str | None = None,
           now: datetime | None = None) -> dict:
    """Call `slug` (or a fallback) with `payload` on behalf of the key's owner; the answer with
    its usage, billed once. Raises the refusals listed in this module's docstring."""
    started = time.perf_counter()
    now = now or utcnow()
    chain = _chain(slug, version, list(fallbacks), now)
    tokens: dict[str | None, int] = {}
    for target in chain:
        if problem := schema_problem(target, "input", payload):
            raise Unprocessable(f"input does not match the input schema of "
                                f"{target.slug}@{target.version}: {problem['message']}",
                                code="input_schema_mismatch",
                                details={**problem, "service": target.slug,
                                         "version": target.version})
        if target.tokenizer not in tokens:
            counter = TOKEN_COUNTERS.get(target.tokenizer)
            tokens[target.tokenizer] = counter(payload) if counter else 0
        limit = target.max_input_tokens
        if limit is not None and tokens[target.tokenizer] > limit:
            raise Unprocessable(f"input has {tokens[target.tokenizer]} tokens; "
                                f"{target.slug}@{target.version} takes at most {limit}",
                                code="too_many_tokens")
    costs = [t.price(tokens[t.tokenizer]) for t in chain]
    reservation = reserve(key, chain, max(costs), max(tokens.values()), request_key, now)
    call_id = reservation["call_id"]
    states = {e["id"]: e for e in reservation["endpoints"]}
    body = orjson.dumps(payload)
    request_id = request_id_var.get() or uuid.uuid4().hex
    attempts, error, last_version = 0, None, None
    try:
        for position, target in enumerate(chain):
            state = states.get(target.endpoint_id)
            if not health.usable(state, now):
                error = AppError(f"{target.slug}@{target.version} is out of rotation "
                                 f"(failing health)", code="provider_unavailable",
                                 status_code=503)
                continue
            last_version = target.version_id
            outcome = call_provider(target, body, request_id)
            attempts += outcome.attempts
            if outcome.error is not None:
                error = outcome.error
                if error.code in HEALTH_FAILURES:
                    _record_endpoint_failure(target.endpoint_id, error, now)
                continue
            latency_ms = (time.perf_counter() - started) * 1000
            charge = costs[position]
            recovered = bool(state) and (not state["in_rotation"] or state["failures"] > 0)
            try:
                _settle(call_id, target, reservation, tokens[target.tokenizer], charge,
                        latency_ms, outcome, attempts, position > 0, now, recovered)
            except AppError as exc:
                if exc.code == "insufficient_funds":  # the wallet was emptied meanwhile
                    error = AppError("insufficient balance: the wallet no longer covers this "
                                     "call; nothing was charged", code="insufficient_balance",
                                     status_code=402)
                    break
                raise
            return {"call_id": call_id, "service": target.slug, "version": target.version,
                    "output": outcome.output,
                    "usage": {"tokens": tokens[target.tokenizer], "charge_minor": charge,
                              "currency": target.currency, "latency_ms": round(latency_ms, 3),
                              "provider_latency_ms": round(outcome.latency_ms, 3),
                              "attempts": attempts, "fallback_used": position > 0}}
    except BaseException:
        release(call_id, "gateway_error", last_version,
                (time.perf_counter() - started) * 1000, attempts, now)
        raise
    release(call_id, error.code, last_version, (time.perf_counter() - started) * 1000,
            attempts, now)
    raise error


def release_stale_reservations(now: datetime) -> int:
    """Release calls still 'reserved' long after they started (the gateway process died
    mid-call): their money and budget are freed, nothing is billed. Returns how many."""
    cutoff = now.timestamp() - ai_settings().stale_reservation_seconds
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        ids = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM ai_calls WHERE status = 'reserved' AND created_at < to_timestamp(%s)",
            (cutoff,))]
        released = 0
        for call_id in ids:
            released += bool(conn.exec_driver_sql(
                "SELECT ai_release(%s, 'stale_reservation', NULL, NULL, 0, %s)",
                (call_id, now)).scalar_one())
    return released
