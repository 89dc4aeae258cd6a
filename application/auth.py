"""Account and session use cases: register, log in, refresh, log out."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.dto import Credentials, Registration, TokenPair
from application.ports import (
    AttemptLimiter,
    Clock,
    IdentityProvider,
    IdGenerator,
    PasswordBlocklist,
    PasswordHasher,
    Reused,
    SessionRepository,
    TokenIssuer,
    UnitOfWork,
    UserRepository,
)
from domain.errors import (
    EmailTaken,
    FieldError,
    InvalidCredentials,
    InvalidToken,
    TooManyAttempts,
    ValidationFailed,
)
from domain.text import has_surrogates
from domain.users import (
    Session,
    User,
    check_email,
    check_name,
    check_password,
    email_key,
    normalize_password,
)

security_log = logging.getLogger("todo.security")


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    refresh_lifetime: timedelta


def new_refresh_token() -> tuple[str, bytes]:
    """An opaque token of 256 random bits, and the only form of it that is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class SessionStarter:
    """Opens a session for a user and hands out its first token pair."""

    sessions: SessionRepository
    tokens: TokenIssuer
    ids: IdGenerator
    clock: Clock
    policy: SessionPolicy

    async def __call__(self, user: User) -> TokenPair:
        now = self.clock.now()
        session = Session(
            id=self.ids.new_id(),
            user_id=user.id,
            created_at=now,
            expires_at=now + self.policy.refresh_lifetime,
        )
        refresh_token, refresh_hash = new_refresh_token()
        await self.sessions.start(session, refresh_hash)
        return token_pair(self.tokens, user, session, refresh_token, now)


def token_pair(
    tokens: TokenIssuer, user: User, session: Session, refresh_token: str, now: datetime
) -> TokenPair:
    return TokenPair(
        access_token=tokens.issue_access(user.id, session.id, now),
        expires_in=tokens.access_lifetime_seconds,
        refresh_token=refresh_token,
        refresh_expires_in=max(0, int((session.expires_at - now).total_seconds())),
        user=user,
    )


@dataclass(frozen=True, slots=True)
class RegisterUser:
    users: UserRepository
    hasher: PasswordHasher
    blocklist: PasswordBlocklist
    start_session: SessionStarter
    ids: IdGenerator
    clock: Clock
    uow: UnitOfWork

    async def __call__(self, command: Registration) -> TokenPair:
        errors: list[FieldError] = []
        email, error = check_email(command.email)
        errors += [error] if error else []
        name = None
        if command.name is not None:
            name, error = check_name(command.name)
            errors += [error] if error else []
        password = normalize_password(command.password)
        error = check_password(password, email, is_common=password in self.blocklist)
        errors += [error] if error else []
        if errors:
            raise ValidationFailed(errors)
        if await self.users.by_email(email) is not None:
            raise EmailTaken()
        user = User(
            id=self.ids.new_id(),
            email=email,
            name=name,
            password_hash=await self.hasher.hash(password),
            created_at=self.clock.now(),
        )
        await self.uow.begin()  # the account and its first session, or neither
        await self.users.add(user)
        pair = await self.start_session(user)
        await self.uow.commit()
        return pair


@dataclass(frozen=True, slots=True)
class LogIn:
    users: UserRepository
    hasher: PasswordHasher
    failures: AttemptLimiter
    start_session: SessionStarter

    async def __call__(self, command: Credentials) -> TokenPair:
        key = email_key(command.email)
        if (retry_after := await self.failures.blocked_for(key)) is not None:
            raise TooManyAttempts(retry_after)
        password = normalize_password(command.password)
        # Text no account can have (NUL, unpaired surrogates) is a wrong credential, not an error.
        unusable = any(has_surrogates(s) or "\x00" in s for s in (command.email, password))
        user = None if unusable else await self.users.by_email(command.email.strip())
        if user is None:
            await self.hasher.verify_dummy(password)
            await self.failures.record_failure(key)
            raise InvalidCredentials()
        if not await self.hasher.verify(user.password_hash, password):
            await self.failures.record_failure(key)
            raise InvalidCredentials()
        await self.failures.reset(key)
        if self.hasher.needs_rehash(user.password_hash):
            await self.users.set_password_hash(user.id, await self.hasher.hash(password))
        return await self.start_session(user)


@dataclass(frozen=True, slots=True)
class RefreshSession:
    users: UserRepository
    sessions: SessionRepository
    tokens: TokenIssuer
    clock: Clock

    async def __call__(self, refresh_token: str) -> TokenPair:
        now = self.clock.now()
        new_token, new_hash = new_refresh_token()
        outcome = await self.sessions.rotate(hash_refresh_token(refresh_token), new_hash, now)
        if isinstance(outcome, Reused):
            security_log.warning(
                "refresh token reused; session revoked",
                extra={"session_id": str(outcome.session_id), "user_id": str(outcome.user_id)},
            )
            raise InvalidToken()
        if outcome is None:
            raise InvalidToken()
        user = await self.users.get(outcome.session.user_id)
        if user is None:
            raise InvalidToken()
        return token_pair(self.tokens, user, outcome.session, new_token, now)


@dataclass(frozen=True, slots=True)
class LogOut:
    identity: IdentityProvider
    sessions: SessionRepository

    async def __call__(self) -> None:
        if not await self.sessions.revoke(await self.identity.current()):
            raise InvalidToken()


@dataclass(frozen=True, slots=True)
class LogOutEverywhere:
    identity: IdentityProvider
    sessions: SessionRepository

    async def __call__(self) -> None:
        if not await self.sessions.revoke_all(await self.identity.current()):
            raise InvalidToken()


@dataclass(frozen=True, slots=True)
class GetCurrentUser:
    identity: IdentityProvider
    users: UserRepository

    async def __call__(self) -> User:
        user = await self.users.current(await self.identity.current())
        if user is None:
            raise InvalidToken()
        return user
