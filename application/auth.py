"""Account and session use cases: register, log in, refresh, log out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from application.auth_ports import (
    AttemptLimiter,
    PasswordBlocklist,
    PasswordHasher,
    RefreshTokens,
    TokenIssuer,
)
from application.dto import Credentials, Registration, TokenPair
from application.ports import (
    Clock,
    IdentityProvider,
    IdGenerator,
    Reused,
    SessionRepository,
    UnitOfWork,
    UserRepository,
)
from domain.errors import (
    AuthenticationRequired,
    EmailTaken,
    FieldError,
    InvalidCredentials,
    SessionEnded,
    TokenExpired,
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
    max_sessions: int = 50  # live sessions per user; a login beyond ends the stalest


@dataclass(frozen=True, slots=True)
class SessionStarter:
    """Opens a session for a user and hands out its first token pair."""

    sessions: SessionRepository
    tokens: TokenIssuer
    refresh_tokens: RefreshTokens
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
        refresh_token, refresh_hash = self.refresh_tokens.issue(session.id)
        await self.sessions.start(session, refresh_hash, max_sessions=self.policy.max_sessions)
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
        # Every attempt counts as a failure until it succeeds, and is counted atomically before
        # the password is checked: of a burst of guesses at most the limit's count reach the
        # hasher, and once the limit is reached even the right password waits.
        if (retry_after := await self.failures.hit(key)) is not None:
            raise TooManyAttempts(retry_after)
        password = normalize_password(command.password)
        # Text no account can have (NUL, unpaired surrogates) is a wrong credential, not an error.
        unusable = any(has_surrogates(s) or "\x00" in s for s in (command.email, password))
        user = None if unusable else await self.users.by_email(command.email.strip())
        if user is None:
            await self.hasher.verify_dummy(password)
            raise InvalidCredentials()
        if not await self.hasher.verify(user.password_hash, password):
            raise InvalidCredentials()
        await self.failures.reset(key)
        if self.hasher.needs_rehash(user.password_hash):
            await self.users.set_password_hash(user.id, await self.hasher.hash(password))
        return await self.start_session(user)


@dataclass(frozen=True, slots=True)
class RefreshSession:
    sessions: SessionRepository
    tokens: TokenIssuer
    refresh_tokens: RefreshTokens
    clock: Clock

    async def __call__(self, refresh_token: str) -> TokenPair:
        presented = self.refresh_tokens.read(refresh_token)
        if presented is None:  # not a token this service made: nothing to look up
            raise SessionEnded()
        session_id, presented_hash = presented
        now = self.clock.now()
        new_token, new_hash = self.refresh_tokens.issue(session_id)
        outcome = await self.sessions.rotate(session_id, presented_hash, new_hash, now)
        if isinstance(outcome, Reused):
            log_reuse(outcome)
            raise SessionEnded()
        if outcome is None:
            raise SessionEnded()
        return token_pair(self.tokens, outcome.user, outcome.session, new_token, now)


def log_reuse(reused: Reused) -> None:
    security_log.warning(
        "refresh token reused; session revoked",
        extra={"session_id": str(reused.session_id), "user_id": str(reused.user_id)},
    )


@dataclass(frozen=True, slots=True)
class LogOut:
    """Ends the caller's session. Without a usable access token (none, or an expired one) a
    refresh token alone ends its session instead, so a client can always log out; an access
    token that verifies wins, and a refresh token of another session is then ignored."""

    identity: IdentityProvider
    sessions: SessionRepository
    refresh_tokens: RefreshTokens
    clock: Clock

    async def __call__(self, refresh_token: str | None = None) -> None:
        try:
            caller = await self.identity.current()
        except (AuthenticationRequired, TokenExpired):
            if refresh_token is None:
                raise
            await self._end_by_refresh_token(refresh_token)
            return
        if not await self.sessions.revoke(caller):
            raise SessionEnded()

    async def _end_by_refresh_token(self, refresh_token: str) -> None:
        presented = self.refresh_tokens.read(refresh_token)
        if presented is None:  # not a token this service made: nothing to look up
            raise SessionEnded()
        session_id, presented_hash = presented
        outcome = await self.sessions.revoke_by_refresh(
            session_id, presented_hash, self.clock.now()
        )
        if isinstance(outcome, Reused):
            log_reuse(outcome)
            raise SessionEnded()
        if not outcome:
            raise SessionEnded()


@dataclass(frozen=True, slots=True)
class LogOutEverywhere:
    identity: IdentityProvider
    sessions: SessionRepository

    async def __call__(self) -> None:
        if not await self.sessions.revoke_all(await self.identity.current()):
            raise SessionEnded()


@dataclass(frozen=True, slots=True)
class GetCurrentUser:
    identity: IdentityProvider
    users: UserRepository

    async def __call__(self) -> User:
        caller = await self.identity.current()
        user = await self.users.current(caller)
        if user is None:
            raise SessionEnded()
        if (external := caller.external) is not None:  # the front end's latest word on these
            user = replace(
                user, email=external.email or user.email, name=external.name or user.name
            )
        return user
