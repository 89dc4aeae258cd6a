"""ASGI middleware around the Litestar app: request ids, the /api alias, security headers, CORS,
``HEAD`` and ``OPTIONS``, the request-body deadline, access logs and metrics, in one pass. It sits
outside the framework so that every response, including preflights and errors raised by routing,
gets the same treatment."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any

import structlog

from entrypoints.http.body_deadline import BodyDeadline, send_request_timeout
from entrypoints.http.methods import PROBE_METHOD
from entrypoints.http.metrics import HttpMetrics

Scope = dict[str, Any]
ASGIApp = Any

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_API_PREFIX = "/api/"
_CANONICAL_PREFIX = "/api/v1"

access_log = logging.getLogger("todo.access")
log = logging.getLogger("todo.http")

DEFAULT_BODY_TIMEOUT = 10.0


BASE_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
STRICT_CSP = b"default-src 'none'; frame-ancestors 'none'"
# The interactive docs page: Swagger UI's files served by the app itself, no inline code; its
# stylesheet draws icons from data: URIs.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The web app at `/` and its assets: its own files only, no inline script or style, no framing.
APP_CSP = (
    b"default-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
    b"frame-ancestors 'none'"
)
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def canonical_path(path: str) -> str:
    """``/api/...`` is the unversioned alias of ``/api/v1/...``."""
    if path.startswith(_API_PREFIX) and not (
        path == _CANONICAL_PREFIX or path.startswith(_CANONICAL_PREFIX + "/")
    ):
        return _CANONICAL_PREFIX + path[len("/api") :]
    return path


def first_header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case, as ASGI gives names), as text."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _routed_method(scope: Scope) -> str:
    """The method the app sees: ``GET`` for ``HEAD`` (one handler serves both; the body is
    dropped on the way out), and for ``OPTIONS`` a method no route has, so routing answers 405
    with exactly the resource's methods (turned into the 204 here), or 404 for no resource. A
    CORS preflight stays ``OPTIONS``: this middleware answers it."""
    method: str = scope["method"]
    if method == "HEAD":
        return "GET"
    if method == "OPTIONS" and not (
        first_header(scope, b"origin") and first_header(scope, b"access-control-request-method")
    ):
        return PROBE_METHOD
    return method


def _fixed_headers(path: str, hsts: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response to ``path`` gets, whatever the request."""
    if path.startswith("/docs"):
        csp = DOCS_CSP
    elif path == "/" or path.startswith("/static/"):
        csp = APP_CSP
    else:
        csp = STRICT_CSP
    headers = [*BASE_SECURITY_HEADERS, (b"content-security-policy", csp), (b"vary", b"Origin")]
    if path == "/api" or path.startswith(_API_PREFIX):
        headers.append((b"cache-control", b"no-store"))
    if hsts:
        headers.append(HSTS)
    return tuple(headers)


def _declares_body(scope: Scope) -> bool:
    """Whether the request says a body follows its headers."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class EdgeMiddleware:
    """Outermost layer, one pass per request: request id, the ``/api`` alias, security headers,
    CORS (preflights answered here), the request-body deadline (408), the access log and
    metrics."""

    ALLOW_METHODS = b"GET, POST, PUT, PATCH, DELETE"
    ALLOW_HEADERS = b"Authorization, Content-Type, If-Match, X-Request-ID"
    EXPOSE_HEADERS = b"X-Request-ID, ETag, Location, Link, X-Total-Count, Retry-After"
    MAX_AGE = b"600"

    def __init__(
        self,
        app: ASGIApp,
        *,
        origins: Iterable[str],
        hsts: bool,
        metrics: HttpMetrics | None,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.hsts = hsts
        self.metrics = metrics
        self.body_timeout = body_timeout
        # The fixed headers of an API response, built once: nearly every request's.
        self._api_headers = _fixed_headers(_CANONICAL_PREFIX, hsts)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = first_header(scope, REQUEST_ID_HEADER.encode())
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        )
        original_path = scope["path"]
        path = canonical_path(original_path)
        state = {**scope.get("state", {}), "request_id": request_id, "original_path": original_path}
        method = scope["method"]
        routed = _routed_method(scope)
        scope = {**scope, "method": routed, "path": path, "raw_path": path.encode(), "state": state}
        origin = first_header(scope, b"origin")
        allowed_origin = origin if origin is not None and origin in self.origins else None
        extra_headers = self._headers(original_path, request_id, allowed_origin)
        status = 500
        started = time.perf_counter()
        body = BodyDeadline(receive, state, self.body_timeout)

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                body.responding = True
                names = {name.lower() for name, _ in extra_headers}
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in names]
                if routed == PROBE_METHOD and status == 405:  # the resource's methods: Allow
                    status = 204
                    headers = [(k, v) for k, v in headers if k.lower() == b"allow"]
                    headers.append((b"content-length", b"0"))
                if body.body_pending and _declares_body(scope):
                    # Answered before the body was read (a 401, a 413): what is left of it is
                    # still on the connection, which cannot carry another request.
                    headers = [(k, v) for k, v in headers if k.lower() != b"connection"]
                    headers.append((b"connection", b"close"))
                message = {**message, "status": status, "headers": [*headers, *extra_headers]}
            elif method == "HEAD" or (routed == PROBE_METHOD and status == 204):
                message = {**message, "body": b""}
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            if routed == "OPTIONS":
                await self._preflight(send_with_headers, allowed_origin)
            else:
                await self._call_app(scope, body, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            template = scope.get("path_template") or "unmatched"
            if self.metrics is not None:
                self.metrics.observe(method, template, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": original_path,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            structlog.contextvars.unbind_contextvars("request_id")

    def _headers(self, path: str, request_id: str, origin: str | None) -> list[tuple[bytes, bytes]]:
        fixed = (
            self._api_headers if path.startswith(_API_PREFIX) else _fixed_headers(path, self.hsts)
        )
        headers = [*fixed, (b"x-request-id", request_id.encode())]
        if origin:
            headers += [
                (b"access-control-allow-origin", origin.encode()),
                (b"access-control-expose-headers", self.EXPOSE_HEADERS),
            ]
        return headers

    async def _call_app(self, scope: Scope, body: BodyDeadline, send: Any) -> None:
        task = body.task = asyncio.current_task()
        try:
            await self.app(scope, body.receive, send)
        except asyncio.CancelledError:
            # Ours only if nobody else cancelled the request too (a server shutting down).
            if not body.expired or (task is not None and task.uncancel() > 0):
                raise
            state = scope["state"]
            log.info("request body not received in time", extra={"path": state["original_path"]})
            if not body.responding:
                await send_request_timeout(
                    send,
                    path=state["original_path"],
                    request_id=state["request_id"],
                    seconds=self.body_timeout,
                )
        else:
            if body.expired and task is not None:  # the app swallowed our cancellation
                task.uncancel()
        finally:
            body.task = None

    async def _preflight(self, send: Any, origin: str | None) -> None:
        """CORS preflights are answered here, before routing (they carry no token)."""
        headers = [(b"content-length", b"0")]
        if origin:
            headers += [
                (b"access-control-allow-methods", self.ALLOW_METHODS),
                (b"access-control-allow-headers", self.ALLOW_HEADERS),
                (b"access-control-max-age", self.MAX_AGE),
            ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
