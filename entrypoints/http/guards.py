"""Checks that run after routing and before a handler's body is read, in the order the contract
wants them. They run from one ASGI layer per route (``checked``): Litestar's own guards copy
the route handler on every call, which cost several percent of a request."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.rate_limits import ApiRequestLimiter, AuthRequestLimiter
from application.ports import AccessClaims, IdentityProvider
from domain.errors import (
    AuthenticationRequired,
    InvalidToken,
    NotFound,
    NotYourAccount,
    TokenExpired,
    TooManyAttempts,
)
from entrypoints.http.body import check_media_type
from entrypoints.http.client_ip import client_key
from entrypoints.http.problems import malformed_body
from entrypoints.setting_groups import HttpSettings

Connection = Request[Any, Any, Any]
Check = Callable[[Connection], Awaitable[None]]


def checked(*checks: Check) -> Callable[[ASGIApp], ASGIApp]:
    """Route middleware running ``checks`` in order; a check refuses by raising."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def run_checks(scope: Scope, receive: Receive, send: Send) -> None:
            if scope.get("method") != "OPTIONS":  # OPTIONS describes a resource, token or not
                connection: Connection = Request(scope, receive, send)
                for check in checks:
                    await check(connection)
            await app(scope, receive, send)

        return run_checks

    return middleware


async def _resolve(connection: Connection, dependency: type[Any]) -> Any:
    return await connection.state.dishka_container.get(dependency)


async def admit(identity: IdentityProvider, limiter: ApiRequestLimiter) -> AccessClaims:
    """The caller, or 401 (the token only: the session's liveness is part of the statement the
    use case runs); then the caller's ``API_RATE_LIMIT``, which needs the user id the token
    names."""
    caller = await identity.current()
    if (retry_after := await limiter.hit(f"user:{caller.user_id}")) is not None:
        raise TooManyAttempts(retry_after)
    return caller


async def authenticated(connection: Connection) -> None:
    """``admit``, before anything about the request body is looked at."""
    identity: IdentityProvider = await _resolve(connection, IdentityProvider)
    await admit(identity, await _resolve(connection, ApiRequestLimiter))


async def authenticated_or_refresh_token(connection: Connection) -> None:
    """Logout: as ``authenticated``, except that without a usable access token (none, or an
    expired one) the body's refresh token may still end its session — limited per client
    address then, like ``/refresh``. A forged or malformed access token is refused here."""
    try:
        await authenticated(connection)
    except (AuthenticationRequired, TokenExpired):
        await client_rate_limit(connection)


async def own_account(connection: Connection) -> None:
    """``/api/{user_id}/tasks``: the caller's own id, else 403 (404 for a malformed id). An
    external caller's ``sub`` is its id too; such ids have no fixed form, so while external
    tokens are accepted a malformed id is only known after the token: 404 for the service's
    own callers, 403 for external ones."""
    raw = connection.path_params.get("user_id", "")
    try:
        user_id: UUID | None = UUID(raw)
    except ValueError:
        http: HttpSettings = await _resolve(connection, HttpSettings)
        if not http.external_tokens:
            raise NotFound() from None
        user_id = None
    identity: IdentityProvider = await _resolve(connection, IdentityProvider)
    caller = await identity.current()
    if caller.external is not None and raw == caller.external.subject:
        return
    if user_id is None:
        raise NotFound() if caller.external is None else NotYourAccount()
    if caller.user_id != user_id:
        raise NotYourAccount()


async def json_body_required(connection: Connection) -> None:
    """A missing body is 415 without a JSON media type, else 400; a present one is checked
    when it is decoded (``JsonBody``)."""
    if not await connection.body():
        check_media_type(connection)
        raise malformed_body("A JSON body is required.")


async def _client_key(connection: Connection) -> str:
    http: HttpSettings = await _resolve(connection, HttpSettings)
    peer = connection.client.host if connection.client else None
    # Every X-Forwarded-For line: ``connection.headers.get`` would read the first one only.
    return client_key(peer, connection.scope["headers"], http.trusted_proxies)


async def auth_rate_limit(connection: Connection) -> None:
    """``AUTH_RATE_LIMIT`` per client address (IPv6: per /64) on register and login."""
    limiter: AuthRequestLimiter = await _resolve(connection, AuthRequestLimiter)
    if (retry_after := await limiter.hit(await _client_key(connection))) is not None:
        raise TooManyAttempts(retry_after)


async def client_rate_limit(connection: Connection) -> None:
    """``API_RATE_LIMIT`` per client address on the routes without a user (refresh)."""
    limiter: ApiRequestLimiter = await _resolve(connection, ApiRequestLimiter)
    if (retry_after := await limiter.hit(f"ip:{await _client_key(connection)}")) is not None:
        raise TooManyAttempts(retry_after)


async def metrics_token(connection: Connection) -> None:
    """With ``METRICS_TOKEN`` set, ``/metrics`` wants ``Authorization: Bearer <it>``."""
    http: HttpSettings = await _resolve(connection, HttpSettings)
    if not http.metrics_token:
        return
    authorization = connection.headers.get("authorization")
    scheme, _, token = (authorization or "").strip().partition(" ")
    # Headers arrive as Latin-1 text: back to their bytes, compared in constant time.
    presented = token.strip().encode("latin-1")
    expected = http.metrics_token.encode("utf-8", "surrogatepass")
    if not (scheme.lower() == "bearer" and hmac.compare_digest(presented, expected)):
        raise AuthenticationRequired() if authorization is None else InvalidToken()
