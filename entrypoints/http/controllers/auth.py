"""Accounts and sessions: ``/api/v1/auth``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from application.account import ChangePassword, DeleteAccount, UpdateProfile
from application.auth import (
    GetCurrentUser,
    LogIn,
    LogOut,
    LogOutEverywhere,
    RefreshSession,
    RegisterUser,
)
from application.dto import Credentials, Registration
from domain.errors import FieldError
from entrypoints.http.account_schemas import (
    AccountDeletionBody,
    PasswordChangeBody,
    PasswordChangeJson,
    ProfileBody,
    ProfileJson,
)
from entrypoints.http.body import JsonBody
from entrypoints.http.guards import (
    auth_rate_limit,
    authenticated,
    authenticated_or_refresh_token,
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
    registration_rule_errors,
)

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


class RegistrationBody(JsonBody[RegisterBody]):
    @staticmethod
    def rules(fields: Mapping[str, Any]) -> list[FieldError]:
        return registration_rule_errors(fields)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        dto=RegistrationBody,
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
        middleware=[checked(authenticated_or_refresh_token)],
        security=BEARER,
        summary="End this session",
        description=(
            "Ends the access token's session; a `refresh_token` of another session is ignored."
            " With no usable access token (none, or an expired one) the body's `refresh_token`"
            " alone ends its session."
        ),
        responses=documented(400, 401, 415, 422, 429),
    )
    @inject
    async def logout(
        self, log_out: FromDishka[LogOut], data: JSONBody[LogoutBody | None] = None
    ) -> None:
        await log_out(data.refresh_token if data is not None else None)

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

    @get(
        "/profile",
        middleware=[checked(authenticated)],
        security=BEARER,
        summary="The current user (alias of GET /auth/me)",
        responses=documented(401),
    )
    @inject
    async def profile(self, current_user: FromDishka[GetCurrentUser]) -> UserRead:
        return UserRead.of(await current_user())

    @patch(
        "/me",
        dto=ProfileJson,
        return_dto=None,
        middleware=[checked(authenticated, json_body_required)],
        security=BEARER,
        summary="Change the name or the email (the email needs the current password)",
        responses=documented(400, 401, 409, 415, 422),
    )
    @inject
    async def update_me(
        self, data: JSONBody[ProfileBody], update_profile: FromDishka[UpdateProfile]
    ) -> UserRead:
        return UserRead.of(await update_profile(data.update()))

    @put(
        "/profile",
        dto=ProfileJson,
        return_dto=None,
        middleware=[checked(authenticated, json_body_required)],
        security=BEARER,
        summary="Change the name or the email (alias of PATCH /auth/me)",
        responses=documented(400, 401, 409, 415, 422),
    )
    @inject
    async def update_profile(
        self, data: JSONBody[ProfileBody], update_profile: FromDishka[UpdateProfile]
    ) -> UserRead:
        return UserRead.of(await update_profile(data.update()))

    @post(
        "/password",
        status_code=HTTP_204_NO_CONTENT,
        dto=PasswordChangeJson,
        return_dto=None,
        middleware=[checked(authenticated, json_body_required)],
        security=BEARER,
        summary="Change the password; every other session ends",
        responses=documented(400, 401, 415, 422, 503),
    )
    @inject
    async def change_password(
        self, data: JSONBody[PasswordChangeBody], change_password: FromDishka[ChangePassword]
    ) -> None:
        await change_password(data.current_password, data.new_password)

    @delete(
        "/me",
        status_code=HTTP_204_NO_CONTENT,
        dto=JsonBody[AccountDeletionBody],
        return_dto=None,
        middleware=[checked(authenticated, json_body_required)],
        security=BEARER,
        summary="Delete the account with its tasks and sessions",
        responses=documented(400, 401, 415, 422, 503),
    )
    @inject
    async def delete_me(
        self, data: JSONBody[AccountDeletionBody], delete_account: FromDishka[DeleteAccount]
    ) -> None:
        await delete_account(data.password)
