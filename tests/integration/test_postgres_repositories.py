"""The PostgreSQL adapters against a real, migrated database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.postgres.engine import create_engine, database_target
from adapters.postgres.repositories import (
    PostgresSessionRepository,
    PostgresTaskRepository,
    PostgresUserRepository,
)
from adapters.system import UuidV7Generator
from application.ports import Reused, Rotated
from domain.errors import EmailTaken
from domain.tasks import (
    Position,
    Priority,
    SortField,
    TaskChanges,
    TaskFilter,
    TaskQuery,
    TaskSort,
    new_task,
    sort_value,
)
from domain.users import Session, User

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
ids = UuidV7Generator()


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        yield connection
        await connection.commit()


async def add_user(engine: AsyncEngine, email: str = "ada@example.com") -> User:
    user = User(ids.new_id(), email, None, "hash", NOW)
    async with transaction(engine) as db:
        await PostgresUserRepository(db).add(user)
    return user


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_emails_are_unique_in_any_case(engine: AsyncEngine) -> None:
    await add_user(engine, "Ada@Example.com")
    async with transaction(engine) as db:
        users = PostgresUserRepository(db)
        found = await users.by_email("ada@EXAMPLE.com")
        assert found is not None
        assert found.email == "Ada@Example.com"
        with pytest.raises(EmailTaken):
            await users.add(User(ids.new_id(), "ADA@example.COM", None, "h", NOW))


async def test_refresh_rotation_and_reuse(engine: AsyncEngine) -> None:
    user = await add_user(engine)
    session = Session(ids.new_id(), user.id, NOW, NOW + timedelta(days=14))
    async with transaction(engine) as db:
        await PostgresSessionRepository(db).start(session, b"first")
    async with transaction(engine) as db:
        outcome = await PostgresSessionRepository(db).rotate(b"first", b"second", NOW)
    assert outcome == Rotated(session)
    async with transaction(engine) as db:
        sessions = PostgresSessionRepository(db)
        assert await sessions.rotate(b"first", b"third", NOW) == Reused(session.id, user.id)
        assert not await sessions.is_active(session.id, user.id, NOW)
        assert await sessions.rotate(b"second", b"third", NOW) is None
        assert await sessions.rotate(b"never-issued", b"x", NOW) is None


async def test_twenty_concurrent_rotations_of_one_token_yield_one_success(
    engine: AsyncEngine,
) -> None:
    user = await add_user(engine)
    session = Session(ids.new_id(), user.id, NOW, NOW + timedelta(days=14))
    async with transaction(engine) as db:
        await PostgresSessionRepository(db).start(session, b"shared")

    async def rotate(n: int) -> object:
        async with transaction(engine) as db:
            return await PostgresSessionRepository(db).rotate(b"shared", f"new-{n}".encode(), NOW)

    outcomes = await asyncio.gather(*(rotate(n) for n in range(20)))
    assert sum(isinstance(o, Rotated) for o in outcomes) == 1
    assert sum(isinstance(o, Reused) for o in outcomes) == 19
    async with transaction(engine) as db:
        assert not await PostgresSessionRepository(db).is_active(session.id, user.id, NOW)


async def seed_tasks(engine: AsyncEngine, owner: UUID, count: int) -> None:
    async with transaction(engine) as db:
        repository = PostgresTaskRepository(db)
        for n in range(count):
            changes = TaskChanges(
                title=f"{'Bb' if n % 2 else 'aa'} task {n:03}",
                priority=list(Priority)[n % 3],
                due_date=None if n % 4 == 0 else date(2026, 1, 1 + n % 28),
                tags=("even",) if n % 2 == 0 else ("odd",),
            )
            await repository.add(new_task(ids.new_id(), owner, changes, NOW + timedelta(seconds=n)))


@pytest.mark.parametrize("task_count", [3, 150])
async def test_a_page_and_its_total_cost_one_statement_however_many_tasks(
    engine: AsyncEngine, task_count: int
) -> None:
    user = await add_user(engine)
    await seed_tasks(engine, user.id, task_count)
    async with engine.connect() as db:
        with counting_statements(engine) as statements:
            tasks, total = await PostgresTaskRepository(db).page(user.id, TaskQuery(), None, 101)
    assert total == task_count
    assert len(tasks) == min(task_count, 101)
    assert len(statements) == 1


async def test_an_empty_page_still_counts(engine: AsyncEngine) -> None:
    user = await add_user(engine)
    await seed_tasks(engine, user.id, 5)
    query = TaskQuery(sort=TaskSort(SortField.CREATED_AT, descending=False))
    past_the_end = Position(NOW + timedelta(days=1), UUID(int=2**128 - 1))
    async with engine.connect() as db:
        tasks, total = await PostgresTaskRepository(db).page(user.id, query, past_the_end, 10)
    assert (tasks, total) == ([], 5)


@pytest.mark.parametrize("sort", [f"{d}{f.value}" for f in SortField for d in ("", "-")])
async def test_keyset_pages_walk_every_sort_without_gaps(engine: AsyncEngine, sort: str) -> None:
    user = await add_user(engine)
    await seed_tasks(engine, user.id, 23)
    query = TaskQuery(filter=TaskFilter(), sort=TaskSort.parse(sort))
    seen: list[UUID] = []
    after = None
    async with engine.connect() as db:
        repository = PostgresTaskRepository(db)
        everything, _ = await repository.page(user.id, query, None, 100)
        while True:
            page, total = await repository.page(user.id, query, after, 5)
            assert total == 23
            seen += [t.id for t in page]
            if len(page) < 5:
                break
            after = Position(sort_value(page[-1], query.sort.field), page[-1].id)
    assert seen == [t.id for t in everything]
    assert len(set(seen)) == 23
    values = [sort_value(t, query.sort.field) for t in everything]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=query.sort.descending)  # type: ignore[type-var]
    assert values[len(present) :] == [None] * (len(values) - len(present))


async def test_updates_are_scoped_by_owner_and_version(engine: AsyncEngine) -> None:
    ada, bob = await add_user(engine), await add_user(engine, "bob@example.com")
    task = new_task(ids.new_id(), ada.id, TaskChanges(title="mine"), NOW)
    async with transaction(engine) as db:
        repository = PostgresTaskRepository(db)
        await repository.add(task)
        assert (
            await repository.update(
                bob.id, task.id, TaskChanges(title="x"), expected_versions=None, now=NOW
            )
            is None
        )
        assert not await repository.delete(bob.id, task.id, expected_versions=None)
        assert (
            await repository.update(
                ada.id, task.id, TaskChanges(title="x"), expected_versions=frozenset({9}), now=NOW
            )
            is None
        )
        done = await repository.update(
            ada.id,
            task.id,
            TaskChanges(),
            expected_versions=frozenset({1}),
            now=NOW,
            toggle_completed=True,
        )
        assert done is not None
        assert (done.completed, done.completed_at, done.version) == (True, NOW, 2)
        assert await repository.delete_completed(bob.id) == 0
        assert await repository.delete_completed(ada.id) == 1


async def test_prune_forgets_dead_sessions_and_their_tokens(engine: AsyncEngine) -> None:
    ada, bob = await add_user(engine), await add_user(engine, "bob@example.com")
    live = Session(ids.new_id(), ada.id, NOW, NOW + timedelta(days=14))
    expired = Session(ids.new_id(), ada.id, NOW - timedelta(days=20), NOW - timedelta(days=6))
    revoked = Session(ids.new_id(), ada.id, NOW, NOW + timedelta(days=14))
    bobs = Session(ids.new_id(), bob.id, NOW - timedelta(days=20), NOW - timedelta(days=6))
    async with transaction(engine) as db:
        repository = PostgresSessionRepository(db)
        for n, session in enumerate((live, expired, revoked, bobs)):
            await repository.start(session, f"token-{n}".encode())
        await repository.revoke(revoked.id, NOW)
        await repository.prune(ada.id, NOW)
    async with engine.connect() as db:
        left = set(await db.scalars(sa.text("SELECT id FROM sessions")))
        tokens = await db.scalar(sa.text("SELECT count(*) FROM refresh_tokens"))
    assert left == {live.id, bobs.id}
    assert tokens == 2


async def test_a_pooled_endpoint_url_works_without_statement_caches(database_url: str) -> None:
    separator = "&" if "?" in database_url else "?"
    target = database_target(f"{database_url}{separator}pgbouncer=true&application_name=todo")
    assert target.pooled
    pooled = create_engine(target)
    try:
        async with pooled.connect() as db:
            for n in range(3):  # the same statement again: no named statement may collide
                assert await db.scalar(sa.select(sa.literal(n))) == n
            name = await db.scalar(sa.text("SELECT current_setting('application_name')"))
            assert name == "todo"
    finally:
        await pooled.dispose()
