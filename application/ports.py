"""What the use cases need from the outside world, as small role interfaces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.tasks import Position, Task, TaskChanges, TaskQuery
from domain.users import Session, User


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


class UnitOfWork(Protocol):
    async def commit(self) -> None: ...


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Raises ``EmailTaken`` when the email is registered already (any case)."""

    async def by_email(self, email: str) -> User | None: ...

    async def get(self, user_id: UUID) -> User | None: ...

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Rotated:
    session: Session


@dataclass(frozen=True, slots=True)
class Reused:
    """A token that was already rotated came back: the session is now revoked."""

    session_id: UUID
    user_id: UUID


class SessionRepository(Protocol):
    async def start(self, session: Session, refresh_hash: bytes) -> None: ...

    async def rotate(
        self, old_hash: bytes, new_hash: bytes, now: datetime
    ) -> Rotated | Reused | None:
        """Swap a live refresh token for a new one atomically; ``None`` if unknown or expired."""

    async def is_active(self, session_id: UUID, user_id: UUID, now: datetime) -> bool: ...

    async def revoke(self, session_id: UUID, now: datetime) -> None: ...

    async def revoke_all(self, user_id: UUID, now: datetime) -> None: ...

    async def prune(self, user_id: UUID, now: datetime) -> None:
        """Forget the user's expired and revoked sessions, with their refresh tokens."""


class TaskRepository(Protocol):
    """Every call names the owner, so "not yours" and "not there" are one answer."""

    async def add(self, task: Task) -> None: ...

    async def get(self, owner_id: UUID, task_id: UUID) -> Task | None: ...

    async def update(
        self,
        owner_id: UUID,
        task_id: UUID,
        changes: TaskChanges,
        *,
        expected_versions: frozenset[int] | None,
        now: datetime,
        toggle_completed: bool = False,
    ) -> Task | None:
        """Apply ``changes`` in one atomic step; ``None`` when nothing matched."""

    async def delete(
        self, owner_id: UUID, task_id: UUID, *, expected_versions: frozenset[int] | None
    ) -> bool: ...

    async def delete_completed(self, owner_id: UUID) -> int: ...

    async def exists(self, owner_id: UUID, task_id: UUID) -> bool: ...

    async def page(
        self, owner_id: UUID, query: TaskQuery, after: Position | None, limit: int
    ) -> tuple[list[Task], int]:
        """Up to ``limit`` tasks after ``after`` in the query's order, and the count matching it."""


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, so unknown emails are not revealed."""

    def needs_rehash(self, password_hash: str) -> bool: ...


class PasswordBlocklist(Protocol):
    def __contains__(self, password: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: UUID
    session_id: UUID


class TokenIssuer(Protocol):
    @property
    def access_lifetime_seconds(self) -> int: ...

    def issue_access(self, user_id: UUID, session_id: UUID, now: datetime) -> str: ...


class TokenVerifier(Protocol):
    def verify_access(self, token: str) -> AccessClaims:
        """Raises ``InvalidToken`` for anything but a valid access token of this service."""


class AttemptLimiter(Protocol):
    """Counts failures per key and blocks the key once a limit is reached."""

    async def blocked_for(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or ``None`` if it may now."""

    async def record_failure(self, key: str) -> None: ...

    async def reset(self, key: str) -> None: ...


class IdentityProvider(Protocol):
    """The authenticated caller of the current request."""

    async def current(self) -> AccessClaims:
        """Raises ``InvalidToken`` when the request carries no valid, live session."""
