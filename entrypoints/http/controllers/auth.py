"""Accounts and sessions: ``/api/v1/auth``."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from application.auth import (
    GetCurrentUser,
    LogIn,
    LogOut,
    LogOutEverywhere,
    RefreshSession,
    RegisterUser,
)
from application.dto import Credentials, Registration
from entrypoints.http.body import JsonBody
from entrypoints.http.guards import (
    auth_rate_limit,
    authenticated,
    checked,
    client_rate_limit,
    json_body_required,
)
from entrypoints.http.problems import documented
from entrypoints.http.schemas import (
    LoginBody,
    LogoutBody,
    RefreshBody,
    RegisterBody,
    TokenPairRead,
    UserRead,
)

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        dto=JsonBody[RegisterBody],
        return_dto=None,
        middleware=[checked(auth_rate_limit, json_body_required)],
        summary="Create an account and log in",
        responses=documented(400, 409, 415, 422, 429),
    )
    @inject
    async def register(
        self, data: JSONBody[RegisterBody], register: FromDishka[RegisterUser]
    ) -> TokenPairRead:
        pair = await register(
            Registration(email=data.email, password=data.password, name=data.name)
        )
        return TokenPairRead.of(pair)

    @post(
        "/login",
        status_code=200,
        dto=JsonBody[LoginBody],
        return_dto=None,
        middleware=[checked(auth_rate_limit, json_body_required)],
        summary="Log in with email and password",
        responses=documented(400, 401, 415, 422, 429),
    )
    @inject
    async def login(self, data: JSONBody[LoginBody], log_in: FromDishka[LogIn]) -> TokenPairRead:
        return TokenPairRead.of(await log_in(Credentials(email=data.email, password=data.password)))

    @post(
        "/refresh",
        status_code=200,
        dto=JsonBody[RefreshBody],
        return_dto=None,
        middleware=[checked(client_rate_limit, json_body_required)],
        summary="Trade a refresh token for a new token pair",
        responses=documented(400, 401, 415, 422),
    )
    @inject
    async def refresh(
        self, data: JSONBody[RefreshBody], refresh: FromDishka[RefreshSession]
    ) -> TokenPairRead:
        return TokenPairRead.of(await refresh(data.refresh_token))

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        dto=JsonBody[LogoutBody],
        return_dto=None,
        middleware=[checked(authenticated)],
        security=BEARER,
        summary="End this session",
        responses=documented(401, 415, 422),
    )
    @inject
    async def logout(
        self, log_out: FromDishka[LogOut], data: JSONBody[LogoutBody | None] = None
    ) -> None:
        # A refresh token in the body is accepted for compatibility; the caller's own session
        # (from the access token) is what ends, so another session's token cannot be revoked here.
        await log_out()

    @post(
        "/logout-all",
        status_code=HTTP_204_NO_CONTENT,
        middleware=[checked(authenticated)],
        security=BEARER,
        summary="End every session of this user",
        responses=documented(401),
    )
    @inject
    async def logout_all(self, log_out_everywhere: FromDishka[LogOutEverywhere]) -> None:
        await log_out_everywhere()

    @get(
        "/me",
        middleware=[checked(authenticated)],
        security=BEARER,
        summary="The current user",
        responses=documented(401),
    )
    @inject
    async def me(self, current_user: FromDishka[GetCurrentUser]) -> UserRead:
        return UserRead.of(await current_user())
