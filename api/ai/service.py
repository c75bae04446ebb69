"""AI marketplace service functions: provider endpoints, services and their immutable versions,
deprecation, discovery (text and semantic search ranked with usage and ratings), ratings,
buyers' API keys and usage reports. The gateway (invoke) is api/ai/gateway.py."""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.ai import keys as api_keys
from api.ai import wordmodel
from api.ai.models import AiApiKey, AiCall, AiEndpoint, AiRating, AiService, AiServiceVersion
from api.core.errors import Conflict, Forbidden, NotFound, Unprocessable

USAGE_WINDOW = timedelta(days=30)
# Search ranking: relevance dominates; usage and ratings order among similar matches.
W_RELEVANCE, W_USAGE, W_RATING = 0.8, 0.1, 0.1
RATING_PRIOR, RATING_PRIOR_WEIGHT = 3.0, 5  # a Bayesian average: few ratings stay near 3
MAX_SCHEMA_BYTES = 64_000


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- endpoints -------------------------------------------------------------------------------

def _private_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a DNS name: not resolved here (documented limit)
    return not ip.is_global


def register_endpoint(session: Session, provider_user_id: int, *, name: str, base_url: str,
                      health_path: str = "/health", allow_private: bool = False) -> AiEndpoint:
    """The gateway sends buyers' calls to this URL, so a provider may not point it at the
    platform's own network (loopback, private ranges): only staff may (built-in providers)."""
    base_url = base_url.rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.query or parts.fragment:
        raise Unprocessable("base_url must be http(s)://host[:port][/path] without credentials",
                            code="invalid_endpoint")
    if _private_host(base_url) and not allow_private:
        raise Forbidden("endpoints on loopback or private addresses are reserved to the "
                        "platform", code="private_endpoint")
    endpoint = AiEndpoint(provider_user_id=provider_user_id, name=name, base_url=base_url,
                          health_path=health_path)
    session.add(endpoint)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"you already have an endpoint named {name!r}",
                       code="endpoint_exists") from None
    session.commit()
    return endpoint


def list_endpoints(session: Session, provider_user_id: int | None) -> list[AiEndpoint]:
    query = select(AiEndpoint).order_by(AiEndpoint.id)
    if provider_user_id is not None:
        query = query.where(AiEndpoint.provider_user_id == provider_user_id)
    return list(session.scalars(query))


# ---- services and versions -------------------------------------------------------------------

def _search_text(service: AiService) -> str:
    return " ".join([service.name, service.task.replace("_", " "), service.summary,
                     " ".join(service.tags), service.description[:2000]])


def publish_service(session: Session, provider_user_id: int, data: dict[str, Any]) -> AiService:
    service = AiService(provider_user_id=provider_user_id, status="active", **data)
    service.embedding = [float(x) for x in wordmodel.embed([_search_text(service)])[0]]
    session.add(service)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a service with slug {data['slug']!r} exists", code="slug_taken") from None
    session.commit()
    return service


def own_service(session: Session, provider_user_id: int, service_id: int,
                staff: bool = False) -> AiService:
    service = session.get(AiService, service_id)
    if service is None or (service.provider_user_id != provider_user_id and not staff):
        raise NotFound("service not found")
    return service


def _refs(node: Any):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("$ref", "$dynamicRef", "$recursiveRef"):
                yield v
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _check_schema(schema: dict, which: str) -> None:
    """A valid JSON Schema (2020-12), small, and self-contained: a reference outside the
    schema would make the gateway fetch a URL the provider chose."""
    import json

    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise Unprocessable(f"{which} is larger than {MAX_SCHEMA_BYTES} bytes",
                            code="invalid_schema")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise Unprocessable(f"{which} is not a valid JSON Schema: {exc.message}",
                            code="invalid_schema") from None
    if any(not isinstance(ref, str) or not ref.startswith("#") for ref in _refs(schema)):
        raise Unprocessable(f"{which}: only references inside the schema (#/...) are allowed",
                            code="invalid_schema")


def publish_version(session: Session, provider_user_id: int, service_id: int,
                    data: dict[str, Any], *, staff: bool = False) -> AiServiceVersion:
    service = own_service(session, provider_user_id, service_id, staff)
    if service.sunset_at is not None:
        raise Conflict("this service is deprecated: publish a new service", code="deprecated")
    endpoint = session.get(AiEndpoint, data["endpoint_id"])
    if endpoint is None or endpoint.provider_user_id != service.provider_user_id:
        raise Unprocessable("endpoint_id is not one of the provider's endpoints",
                            code="unknown_endpoint")
    _check_schema(data["input_schema"], "input_schema")
    _check_schema(data["output_schema"], "output_schema")
    if data["price_per_1k_tokens_minor"] and not data.get("tokenizer"):
        raise Unprocessable("a price per 1k tokens needs a tokenizer to count them",
                            code="tokenizer_required")
    version = AiServiceVersion(service_id=service.id, **data)
    session.add(version)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"version {data['version']!r} exists; versions are immutable",
                       code="version_exists") from None
    session.commit()
    return version


def deprecate_service(session: Session, provider_user_id: int, service_id: int,
                      sunset_at: datetime, *, now: datetime, staff: bool = False) -> AiService:
    service = own_service(session, provider_user_id, service_id, staff)
    service.status, service.deprecated_at, service.sunset_at = "deprecated", now, sunset_at
    session.commit()
    return service


def deprecate_version(session: Session, provider_user_id: int, service_id: int, version: str,
                      sunset_at: datetime, *, staff: bool = False) -> AiServiceVersion:
    own_service(session, provider_user_id, service_id, staff)
    row = session.scalar(select(AiServiceVersion).where(
        AiServiceVersion.service_id == service_id, AiServiceVersion.version == version))
    if row is None:
        raise NotFound("version not found")
    row.sunset_at = sunset_at
    session.commit()
    return row


def _stats(session: Session, service_ids: list[int], now: datetime) -> dict[int, dict]:
    if not service_ids:
        return {}
    calls = dict(session.execute(
        select(AiCall.service_id, func.count()).where(
            AiCall.service_id.in_(service_ids), AiCall.status == "succeeded",
            AiCall.created_at >= now - USAGE_WINDOW).group_by(AiCall.service_id)).all())
    ratings = {sid: (float(avg), int(n)) for sid, avg, n in session.execute(
        select(AiRating.service_id, func.avg(AiRating.stars), func.count())
        .where(AiRating.service_id.in_(service_ids)).group_by(AiRating.service_id))}
    unhealthy = {sid for (sid,) in session.execute(
        select(AiServiceVersion.service_id).distinct()
        .join(AiEndpoint, AiEndpoint.id == AiServiceVersion.endpoint_id)
        .where(AiServiceVersion.service_id.in_(service_ids), ~AiEndpoint.in_rotation))}
    return {sid: {"calls_30d": int(calls.get(sid, 0)), "rating": ratings.get(sid),
                  "healthy": sid not in unhealthy} for sid in service_ids}


def service_out(service: AiService, versions: list[AiServiceVersion], stats: dict) -> dict:
    rating = stats.get("rating")
    return {**{c: getattr(service, c) for c in (
        "id", "slug", "name", "task", "summary", "description", "license", "tags", "currency",
        "status", "deprecated_at", "sunset_at", "provider_user_id")},
        "versions": versions, "rating_avg": round(rating[0], 3) if rating else None,
        "rating_count": rating[1] if rating else 0, "calls_30d": stats.get("calls_30d", 0),
        "healthy": stats.get("healthy")}


def _versions_of(session: Session, service_ids: list[int]) -> dict[int, list[AiServiceVersion]]:
    out: dict[int, list[AiServiceVersion]] = {sid: [] for sid in service_ids}
    for v in session.scalars(select(AiServiceVersion).where(
            AiServiceVersion.service_id.in_(service_ids)).order_by(AiServiceVersion.id)):
        out[v.service_id].append(v)
    return out


def get_service(session: Session, ref: int | str, *, now: datetime | None = None) -> dict:
    query = select(AiService).where(
        AiService.id == ref if isinstance(ref, int) else AiService.slug == ref)
    service = session.scalar(query)
    if service is None:
        raise NotFound("service not found")
    return service_out(service, _versions_of(session, [service.id])[service.id],
                       _stats(session, [service.id], now or utcnow())[service.id])


def search(session: Session, *, q: str | None = None, semantic: bool = False,
           task: str | None = None, tag: str | None = None, provider_user_id: int | None = None,
           currency: str | None = None, include_deprecated: bool = False, limit: int = 20,
           offset: int = 0, now: datetime | None = None) -> dict:
    """Filters narrow the catalog; `q` either filters by words (text mode: every word in the
    name, slug, summary, description or tags) or ranks by the cosine similarity of its
    wordllama embedding with each listing's (semantic mode). The score adds usage (successful
    calls in 30 days, log-scaled against the busiest) and the Bayesian-average rating."""
    import numpy as np

    now = now or utcnow()
    query = select(AiService)
    if task:
        query = query.where(AiService.task == task)
    if tag:
        query = query.where(AiService.tags.any(tag.lower()))
    if provider_user_id:
        query = query.where(AiService.provider_user_id == provider_user_id)
    if currency:
        query = query.where(AiService.currency == currency)
    if not include_deprecated:
        query = query.where(or_(AiService.sunset_at.is_(None), AiService.sunset_at > now))
    words = (q or "").split()
    if words and not semantic:
        for word in words[:8]:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            query = query.where(or_(AiService.name.ilike(pattern), AiService.slug.ilike(pattern),
                                    AiService.summary.ilike(pattern),
                                    AiService.description.ilike(pattern),
                                    func.array_to_string(AiService.tags, " ").ilike(pattern)))
    services = list(session.scalars(query.limit(5000)))
    ids = [s.id for s in services]
    stats = _stats(session, ids, now)
    if semantic and words:
        query_vec = wordmodel.embed([q])[0]
        relevance = {s.id: (max(0.0, float(np.dot(query_vec, np.asarray(s.embedding,
                                                                          dtype=np.float32))))
                            if s.embedding else 0.0) for s in services}
    else:
        relevance = {s.id: 1.0 for s in services}
    busiest = max((st["calls_30d"] for st in stats.values()), default=0)
    hits = []
    for s in services:
        st = stats[s.id]
        usage = math.log1p(st["calls_30d"]) / math.log1p(busiest) if busiest else 0.0
        avg, n = st["rating"] or (0.0, 0)
        bayes = (RATING_PRIOR * RATING_PRIOR_WEIGHT + avg * n) / (RATING_PRIOR_WEIGHT + n)
        rating = (bayes - 1) / 4
        score = W_RELEVANCE * relevance[s.id] + W_USAGE * usage + W_RATING * rating
        hits.append((score, s, relevance[s.id], usage, rating))
    hits.sort(key=lambda h: (-h[0], h[1].id))
    page = hits[offset:offset + limit]
    versions = _versions_of(session, [h[1].id for h in page])
    return {"mode": "semantic" if semantic and words else "text", "total": len(hits),
            "items": [{"service": service_out(s, versions[s.id], stats[s.id]),
                       "score": round(score, 6), "relevance": round(rel, 6),
                       "usage_score": round(usage, 6), "rating_score": round(rating, 6)}
                      for score, s, rel, usage, rating in page]}


# ---- ratings ---------------------------------------------------------------------------------

def rate(session: Session, user_id: int, service_id: int, stars: int, comment: str) -> AiRating:
    """Only a buyer with a successful call to the service may rate it (one rating each,
    replaced when rated again)."""
    if session.get(AiService, service_id) is None:
        raise NotFound("service not found")
    used = session.scalar(select(AiCall.id).where(
        AiCall.service_id == service_id, AiCall.buyer_user_id == user_id,
        AiCall.status == "succeeded").limit(1))
    if used is None:
        raise Forbidden("rate a service after a successful call to it", code="not_a_customer")
    from sqlalchemy.dialects.postgresql import insert

    session.execute(insert(AiRating).values(service_id=service_id, user_id=user_id, stars=stars,
                                            comment=comment)
                    .on_conflict_do_update(constraint="uq_ai_ratings_service_id_user_id",
                                           set_={"stars": stars, "comment": comment}))
    session.commit()
    return session.scalar(select(AiRating).where(AiRating.service_id == service_id,
                                                 AiRating.user_id == user_id))


# ---- API keys --------------------------------------------------------------------------------

def create_key(session: Session, user_id: int, data: dict[str, Any], *,
               now: datetime | None = None) -> tuple[AiApiKey, str]:
    """The key row and the secret key (returned this once)."""
    now = now or utcnow()
    if not data["all_services"] and not data["service_ids"]:
        raise Unprocessable("name the services this key may call (service_ids) or set "
                            "all_services", code="scope_required")
    if data["all_services"] and data["service_ids"]:
        raise Unprocessable("all_services and service_ids exclude each other",
                            code="scope_conflict")
    ids = sorted(set(data["service_ids"]))
    known = set(session.scalars(select(AiService.id).where(AiService.id.in_(ids))))
    if missing := [i for i in ids if i not in known]:
        raise Unprocessable("unknown service ids", code="unknown_service",
                            details={"service_ids": missing})
    if (data["budget_minor"] is None) != (data["budget_period"] is None):
        raise Unprocessable("budget_minor and budget_period go together", code="budget_pair")
    if data["expires_at"] is not None and data["expires_at"] <= now:
        raise Unprocessable("expires_at is in the past", code="expired")
    full, prefix, digest = api_keys.new_key()
    row = AiApiKey(user_id=user_id, prefix=prefix, secret_hash=digest,
                   **{**data, "service_ids": ids})
    session.add(row)
    session.commit()
    return row, full


def list_keys(session: Session, user_id: int) -> list[AiApiKey]:
    return list(session.scalars(select(AiApiKey).where(AiApiKey.user_id == user_id)
                                .order_by(AiApiKey.id)))


def revoke_key(session: Session, user_id: int, key_id: int, *,
               now: datetime | None = None) -> AiApiKey:
    row = session.scalar(select(AiApiKey).where(AiApiKey.id == key_id,
                                                AiApiKey.user_id == user_id).with_for_update())
    if row is None:
        raise NotFound("API key not found")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
    session.commit()
    return row


# ---- usage -----------------------------------------------------------------------------------

def usage(session: Session, *, buyer_user_id: int | None = None,
          provider_user_id: int | None = None, since: datetime | None = None,
          until: datetime | None = None, by_key: bool = False) -> list[dict]:
    """Calls, tokens, money and latency per UTC day and service (and key), for one buyer, one
    provider's services, or everyone (both None)."""
    day = func.to_char(func.timezone("UTC", AiCall.created_at), "YYYY-MM-DD")
    cols = [day.label("day"), AiCall.service_id, AiService.slug, AiCall.currency]
    if by_key:
        cols.append(AiCall.key_id)
    query = (select(*cols, func.count(), func.count().filter(AiCall.status == "succeeded"),
                    func.count().filter(AiCall.status == "failed"),
                    func.coalesce(func.sum(AiCall.tokens).filter(AiCall.status == "succeeded"), 0),
                    func.coalesce(func.sum(AiCall.charge_minor), 0),
                    func.coalesce(func.sum(AiCall.provider_minor), 0),
                    func.coalesce(func.sum(AiCall.fee_minor), 0),
                    func.avg(AiCall.latency_ms).filter(AiCall.status == "succeeded"))
             .join(AiService, AiService.id == AiCall.service_id)
             .where(AiCall.status != "reserved"))
    if buyer_user_id is not None:
        query = query.where(AiCall.buyer_user_id == buyer_user_id)
    if provider_user_id is not None:
        query = query.where(AiService.provider_user_id == provider_user_id)
    if since is not None:
        query = query.where(AiCall.created_at >= since)
    if until is not None:
        query = query.where(AiCall.created_at < until)
    query = query.group_by(*cols).order_by(text("1"), AiCall.service_id)
    rows = []
    for r in session.execute(query):
        base = dict(zip(("day", "service_id", "service", "currency"), r[:4]))
        rest = r[4:]
        if by_key:
            base["key_id"], rest = rest[0], rest[1:]
        calls, ok, failed, tokens, charge, provider, fee, latency = rest
        rows.append({**base, "calls": calls, "succeeded": ok, "failed": failed,
                     "tokens": int(tokens), "charge_minor": int(charge),
                     "provider_minor": int(provider), "fee_minor": int(fee),
                     "avg_latency_ms": round(float(latency), 3) if latency is not None else None})
    return rows

