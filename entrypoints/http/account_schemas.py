"""The JSON shapes of the account routes: profile, password, deletion, password reset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.dto import ProfileUpdate
from domain.errors import FieldError
from domain.tasks import KEEP
from domain.users import check_email, check_name, check_password, normalize_password
from entrypoints.http.body import JsonBody
from entrypoints.http.field_types import Email, Name, Password

NewPassword = Password


class ProfileBody(msgspec.Struct, forbid_unknown_fields=True):
    """Fields present are written, absent ones kept; a ``null`` name clears it. Changing the
    email needs ``current_password``."""

    name: Name | UnsetType | None = UNSET
    email: Email | UnsetType = UNSET
    current_password: (
        Annotated[str, Meta(description="Required to change the email")] | UnsetType | None
    ) = UNSET

    def update(self) -> ProfileUpdate:
        return ProfileUpdate(
            name=KEEP if self.name is UNSET else self.name,
            email=KEEP if self.email is UNSET else self.email,
            current_password=None if self.current_password is UNSET else self.current_password,
        )


class PasswordChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    current_password: str
    new_password: NewPassword


class AccountDeletionBody(msgspec.Struct, forbid_unknown_fields=True):
    password: str


class PasswordResetBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class PasswordResetConfirmBody(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(description="From the link in the reset email")]
    new_password: NewPassword


class ResetRequested(msgspec.Struct):
    """The same answer whether or not the email has an account."""

    message: str


# The account rules that well-typed fields break, named with the type errors of the others
# (a valid body meets them in the use case, with the rules that need the account).


def _email_errors(fields: Mapping[str, Any]) -> list[FieldError]:
    email = fields.get("email")
    error = check_email(email)[1] if isinstance(email, str) else None
    return [error] if error else []


def _new_password_errors(fields: Mapping[str, Any]) -> list[FieldError]:
    password = fields.get("new_password")
    if not isinstance(password, str):
        return []
    error = check_password(normalize_password(password), "", is_common=False)
    return [FieldError("new_password", error.message)] if error else []


class ProfileJson(JsonBody[ProfileBody]):
    @staticmethod
    def rules(fields: Mapping[str, Any]) -> list[FieldError]:
        name = fields.get("name")
        error = check_name(name)[1] if isinstance(name, str) else None
        return ([error] if error else []) + _email_errors(fields)


class PasswordChangeJson(JsonBody[PasswordChangeBody]):
    rules = staticmethod(_new_password_errors)


class PasswordResetJson(JsonBody[PasswordResetBody]):
    rules = staticmethod(_email_errors)


class PasswordResetConfirmJson(JsonBody[PasswordResetConfirmBody]):
    rules = staticmethod(_new_password_errors)
