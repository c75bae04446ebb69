"""The gateway: one FastAPI app, every service domain under /api/v1/<service>."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.core.asyncdb import pool_lifespan
from api.core.errors import install_error_handlers
from api.core.logging import configure_logging
from api.core.middleware import GatewayMiddleware
from api.core.openapi import install_links
from api.core.ratelimit import RateLimiter
from api.core.routes import RoutePaths, skip_routers_by_prefix
from api.production import api_settings, refuse_development_defaults
from api.registry import domains
from api.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    refuse_development_defaults(api_settings())  # EHB_ENV=production: no development secret
    settings = settings or get_settings()
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One asyncio connection pool per serving loop for the one-statement hot routes.
        if not settings.database_url:
            yield
            return
        async with pool_lifespan(app, settings.sqlalchemy_url, settings.db_pool_size):
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="EHB-5 platform API",
        version="0.1.0",
        description="Gateway to the EHB-5 services. Errors always have the shape "
        '`{"error": {"code", "message", "details", "request_id"}}`.',
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.async_pools = {}
    app.state.rate_limiter = RateLimiter(
        settings.redis_url, settings.rate_limit_per_client, settings.rate_limit_per_user
    )
    install_error_handlers(app)
    app.add_middleware(GatewayMiddleware, limiter=app.state.rate_limiter,
                       route_paths=RoutePaths(app), max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
            allow_methods=["*"], allow_headers=["*"], expose_headers=["X-Request-ID", "Retry-After"],
        )
    for domain in domains():
        app.include_router(domain.router, prefix="" if domain.root_mounted else API_PREFIX)
    skip_routers_by_prefix(app)
    install_links(app)
    return app


def app_factory() -> FastAPI:
    """uvicorn --factory entry point (each worker builds its own app)."""
    return create_app()
