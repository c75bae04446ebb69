"""Gateway middleware as one pure-ASGI layer: request id, body limit, client rate limit,
structured access log and metrics. Pure ASGI keeps per-request overhead low."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.context import request_id_var, user_id_var
from api.core.errors import AppError, error_response
from api.core.metrics import IN_FLIGHT, LATENCY, REQUESTS
from api.core.ratelimit import RateLimiter
from api.core.routes import RoutePaths

access_log = logging.getLogger("ehb.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Probes and scrapes are not throttled: a balancer must always see health.
_UNLIMITED_PATHS = ("/health", "/metrics")


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter, route_paths: RoutePaths,
                 max_body_bytes: int):
        self.app = app
        self.limiter = limiter
        self.route_paths = route_paths
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # ASGI servers hand header names lower-cased; only this one is needed here.
        incoming = next((v.decode("latin-1") for k, v in scope["headers"]
                         if k == b"x-request-id"), "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        rid_token = request_id_var.set(request_id)
        uid_token = user_id_var.set(None)
        # Sync dependencies run in worker threads, whose context-variable writes never reach
        # this task: they also note the user in the request's state, read back for the log.
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status_holder = {"status": 500}
        IN_FLIGHT.inc()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (b"x-request-id", request_id.encode())
                ]
            await send(message)

        try:
            await self._guarded(scope, receive, send_with_id)
        except Exception as exc:
            # Rendered here, inside the request's context, so the 500 body and the log line
            # carry the request id (Starlette's outer handler runs after it is cleared).
            access_log.error("unhandled error", exc_info=exc)
            if status_holder.get("started"):
                raise
            status_holder["status"] = 500
            response = error_response(500, "internal_error", "internal server error")
            await response(scope, receive, send_with_id)
        finally:
            IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route_path = self.route_paths.of(scope.get("route"))
            method = scope["method"]
            status = status_holder["status"]
            REQUESTS.labels(method, route_path, str(status)).inc()
            LATENCY.labels(method, route_path).observe(elapsed)
            if user_id_var.get() is None and state.get("user_id") is not None:
                user_id_var.set(state["user_id"])
            # Only the route template is logged: paths and query strings may carry tokens.
            access_log.info("request", extra={
                "method": method, "route": route_path, "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "client": (scope.get("client") or ("?",))[0],
            })
            user_id_var.reset(uid_token)
            request_id_var.reset(rid_token)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Declared sizes are refused before reading; chunked bodies are counted as they arrive.
        length = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        try:
            declared = int(length or 0)
        except ValueError:
            declared = 0
        if declared > self.max_body_bytes:
            await self._refuse(scope, receive, send, 413, "payload_too_large",
                               f"request body exceeds {self.max_body_bytes} bytes")
            return
        if not scope["path"].startswith(_UNLIMITED_PATHS):
            client = (scope.get("client") or ("unknown",))[0]
            try:
                await self.limiter.hit_client_async(client)
            except AppError as exc:
                await self._refuse(scope, receive, send, exc.status_code, exc.code, exc.message,
                                   exc.details, exc.headers)
                return
        limit = self.max_body_bytes
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException passes through FastAPI's body reading to our handler.
                    raise HTTPException(413, f"request body exceeds {limit} bytes")
            return message

        await self.app(scope, counting_receive, send)

    @staticmethod
    async def _refuse(scope, receive, send, status, code, message, details=None, headers=None):
        response = error_response(status, code, message, details, headers)
        await response(scope, receive, send)
