"""Password reset by email: ``/api/v1/auth/password-reset``. Registered only where reset mail
can go out (always, but in production only with ``SMTP_URL``): elsewhere the paths do not
exist, for every method."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Controller, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from application.password_reset import ConfirmPasswordReset, RequestPasswordReset
from entrypoints.http.account_schemas import (
    PasswordResetBody,
    PasswordResetConfirmBody,
    PasswordResetConfirmJson,
    PasswordResetJson,
    ResetRequested,
)
from entrypoints.http.guards import auth_rate_limit, checked, client_rate_limit, json_body_required
from entrypoints.http.problems import documented

RESET_REQUESTED = ResetRequested(
    "If an account uses that email, a link to reset its password is on its way."
)


class PasswordResetController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/password-reset",
        status_code=HTTP_202_ACCEPTED,
        dto=PasswordResetJson,
        return_dto=None,
        middleware=[checked(auth_rate_limit, json_body_required)],
        summary="Email a password reset link (same answer for any email)",
        responses=documented(400, 415, 422, 429),
    )
    @inject
    async def request_password_reset(
        self, data: JSONBody[PasswordResetBody], request_reset: FromDishka[RequestPasswordReset]
    ) -> ResetRequested:
        await request_reset(data.email)
        return RESET_REQUESTED

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        dto=PasswordResetConfirmJson,
        return_dto=None,
        middleware=[checked(client_rate_limit, json_body_required)],
        summary="Set a new password with the token from a reset email; every session ends",
        responses=documented(400, 415, 422, 429, 503),
    )
    @inject
    async def confirm_password_reset(
        self,
        data: JSONBody[PasswordResetConfirmBody],
        confirm_reset: FromDishka[ConfirmPasswordReset],
    ) -> None:
        await confirm_reset(data.token, data.new_password)
