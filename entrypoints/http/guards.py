"""Checks that run before a handler's body is read, in the order the contract wants them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from application.ports import IdentityProvider
from domain.errors import NotFound, NotYourAccount, TooManyAttempts
from entrypoints.http.body import check_media_type
from entrypoints.http.client_ip import client_ip
from entrypoints.http.problems import malformed_body
from entrypoints.ioc import AuthRequestLimiter
from entrypoints.settings import Settings

Connection = ASGIConnection[Any, Any, Any, Any]


async def _resolve(connection: Connection, dependency: type[Any]) -> Any:
    return await connection.state.dishka_container.get(dependency)


def _is_options(connection: Connection) -> bool:
    """OPTIONS describes a resource and needs no token."""
    return connection.scope.get("method") == "OPTIONS"


async def authenticated(connection: Connection, _: BaseRouteHandler) -> None:
    """401 before anything about the request body is looked at."""
    if _is_options(connection):
        return
    identity: IdentityProvider = await _resolve(connection, IdentityProvider)
    await identity.current()


async def own_account(connection: Connection, _: BaseRouteHandler) -> None:
    """``/api/{user_id}/tasks``: the caller's own id, else 403 (404 for a malformed id)."""
    if _is_options(connection):
        return
    try:
        user_id = UUID(connection.path_params["user_id"])
    except (KeyError, ValueError):
        raise NotFound() from None
    identity: IdentityProvider = await _resolve(connection, IdentityProvider)
    if (await identity.current()).user_id != user_id:
        raise NotYourAccount()


async def json_body_required(connection: Connection, _: BaseRouteHandler) -> None:
    """A missing body is 415 without a JSON media type, else 400; a present one is checked
    when it is decoded (``JsonBody``)."""
    if not await connection.body():  # type: ignore[attr-defined]
        check_media_type(connection)
        raise malformed_body("A JSON body is required.")


async def auth_rate_limit(connection: Connection, _: BaseRouteHandler) -> None:
    settings: Settings = await _resolve(connection, Settings)
    limiter: AuthRequestLimiter = await _resolve(connection, AuthRequestLimiter)
    peer = connection.client.host if connection.client else None
    ip = client_ip(peer, connection.headers.get("x-forwarded-for"), settings.trusted_proxy_networks)
    if (retry_after := await limiter.hit(ip)) is not None:
        raise TooManyAttempts(retry_after)
