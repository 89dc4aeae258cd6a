"""The JSON shapes of the account routes: profile, password, deletion, password reset."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.dto import ProfileUpdate
from domain.tasks import KEEP
from entrypoints.http.schemas import Email, Name, Password

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
