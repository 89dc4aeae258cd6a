"""The contract suite's storage harness: the same requests on memory and on PostgreSQL.

A ``Storage`` hands out what one request gets (the three repositories and the unit of work,
closed at the end as the container closes them), all on one fake clock, plus helpers that make
a user, a caller with a live session, and tasks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from adapters.memory.password_resets import MemoryPasswordResetRepository
from adapters.memory.repositories import MemorySessionRepository, MemoryUserRepository
from adapters.memory.store import MemoryStore
from adapters.memory.tasks import MemoryTaskRepository
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.postgres.database import ConnectionPool, Database
from adapters.postgres.password_resets import PostgresPasswordResetRepository
from adapters.postgres.sessions import PostgresSessionRepository
from adapters.postgres.tasks import PostgresTaskRepository
from adapters.postgres.users import PostgresUserRepository
from application.ports import (
    AccessClaims,
    PasswordResetRepository,
    SessionRepository,
    TaskRepository,
    UnitOfWork,
    UserRepository,
)
from domain.tasks import Priority, Task, TaskChanges, new_task
from domain.users import Session, User
from tests.fakes import FakeClock

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
LIFETIME = timedelta(days=14)
MAX_SESSIONS = 50
MAX_TASKS = 10_000


@dataclass(frozen=True, slots=True)
class Repositories:
    """What one request gets from the container."""

    users: UserRepository
    sessions: SessionRepository
    tasks: TaskRepository
    uow: UnitOfWork
    password_resets: PasswordResetRepository


RequestOpener = Callable[[], AbstractAsyncContextManager[Repositories]]


def memory_requests(store: MemoryStore, clock: FakeClock) -> RequestOpener:
    @asynccontextmanager
    async def open_request() -> AsyncIterator[Repositories]:
        uow = MemoryUnitOfWork()
        try:
            yield Repositories(
                MemoryUserRepository(store, clock),
                MemorySessionRepository(store, clock),
                MemoryTaskRepository(store, clock),
                uow,
                MemoryPasswordResetRepository(store),
            )
        finally:
            await uow.close()  # as the request scope does

    return open_request


def postgres_requests(pool: ConnectionPool, clock: FakeClock) -> RequestOpener:
    @asynccontextmanager
    async def open_request() -> AsyncIterator[Repositories]:
        db = Database(pool)
        try:
            yield Repositories(
                PostgresUserRepository(db, clock),
                PostgresSessionRepository(db, clock),
                PostgresTaskRepository(db, clock),
                db,
                PostgresPasswordResetRepository(db),
            )
        finally:
            await db.close()  # as the request scope does

    return open_request


class Storage:
    """One adapter's storage: ``users``/``sessions``/``tasks``/``uow`` are those of the test's
    own request; ``request()`` opens another one, ended when its block ends."""

    def __init__(self, name: str, clock: FakeClock, open_request: RequestOpener) -> None:
        self.name = name
        self.clock = clock
        self.request = open_request
        self._current: Repositories | None = None

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[Storage]:
        async with self.request() as current:
            self._current = current
            try:
                yield self
            finally:
                self._current = None

    @property
    def current(self) -> Repositories:
        assert self._current is not None, "use the storage inside its fixture"
        return self._current

    @property
    def users(self) -> UserRepository:
        return self.current.users

    @property
    def sessions(self) -> SessionRepository:
        return self.current.sessions

    @property
    def tasks(self) -> TaskRepository:
        return self.current.tasks

    @property
    def uow(self) -> UnitOfWork:
        return self.current.uow

    @property
    def password_resets(self) -> PasswordResetRepository:
        return self.current.password_resets

    async def add_user(self, email: str | None = None, *, via: Repositories | None = None) -> User:
        user = User(uuid4(), email or f"{uuid4().hex[:12]}@example.com", None, "hash", NOW)
        await (via or self.current).users.add(user)
        return user

    async def log_in(
        self,
        user: User,
        *,
        refresh_hash: bytes | None = None,
        lifetime: timedelta = LIFETIME,
        max_sessions: int = MAX_SESSIONS,
        via: Repositories | None = None,
    ) -> AccessClaims:
        """Start a session for ``user`` now; the caller it names."""
        now = self.clock.now()
        session = Session(uuid4(), user.id, now, now + lifetime)
        hash_ = session.id.bytes if refresh_hash is None else refresh_hash
        await (via or self.current).sessions.start(session, hash_, max_sessions=max_sessions)
        return AccessClaims(user.id, session.id)

    async def caller(self, email: str | None = None) -> AccessClaims:
        """A new user, and a caller with a live session of theirs."""
        return await self.log_in(await self.add_user(email))

    async def add_task(
        self,
        caller: AccessClaims,
        title: str = "a task",
        *,
        task_id: UUID | None = None,
        created_at: datetime | None = None,
        description: str | None = None,
        due_date: date | None = None,
        priority: Priority = Priority.MEDIUM,
        starred: bool = False,
        completed: bool = False,
        tags: tuple[str, ...] = (),
        category: str | None = None,
        max_tasks: int = MAX_TASKS,
        via: Repositories | None = None,
    ) -> Task:
        """A task of ``caller``'s, created at ``created_at`` (the clock's now by default)."""
        changes = TaskChanges(
            title=title,
            description=description,
            due_date=due_date,
            priority=priority,
            starred=starred,
            completed=completed,
            tags=tags,
            category=category,
        )
        task = new_task(task_id or uuid4(), caller.user_id, changes, created_at or self.clock.now())
        added = await (via or self.current).tasks.add(caller, task, max_tasks=max_tasks)
        assert added, "the caller's session has ended"
        return task


def due(day: int) -> date:
    return date(2026, 6, day)
