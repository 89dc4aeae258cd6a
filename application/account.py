"""The caller's own account: profile, email, password, deletion.

Each use case reads the account, checks what it can without the database (input rules, then
the password on the hashing pool: no connection is held meanwhile), then writes in one
statement that also requires the caller's session to be live.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.auth_ports import PasswordBlocklist, PasswordHasher
from application.dto import ProfileUpdate
from application.ports import AccessClaims, IdentityProvider, ProfileChanges, UserRepository
from domain.errors import FieldError, InvalidCredentials, SessionEnded, ValidationFailed
from domain.tasks import KEEP
from domain.users import User, check_email, check_name, check_password, normalize_password


async def _caller_and_account(
    identity: IdentityProvider, users: UserRepository
) -> tuple[AccessClaims, User]:
    caller = await identity.current()
    user = await users.current(caller)
    if user is None:
        raise SessionEnded()
    return caller, user


async def _check_password(hasher: PasswordHasher, user: User, password: str) -> None:
    """A wrong password is the 401 of a failed login; the session stays as it was."""
    if not await hasher.verify(user.password_hash, normalize_password(password)):
        raise InvalidCredentials()


def new_password_error(
    password: str, email: str, blocklist: PasswordBlocklist, field: str
) -> FieldError | None:
    """The registration rules for a password sent as ``field``."""
    error = check_password(password, email, is_common=password in blocklist)
    return FieldError(field, error.message) if error else None


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    identity: IdentityProvider
    users: UserRepository
    hasher: PasswordHasher

    async def __call__(self, command: ProfileUpdate) -> User:
        caller, user = await _caller_and_account(self.identity, self.users)
        errors: list[FieldError] = []
        name = command.name
        if isinstance(name, str):
            name, error = check_name(name)
            errors += [error] if error else []
        email = command.email
        if isinstance(email, str):
            email, error = check_email(email)
            errors += [error] if error else []
            if email == user.email:
                email = KEEP  # sent back as it is: no change, so no password needed
            elif command.current_password is None and not error:
                errors.append(FieldError("current_password", "is required to change the email"))
        if errors:
            raise ValidationFailed(errors)
        if email is not KEEP and command.current_password is not None:
            await _check_password(self.hasher, user, command.current_password)
        if name is KEEP and email is KEEP:
            return user
        updated = await self.users.update_profile(caller, ProfileChanges(name=name, email=email))
        if updated is None:
            raise SessionEnded()
        return updated


@dataclass(frozen=True, slots=True)
class ChangePassword:
    """Every other session of the user ends; the caller's stays."""

    identity: IdentityProvider
    users: UserRepository
    hasher: PasswordHasher
    blocklist: PasswordBlocklist

    async def __call__(self, current_password: str, new_password: str) -> None:
        caller, user = await _caller_and_account(self.identity, self.users)
        password = normalize_password(new_password)
        if error := new_password_error(password, user.email, self.blocklist, "new_password"):
            raise ValidationFailed([error])
        await _check_password(self.hasher, user, current_password)
        if not await self.users.change_password(caller, await self.hasher.hash(password)):
            raise SessionEnded()


@dataclass(frozen=True, slots=True)
class DeleteAccount:
    """The account, its tasks, sessions and password resets go at once; its email is free."""

    identity: IdentityProvider
    users: UserRepository
    hasher: PasswordHasher

    async def __call__(self, password: str) -> None:
        caller, user = await _caller_and_account(self.identity, self.users)
        await _check_password(self.hasher, user, password)
        if not await self.users.delete(caller):
            raise SessionEnded()
