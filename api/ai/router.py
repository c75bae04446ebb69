"""/api/v1/ai: the AI marketplace. Providers publish endpoints, services and versions; buyers
discover services (text and semantic search), create API keys and invoke services with them;
usage and revenue reports; provider health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from api.ai import gateway, health, service
from api.ai.keys import ApiKeyAuth, PresentedKey
from api.ai.models import TASKS
from api.ai.permissions import BUY, OPERATE, PUBLISH
from api.ai.schemas import (DeprecateIn, EndpointIn, EndpointOut, InvokeIn, InvokeOut, KeyCreated,
                            KeyIn, KeyOut, RatingIn, RatingOut, SearchPage, ServiceIn, ServiceOut,
                            UsageRow, VersionIn, VersionOut)
from api.auth.dependencies import CurrentUser, Principal, require
from api.deps import SessionDep

router = APIRouter(prefix="/ai", tags=["ai"])

MAX_ID = 2**63 - 1
Id = Annotated[int, Path(gt=0, le=MAX_ID)]
SlugPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Buyer = Annotated[Principal, Depends(require(BUY))]
Provider = Annotated[Principal, Depends(require(PUBLISH))]
Operator = Annotated[Principal, Depends(require(OPERATE))]
Key = Annotated[PresentedKey, Depends(ApiKeyAuth())]


def _clock(request: Request) -> datetime:
    """The time budgets, rate windows and expiries are judged at: the app's clock when one is
    set (app.state.clock, a callable; tests fix it), else the real one."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else gateway.utcnow()


Now = Annotated[datetime, Depends(_clock)]


# ---- invoke ----------------------------------------------------------------------------------

@router.post("/services/{slug}/invoke", response_model=InvokeOut,
             summary="Call a service with an API key (Authorization: Bearer ehbai_...)",
             responses={401: {"description": "no, unknown, revoked or expired key"},
                        402: {"description": "the wallet does not cover the call"},
                        403: {"description": "the key is not scoped to the service"},
                        422: {"description": "input outside the service's input schema"},
                        429: {"description": "rate or budget exhausted (Retry-After)"},
                        502: {"description": "the provider failed or answered garbage"},
                        503: {"description": "no provider in rotation"},
                        504: {"description": "the provider timed out"}})
def invoke(slug: SlugPath, body: InvokeIn, key: Key, now: Now,
           idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                         max_length=255)] = None):
    return gateway.invoke(key, slug, body.input, version=body.version, fallbacks=body.fallbacks,
                          request_key=idempotency_key, now=now)


# ---- catalog ---------------------------------------------------------------------------------

@router.get("/services", response_model=SearchPage, summary="Search the catalog")
def search(principal: CurrentUser, session: SessionDep,
           q: Annotated[str | None, Query(max_length=200)] = None,
           semantic: bool = False,
           task: Annotated[str | None, Query(pattern="^(" + "|".join(TASKS) + ")$")] = None,
           tag: Annotated[str | None, Query(max_length=32)] = None,
           provider_user_id: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
           currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
           include_deprecated: bool = False,
           limit: Annotated[int, Query(ge=1, le=100)] = 20,
           offset: Annotated[int, Query(ge=0, le=100_000)] = 0):
    return service.search(session, q=q, semantic=semantic, task=task, tag=tag,
                          provider_user_id=provider_user_id, currency=currency,
                          include_deprecated=include_deprecated, limit=limit, offset=offset)


@router.get("/services/{slug}", response_model=ServiceOut,
            summary="One service: model card, versions, schemas, prices, rating, health")
def one_service(slug: SlugPath, principal: CurrentUser, session: SessionDep):
    return service.get_service(session, slug)


@router.post("/services", response_model=ServiceOut, status_code=201,
             summary="Publish a service (provider)")
def publish_service(body: ServiceIn, principal: Provider, session: SessionDep):
    row = service.publish_service(session, principal.user_id, body.model_dump())
    return service.get_service(session, row.id)


@router.post("/services/{service_id}/versions", response_model=VersionOut, status_code=201,
             summary="Publish an immutable version of one of my services")
def publish_version(service_id: Id, body: VersionIn, principal: Provider, session: SessionDep):
    return service.publish_version(session, principal.user_id, service_id, body.model_dump(),
                                   staff="admin" in principal.roles)


@router.post("/services/{service_id}/deprecate", response_model=ServiceOut,
             summary="Deprecate my service: calls are refused from sunset_at on")
def deprecate(service_id: Id, body: DeprecateIn, principal: Provider, session: SessionDep):
    service.deprecate_service(session, principal.user_id, service_id, body.sunset_at,
                              now=service.utcnow(), staff="admin" in principal.roles)
    return service.get_service(session, service_id)


@router.post("/services/{service_id}/versions/{version}/deprecate", response_model=VersionOut,
             summary="Set the sunset date of one version of my service")
def deprecate_version(service_id: Id, body: DeprecateIn, principal: Provider,
                      session: SessionDep,
                      version: Annotated[str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$")]):
    return service.deprecate_version(session, principal.user_id, service_id, version,
                                     body.sunset_at, staff="admin" in principal.roles)


@router.put("/services/{service_id}/rating", response_model=RatingOut,
            summary="Rate a service I have called")
def rate(service_id: Id, body: RatingIn, principal: Buyer, session: SessionDep):
    return service.rate(session, principal.user_id, service_id, body.stars, body.comment)


# ---- endpoints and health --------------------------------------------------------------------

@router.post("/endpoints", response_model=EndpointOut, status_code=201,
             summary="Register an endpoint my versions are served from")
def register_endpoint(body: EndpointIn, principal: Provider, session: SessionDep):
    return service.register_endpoint(session, principal.user_id, name=body.name,
                                     base_url=str(body.base_url), health_path=body.health_path,
                                     allow_private="admin" in principal.roles)


@router.get("/endpoints", response_model=list[EndpointOut], summary="My endpoints and health")
def my_endpoints(principal: Provider, session: SessionDep):
    return service.list_endpoints(session, principal.user_id)


@router.get("/endpoints/all", response_model=list[EndpointOut],
            summary="Every provider endpoint and its health (staff)")
def all_endpoints(principal: Operator, session: SessionDep):
    return service.list_endpoints(session, None)


@router.post("/endpoints/check", summary="Run the health checks now (staff: all endpoints)")
def check(principal: Operator, session: SessionDep):
    return health.check_endpoints(session, now=service.utcnow())


# ---- keys and usage --------------------------------------------------------------------------

@router.post("/keys", response_model=KeyCreated, status_code=201,
             summary="Create an API key (the secret is shown once)")
def create_key(body: KeyIn, principal: Buyer, session: SessionDep, now: Now):
    row, full = service.create_key(session, principal.user_id, body.model_dump(), now=now)
    return {**KeyOut.model_validate(row).model_dump(), "key": full}


@router.get("/keys", response_model=list[KeyOut], summary="My API keys with their spend")
def my_keys(principal: Buyer, session: SessionDep):
    return service.list_keys(session, principal.user_id)


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, summary="Revoke one of my keys")
def revoke_key(key_id: Id, principal: Buyer, session: SessionDep, now: Now):
    return service.revoke_key(session, principal.user_id, key_id, now=now)


Since = Annotated[datetime | None, Query()]


@router.get("/usage", response_model=list[UsageRow],
            summary="My calls, tokens, spend and latency per day, service and key")
def my_usage(principal: Buyer, session: SessionDep, since: Since = None, until: Since = None):
    return service.usage(session, buyer_user_id=principal.user_id, since=since, until=until,
                         by_key=True)


@router.get("/provider/usage", response_model=list[UsageRow],
            summary="Usage of and revenue from my services per day and service")
def provider_usage(principal: Provider, session: SessionDep, since: Since = None,
                   until: Since = None):
    return service.usage(session, provider_user_id=principal.user_id, since=since, until=until)


@router.get("/usage/all", response_model=list[UsageRow],
            summary="Every call's usage and money per day and service (staff)")
def all_usage(principal: Operator, session: SessionDep, since: Since = None, until: Since = None):
    return service.usage(session, since=since, until=until)
