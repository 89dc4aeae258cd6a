"""The PostgreSQL adapters against a real, migrated database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.database import ConnectionPool, Database
from adapters.postgres.engine import create_engine, database_target
from adapters.postgres.repositories import (
    PostgresSessionRepository,
    PostgresTaskRepository,
    PostgresUserRepository,
)
from adapters.system import UuidV7Generator
from application.ports import Absence, AccessClaims, Reused, Rotated
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
from tests.fakes import FakeClock
from tests.support.statements import counting_statements

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
ids = UuidV7Generator()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@asynccontextmanager
async def database(engine: AsyncEngine) -> AsyncIterator[Database]:
    """What a request gets: statements commit themselves; ``close`` rolls back the rest."""
    db = Database(ConnectionPool(engine))
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[Database]:
    async with database(engine) as db:
        yield db


async def add_user(db: Database, clock: FakeClock, email: str = "ada@example.com") -> User:
    user = User(ids.new_id(), email, None, "hash", NOW)
    await PostgresUserRepository(db, clock).add(user)
    return user


async def log_in(
    db: Database, clock: FakeClock, user: User, lifetime: timedelta = timedelta(days=14)
) -> AccessClaims:
    """Start a session for ``user`` now, as ``SessionStarter`` does; the caller it names."""
    session = Session(ids.new_id(), user.id, clock.now(), clock.now() + lifetime)
    await PostgresSessionRepository(db, clock).start(session, session.id.bytes)
    return AccessClaims(user.id, session.id)


async def scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as connection:
        return await connection.scalar(sa.text(sql))


async def test_emails_are_unique_in_any_case(db: Database, clock: FakeClock) -> None:
    await add_user(db, clock, "Ada@Example.com")
    users = PostgresUserRepository(db, clock)
    found = await users.by_email("ada@EXAMPLE.com")
    assert found is not None
    assert found.email == "Ada@Example.com"
    with pytest.raises(EmailTaken):
        await users.add(User(ids.new_id(), "ADA@example.COM", None, "h", NOW))


async def test_a_transaction_commits_all_or_nothing(engine: AsyncEngine, clock: FakeClock) -> None:
    """What ``RegisterUser`` relies on: the account and its first session, or neither."""
    for commit in (False, True):
        async with database(engine) as db:
            await db.begin()
            user = await add_user(db, clock, f"{commit}@example.com")
            await log_in(db, clock, user)
            if commit:
                await db.commit()
        async with database(engine) as db:
            assert (await PostgresUserRepository(db, clock).get(user.id) is not None) is commit
    assert await scalar(engine, "SELECT count(*) FROM users") == 1
    assert await scalar(engine, "SELECT count(*) FROM sessions") == 1
    assert await scalar(engine, "SELECT count(*) FROM refresh_tokens") == 1


async def test_refresh_rotation_and_reuse(db: Database, clock: FakeClock) -> None:
    user = await add_user(db, clock)
    session = Session(ids.new_id(), user.id, NOW, NOW + timedelta(days=14))
    sessions = PostgresSessionRepository(db, clock)
    await sessions.start(session, b"first")
    caller = AccessClaims(user.id, session.id)
    assert await sessions.is_active(caller)
    outcome = await sessions.rotate(b"first", b"second", NOW)
    assert outcome == Rotated(session)
    assert await sessions.rotate(b"first", b"third", NOW) == Reused(session.id, user.id)
    assert not await sessions.is_active(caller)
    assert await sessions.rotate(b"second", b"third", NOW) is None
    assert await sessions.rotate(b"never-issued", b"x", NOW) is None


async def test_twenty_concurrent_rotations_of_one_token_yield_one_success(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    user = await add_user(db, clock)
    session = Session(ids.new_id(), user.id, NOW, NOW + timedelta(days=14))
    await PostgresSessionRepository(db, clock).start(session, b"shared")

    async def rotate(n: int) -> object:
        async with database(engine) as own:  # one request each
            sessions = PostgresSessionRepository(own, clock)
            return await sessions.rotate(b"shared", f"new-{n}".encode(), NOW)

    outcomes = await asyncio.gather(*(rotate(n) for n in range(20)))
    assert sum(isinstance(o, Rotated) for o in outcomes) == 1
    assert sum(isinstance(o, Reused) for o in outcomes) == 19
    caller = AccessClaims(user.id, session.id)
    assert not await PostgresSessionRepository(db, clock).is_active(caller)


async def seed_tasks(db: Database, clock: FakeClock, caller: AccessClaims, count: int) -> None:
    repository = PostgresTaskRepository(db, clock)
    for n in range(count):
        changes = TaskChanges(
            title=f"{'Bb' if n % 2 else 'aa'} task {n:03}",
            priority=list(Priority)[n % 3],
            due_date=None if n % 4 == 0 else date(2026, 1, 1 + n % 28),
            tags=("even",) if n % 2 == 0 else ("odd",),
        )
        task = new_task(ids.new_id(), caller.user_id, changes, NOW + timedelta(seconds=n))
        assert await repository.add(caller, task)


async def a_caller(db: Database, clock: FakeClock, email: str = "ada@example.com") -> AccessClaims:
    return await log_in(db, clock, await add_user(db, clock, email))


@pytest.mark.parametrize("task_count", [3, 150])
async def test_a_page_and_its_total_cost_one_statement_however_many_tasks(
    engine: AsyncEngine, db: Database, clock: FakeClock, task_count: int
) -> None:
    caller = await a_caller(db, clock)
    await seed_tasks(db, clock, caller, task_count)
    with counting_statements(engine) as statements:
        found = await PostgresTaskRepository(db, clock).page(caller, TaskQuery(), None, 101)
        await asyncio.sleep(0)  # asyncpg logs with call_soon
    assert found is not None
    tasks, total = found
    assert total == task_count
    assert len(tasks) == min(task_count, 101)
    assert len(statements) == 1, statements


async def test_counting_statements_sees_every_statement(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    """The counter itself: a use of it that found nothing would prove nothing."""
    caller = await a_caller(db, clock)
    repository = PostgresTaskRepository(db, clock)
    with counting_statements(engine) as statements:
        assert await repository.get(caller, ids.new_id()) is None
        assert await repository.absence(caller, ids.new_id()) is Absence.NO_TASK
        await asyncio.sleep(0)
    assert len(statements) == 2, statements


async def test_an_empty_page_still_counts(db: Database, clock: FakeClock) -> None:
    caller = await a_caller(db, clock)
    await seed_tasks(db, clock, caller, 5)
    query = TaskQuery(sort=TaskSort(SortField.CREATED_AT, descending=False))
    past_the_end = Position(NOW + timedelta(days=1), UUID(int=2**128 - 1))
    found = await PostgresTaskRepository(db, clock).page(caller, query, past_the_end, 10)
    assert found == ([], 5)
    nobody_else = await a_caller(db, clock, "bob@example.com")
    assert await PostgresTaskRepository(db, clock).page(nobody_else, query, None, 10) == ([], 0)


@pytest.mark.parametrize("sort", [f"{d}{f.value}" for f in SortField for d in ("", "-")])
async def test_keyset_pages_walk_every_sort_without_gaps(
    db: Database, clock: FakeClock, sort: str
) -> None:
    caller = await a_caller(db, clock)
    await seed_tasks(db, clock, caller, 23)
    query = TaskQuery(filter=TaskFilter(), sort=TaskSort.parse(sort))
    seen: list[UUID] = []
    after = None
    repository = PostgresTaskRepository(db, clock)
    found = await repository.page(caller, query, None, 100)
    assert found is not None
    everything, _ = found
    while True:
        found = await repository.page(caller, query, after, 5)
        assert found is not None
        page, total = found
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


async def test_updates_are_scoped_by_owner_and_version(db: Database, clock: FakeClock) -> None:
    ada, bob = await a_caller(db, clock), await a_caller(db, clock, "bob@example.com")
    task = new_task(ids.new_id(), ada.user_id, TaskChanges(title="mine"), NOW)
    repository = PostgresTaskRepository(db, clock)
    assert await repository.add(ada, task)
    rename = TaskChanges(title="x")
    assert await repository.update(bob, task.id, rename, expected_versions=None, now=NOW) is None
    assert not await repository.delete(bob, task.id, expected_versions=None)
    assert await repository.get(bob, task.id) is None
    assert (
        await repository.update(
            ada, task.id, TaskChanges(title="x"), expected_versions=frozenset({9}), now=NOW
        )
        is None
    )
    assert not await repository.delete(ada, task.id, expected_versions=frozenset({9}))
    assert await repository.get(ada, task.id) == task
    done = await repository.update(
        ada,
        task.id,
        TaskChanges(),
        expected_versions=frozenset({1}),
        now=NOW,
        toggle_completed=True,
    )
    assert done is not None
    assert (done.completed, done.completed_at, done.version) == (True, NOW, 2)
    assert await repository.delete_completed(bob) == 0
    assert await repository.delete_completed(ada) == 1
    assert await repository.get(ada, task.id) is None


async def test_absence_tells_session_ended_no_task_and_stale_version_apart(
    db: Database, clock: FakeClock
) -> None:
    ada, bob = await a_caller(db, clock), await a_caller(db, clock, "bob@example.com")
    task = new_task(ids.new_id(), ada.user_id, TaskChanges(title="mine"), NOW)
    repository = PostgresTaskRepository(db, clock)
    assert await repository.add(ada, task)
    assert await repository.absence(ada, task.id) is Absence.STALE_VERSION
    assert await repository.absence(ada, ids.new_id()) is Absence.NO_TASK
    assert await repository.absence(bob, task.id) is Absence.NO_TASK  # not bob's
    assert await PostgresSessionRepository(db, clock).revoke(ada)
    assert await repository.absence(ada, task.id) is Absence.SESSION_ENDED
    assert await repository.absence(ada, ids.new_id()) is Absence.SESSION_ENDED
    clock.advance(days=14)  # bob's session expires
    assert await repository.absence(bob, task.id) is Absence.SESSION_ENDED


async def rows(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(sa.text(sql))).all())


@pytest.mark.parametrize("ending", ["revoked", "expired", "foreign"])
async def test_a_caller_whose_session_is_not_live_gets_nothing(
    engine: AsyncEngine, db: Database, clock: FakeClock, ending: str
) -> None:
    ada = await a_caller(db, clock)
    tasks = PostgresTaskRepository(db, clock)
    sessions = PostgresSessionRepository(db, clock)
    done = new_task(ids.new_id(), ada.user_id, TaskChanges(title="d", completed=True), NOW)
    assert await tasks.add(ada, done)
    if ending == "revoked":
        assert await sessions.revoke(ada)
        caller = ada
    elif ending == "expired":
        clock.advance(days=14)
        caller = ada
    else:  # a live session, named with another user's id
        bob = await add_user(db, clock, "bob@example.com")
        caller = AccessClaims(bob.id, ada.session_id)
    before = await rows(engine, "SELECT * FROM tasks")
    now = clock.now()
    extra = new_task(ids.new_id(), caller.user_id, TaskChanges(title="x"), now)
    assert not await tasks.add(caller, extra)
    assert await tasks.get(caller, done.id) is None
    changes = TaskChanges(title="changed")
    assert await tasks.update(caller, done.id, changes, expected_versions=None, now=now) is None
    assert (
        await tasks.update(
            caller, done.id, TaskChanges(), expected_versions=None, now=now, toggle_completed=True
        )
        is None
    )
    assert not await tasks.delete(caller, done.id, expected_versions=None)
    assert not await tasks.delete(caller, done.id, expected_versions=frozenset({1}))
    assert await tasks.delete_completed(caller) is None
    assert await tasks.page(caller, TaskQuery(), None, 10) is None
    assert await tasks.absence(caller, done.id) is Absence.SESSION_ENDED
    assert await PostgresUserRepository(db, clock).current(caller) is None
    assert not await sessions.is_active(caller)
    assert not await sessions.revoke(caller)
    assert not await sessions.revoke_all(caller)
    assert await rows(engine, "SELECT * FROM tasks") == before
    assert await rows(engine, "SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL") == [
        (1 if ending == "revoked" else 0,)
    ]


async def test_the_current_user_needs_a_live_session(db: Database, clock: FakeClock) -> None:
    ada = await a_caller(db, clock)
    users = PostgresUserRepository(db, clock)
    current = await users.current(ada)
    assert current is not None
    assert current.email == "ada@example.com"
    assert await PostgresSessionRepository(db, clock).revoke(ada)
    assert await users.current(ada) is None
    assert await users.get(ada.user_id) == current


async def test_revoke_all_ends_every_session_of_the_user_and_no_other(
    db: Database, clock: FakeClock
) -> None:
    ada = await a_caller(db, clock)
    user = await PostgresUserRepository(db, clock).get(ada.user_id)
    assert user is not None
    elsewhere = await log_in(db, clock, user)
    bob = await a_caller(db, clock, "bob@example.com")
    sessions = PostgresSessionRepository(db, clock)
    assert await sessions.revoke_all(ada)
    assert not await sessions.is_active(ada)
    assert not await sessions.is_active(elsewhere)
    assert await sessions.is_active(bob)
    assert not await sessions.revoke_all(elsewhere)


async def test_starting_a_session_forgets_the_users_dead_sessions_and_their_tokens(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    ada = await add_user(db, clock)
    bob = await add_user(db, clock, "bob@example.com")
    long_ago = NOW - timedelta(days=20)
    live = Session(ids.new_id(), ada.id, long_ago, NOW + timedelta(days=14))
    expired = Session(ids.new_id(), ada.id, long_ago, NOW - timedelta(days=6))
    revoked = Session(ids.new_id(), ada.id, long_ago, NOW + timedelta(days=14))
    bobs = Session(ids.new_id(), bob.id, long_ago, NOW - timedelta(days=6))
    sessions = PostgresSessionRepository(db, clock)
    for n, session in enumerate((live, expired, revoked, bobs)):
        await sessions.start(session, f"token-{n}".encode())
    assert await sessions.revoke(AccessClaims(ada.id, revoked.id))
    fresh = Session(ids.new_id(), ada.id, NOW, NOW + timedelta(days=14))
    with counting_statements(engine) as statements:
        await sessions.start(fresh, b"token-fresh")
        await asyncio.sleep(0)
    assert len(statements) == 1, statements  # forgetting is part of the one statement
    left = {row.id for row in await rows(engine, "SELECT id FROM sessions")}
    assert left == {live.id, fresh.id, bobs.id}
    tokens = {row.token_hash for row in await rows(engine, "SELECT token_hash FROM refresh_tokens")}
    assert tokens == {b"token-0", b"token-3", b"token-fresh"}
    assert await sessions.rotate(b"token-2", b"next", NOW) is None  # gone, not "reused"
    assert await sessions.is_active(AccessClaims(ada.id, live.id))


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
        async with database(pooled) as db:  # the repositories' path, straight on asyncpg
            users = PostgresUserRepository(db, FakeClock(NOW))
            for _ in range(3):
                assert await users.by_email("nobody@example.invalid") is None
    finally:
        await pooled.dispose()
