"""What the use cases need from the outside world, as small role interfaces."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.task_listing import Position, TaskQuery
from domain.tasks import KEEP, Keep, Task, TaskChanges
from domain.users import Session, User


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


class UnitOfWork(Protocol):
    """One statement commits itself; a use case that writes several brackets them with
    ``begin()`` and ``commit()``, and whatever is not committed is rolled back."""

    async def begin(self) -> None: ...

    async def commit(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ExternalCaller:
    """Who a verified token of an external issuer (a Better Auth front end) names."""

    issuer: str
    subject: str
    issued_at: int  # whole seconds: tokens issued at or before a logout of the user fail
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The caller, as a valid access token names it. Whether its session is still live is a
    condition of each statement that acts for the caller, not a separate look-up.

    A caller with an external token has one session standing for all its external tokens;
    it ends for the tokens issued up to a logout, not for later ones."""

    user_id: UUID
    session_id: UUID
    external: ExternalCaller | None = None


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Raises ``EmailTaken`` when the email is registered already (any case)."""

    async def by_email(self, email: str) -> User | None: ...

    async def get(self, user_id: UUID) -> User | None: ...

    async def current(self, caller: AccessClaims) -> User | None:
        """The caller's account, only while the caller's session is live."""

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None: ...

    async def update_profile(self, caller: AccessClaims, changes: ProfileChanges) -> User | None:
        """Write the caller's name and email as ``changes`` says; a new email also ends the
        account's pending password resets. ``None`` (nothing written) when the caller's session
        has ended; raises ``EmailTaken`` when another account has the email (any case)."""

    async def change_password(self, caller: AccessClaims, password_hash: str) -> bool:
        """Set the caller's password hash and, at once, end every other session of the user
        and forget the account's pending password resets; ``False`` (nothing written) when the
        caller's session has ended."""

    async def delete(self, caller: AccessClaims) -> bool:
        """Delete the caller's account with its tasks, sessions and password resets at once;
        ``False`` (nothing deleted) when the caller's session has ended."""


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What an account update writes; ``KEEP`` leaves a field as it is, a ``None`` name clears
    it."""

    name: str | Keep | None = KEEP
    email: str | Keep = KEEP


class PasswordResetRepository(Protocol):
    """Pending password resets: the hash of each token, its account and its expiry."""

    async def issue(
        self, email: str, token_hash: bytes, now: datetime, expires_at: datetime
    ) -> User | None:
        """Store a reset token for the account registered with ``email`` (any case), and
        forget that account's expired ones: one statement, whether or not the account exists.
        The account, or ``None`` when no account has the email (nothing stored)."""

    async def holder(self, token_hash: bytes, now: datetime) -> User | None:
        """The account a live (unused, unexpired) token resets."""

    async def redeem(self, token_hash: bytes, password_hash: str, now: datetime) -> bool:
        """Use a live token up, atomically: the account gets ``password_hash``, every session
        of it ends and every other reset of it is forgotten. ``False`` (nothing written) when
        the token is not live, so of concurrent redemptions of one token one succeeds."""


@dataclass(frozen=True, slots=True)
class Rotated:
    session: Session
    user: User


@dataclass(frozen=True, slots=True)
class Reused:
    """A token that was already rotated came back: the session is now revoked."""

    session_id: UUID
    user_id: UUID


class SessionRepository(Protocol):
    async def start(self, session: Session, refresh_hash: bytes, *, max_sessions: int) -> None:
        """Open ``session`` with the hash of its first refresh token. At the same time the
        user's expired and revoked sessions are forgotten, and so are the live ones least
        recently started or refreshed beyond ``max_sessions`` (the new one included)."""

    async def rotate(
        self, session_id: UUID, old_hash: bytes, new_hash: bytes, now: datetime
    ) -> Rotated | Reused | None:
        """Swap the session's current refresh token for a new one atomically. A token of the
        session that is not its current one was rotated already: the session is revoked
        (``Reused``). ``None`` when the session is gone, ended or expired."""

    async def is_active(self, caller: AccessClaims) -> bool: ...

    async def revoke(self, caller: AccessClaims) -> bool:
        """End the caller's session; ``False`` if it had ended already."""

    async def revoke_all(self, caller: AccessClaims) -> bool:
        """End every session of the caller's user; ``False`` if the caller's had ended."""

    async def revoke_by_refresh(
        self, session_id: UUID, refresh_hash: bytes, now: datetime
    ) -> bool | Reused:
        """End the session whose current refresh token has ``refresh_hash`` (a logout without
        a usable access token). A token of the session that is not its current one was rotated
        already: the session is revoked (``Reused``), as on refresh. ``False`` when the session
        is gone, ended or expired."""


class Absence(enum.Enum):
    """Why a statement on one task matched nothing."""

    SESSION_ENDED = "session ended"
    NO_TASK = "no such task of the caller's"
    STALE_VERSION = "the task has another version"


class TaskAbsence(Protocol):
    async def absence(self, caller: AccessClaims, task_id: UUID) -> Absence:
        """After a call on ``task_id`` matched nothing: why."""


class TaskReader(TaskAbsence, Protocol):
    """The read side of a caller's tasks. Every call acts for a caller: on the caller's tasks
    only, and only while the caller's session is live — both conditions of the one statement
    each call runs."""

    async def get(self, caller: AccessClaims, task_id: UUID) -> Task | None: ...

    async def page(
        self, caller: AccessClaims, query: TaskQuery, after: Position | None, limit: int
    ) -> tuple[list[Task], int] | None:
        """Up to ``limit`` tasks after ``after`` in the query's order, and the count matching
        it; ``None`` when the caller's session has ended."""


class TaskWriter(TaskAbsence, Protocol):
    """The write side of a caller's tasks, under the same conditions as ``TaskReader``."""

    async def add(self, caller: AccessClaims, task: Task, *, max_tasks: int) -> bool:
        """``False`` (nothing written) when the caller's session has ended; raises
        ``QuotaExceeded`` when the caller has ``max_tasks`` tasks already."""

    async def update(
        self,
        caller: AccessClaims,
        task_id: UUID,
        changes: TaskChanges,
        *,
        expected_versions: frozenset[int] | None,
        now: datetime,
        toggle_completed: bool = False,
    ) -> Task | None:
        """Apply ``changes`` in one atomic step; ``None`` when nothing matched."""

    async def delete(
        self, caller: AccessClaims, task_id: UUID, *, expected_versions: frozenset[int] | None
    ) -> bool: ...

    async def delete_completed(self, caller: AccessClaims) -> int | None:
        """How many were deleted; ``None`` when the caller's session has ended."""


class TaskRepository(TaskReader, TaskWriter, Protocol):
    """Both sides: what a storage adapter implements."""


class IdentityProvider(Protocol):
    """The authenticated caller of the current request."""

    async def current(self) -> AccessClaims:
        """Raises ``InvalidToken`` when the request carries no valid access token."""
