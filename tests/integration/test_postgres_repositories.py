"""The PostgreSQL adapters against a real, migrated database."""

from __future__ import annotations

import asyncio
import base64
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
from adapters.postgres.sessions import PostgresSessionRepository
from adapters.postgres.tasks import PostgresTaskRepository
from adapters.postgres.users import PostgresUserRepository
from adapters.security.refresh_tokens import MacRefreshTokens
from adapters.system import UuidV7Generator
from application.auth import RefreshSession, SessionPolicy, SessionStarter
from application.ports import Absence, AccessClaims, Reused, Rotated
from application.tasks import TaskPolicy
from domain.errors import EmailTaken, InvalidToken, QuotaExceeded
from domain.task_listing import Position, SortField, TaskFilter, TaskQuery, TaskSort, sort_value
from domain.tasks import Priority, TaskChanges, new_task
from domain.users import Session, User
from tests.fakes import FakeClock, FakeTokens
from tests.support.statements import counting_statements

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
ids = UuidV7Generator()
MAX_SESSIONS = SessionPolicy(timedelta(days=14)).max_sessions
MAX_TASKS = TaskPolicy().max_tasks
REFRESH_SECRET = b"integration-test-refresh-token-secret-0123456789"


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
    await PostgresSessionRepository(db, clock).start(
        session, session.id.bytes, max_sessions=MAX_SESSIONS
    )
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
    assert await scalar(engine, "SELECT count(*) FROM sessions WHERE refresh_hash IS NOT NULL") == 1


async def test_refresh_rotation_and_reuse(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    user = await add_user(db, clock)
    session = Session(ids.new_id(), user.id, NOW, NOW + timedelta(days=14))
    sessions = PostgresSessionRepository(db, clock)
    await sessions.start(session, b"first", max_sessions=MAX_SESSIONS)
    caller = AccessClaims(user.id, session.id)
    assert await sessions.is_active(caller)
    outcome = await sessions.rotate(session.id, b"first", b"second", NOW)
    assert outcome == Rotated(session, user)
    assert await sessions.is_active(caller)
    assert await sessions.rotate(session.id, b"first", b"third", NOW) == Reused(session.id, user.id)
    assert not await sessions.is_active(caller)
    assert await sessions.rotate(session.id, b"second", b"third", NOW) is None  # revoked
    assert await sessions.rotate(ids.new_id(), b"second", b"x", NOW) is None  # no such session
    assert await scalar(engine, "SELECT count(*) FROM sessions") == 1


async def test_twenty_concurrent_rotations_of_one_token_yield_one_success(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    user = await add_user(db, clock)
    session = Session(ids.new_id(), user.id, NOW, NOW + timedelta(days=14))
    await PostgresSessionRepository(db, clock).start(session, b"shared", max_sessions=MAX_SESSIONS)

    async def rotate(n: int) -> object:
        async with database(engine) as own:  # one request each
            sessions = PostgresSessionRepository(own, clock)
            return await sessions.rotate(session.id, b"shared", f"new-{n}".encode(), NOW)

    outcomes = await asyncio.gather(*(rotate(n) for n in range(20)))
    assert sum(isinstance(o, Rotated) for o in outcomes) == 1
    assert sum(isinstance(o, Reused) for o in outcomes) == 19
    winner = next(n for n, o in enumerate(outcomes) if isinstance(o, Rotated))
    stored = await rows(engine, "SELECT refresh_hash, refreshed_at FROM sessions")
    assert stored == [(f"new-{winner}".encode(), NOW)]  # the winner's hash, and only it
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
        assert await repository.add(caller, task, max_tasks=MAX_TASKS)


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
    assert present == sorted(present, reverse=query.sort.descending)
    assert values[len(present) :] == [None] * (len(values) - len(present))


async def test_updates_are_scoped_by_owner_and_version(db: Database, clock: FakeClock) -> None:
    ada, bob = await a_caller(db, clock), await a_caller(db, clock, "bob@example.com")
    task = new_task(ids.new_id(), ada.user_id, TaskChanges(title="mine"), NOW)
    repository = PostgresTaskRepository(db, clock)
    assert await repository.add(ada, task, max_tasks=MAX_TASKS)
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
    assert await repository.add(ada, task, max_tasks=MAX_TASKS)
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
    assert await tasks.add(ada, done, max_tasks=MAX_TASKS)
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
    assert not await tasks.add(caller, extra, max_tasks=MAX_TASKS)
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
        await sessions.start(session, f"token-{n}".encode(), max_sessions=MAX_SESSIONS)
    assert await sessions.revoke(AccessClaims(ada.id, revoked.id))
    fresh = Session(ids.new_id(), ada.id, NOW, NOW + timedelta(days=14))
    with counting_statements(engine) as statements:
        await sessions.start(fresh, b"token-fresh", max_sessions=MAX_SESSIONS)
        await asyncio.sleep(0)
    assert len(statements) == 1, statements  # forgetting is part of the one statement
    left = {row.id for row in await rows(engine, "SELECT id FROM sessions")}
    assert left == {live.id, fresh.id, bobs.id}
    tokens = {row.refresh_hash for row in await rows(engine, "SELECT refresh_hash FROM sessions")}
    assert tokens == {b"token-0", b"token-3", b"token-fresh"}
    assert await sessions.rotate(revoked.id, b"token-2", b"next", NOW) is None  # gone, not reused
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


# -- refresh tokens: one hash per session, reuse, forgeries ------------------------------------


class Auth:
    """The session use cases over PostgreSQL, wired as the container wires them."""

    def __init__(self, db: Database, clock: FakeClock, **policy: Any) -> None:
        self.clock = clock
        self.tokens = FakeTokens()
        self.refresh_tokens = MacRefreshTokens(REFRESH_SECRET)
        self.sessions = PostgresSessionRepository(db, clock)
        self.start = SessionStarter(
            self.sessions,
            self.tokens,
            self.refresh_tokens,
            ids,
            clock,
            SessionPolicy(timedelta(days=14), **policy),
        )
        self.refresh = RefreshSession(self.sessions, self.tokens, self.refresh_tokens, clock)

    def claims(self, pair: Any) -> AccessClaims:
        return self.tokens.verify_access(pair.access_token)

    def hash_of(self, refresh_token: str) -> bytes:
        read = self.refresh_tokens.read(refresh_token)
        assert read is not None
        return read[1]


SESSION_ROWS = "SELECT id, refresh_hash, refreshed_at, revoked_at FROM sessions ORDER BY id"


async def test_a_session_keeps_one_hash_however_many_rotations(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    user = await add_user(db, clock)
    auth = Auth(db, clock)
    pair = await auth.start(user)
    session_id = auth.claims(pair).session_id
    seen = {pair.refresh_token}
    for _ in range(300):
        clock.advance(seconds=1)
        pair = await auth.refresh(pair.refresh_token)
        seen.add(pair.refresh_token)
    assert len(seen) == 301
    assert await rows(engine, SESSION_ROWS) == [
        (session_id, auth.hash_of(pair.refresh_token), clock.now(), None)
    ]
    assert await scalar(engine, "SELECT to_regclass('refresh_tokens')") is None  # no token table
    assert (await auth.refresh(pair.refresh_token)).user == user


@pytest.mark.parametrize("age", [2, 3, 10])
async def test_a_token_rotations_old_is_reuse_and_ends_the_session(
    engine: AsyncEngine, db: Database, clock: FakeClock, age: int
) -> None:
    user = await add_user(db, clock)
    auth = Auth(db, clock)
    other = await auth.start(user)
    history = [await auth.start(user)]
    for _ in range(age):
        clock.advance(seconds=1)
        history.append(await auth.refresh(history[-1].refresh_token))
    latest = auth.claims(history[-1])
    with pytest.raises(InvalidToken):
        await auth.refresh(history[-1 - age].refresh_token)
    assert not await auth.sessions.is_active(latest)
    revoked_at = await scalar(
        engine, f"SELECT revoked_at FROM sessions WHERE id = '{latest.session_id}'"
    )
    assert revoked_at == clock.now()
    for pair in history:  # the current token is dead too, and so is every older one
        with pytest.raises(InvalidToken):
            await auth.refresh(pair.refresh_token)
    stored = await scalar(
        engine, f"SELECT refresh_hash FROM sessions WHERE id = '{latest.session_id}'"
    )
    assert stored == auth.hash_of(history[-1].refresh_token)  # reuse swapped nothing
    assert await auth.sessions.is_active(auth.claims(other))  # another session is untouched
    await auth.refresh(other.refresh_token)


def forgeries(token: str, session_id: UUID) -> dict[str, str]:
    """Tokens this service never issued, most of them naming a real session."""
    other_secret, _ = MacRefreshTokens(b"another-secret-entirely-0123456789").issue(session_id)
    raw = base64.urlsafe_b64decode(token + "==")

    def encode(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    middle = len(token) // 2
    return {
        "another secret": other_secret,
        "MAC bit flipped": encode(raw[:-1] + bytes([raw[-1] ^ 1])),
        "random part bit flipped": encode(raw[:20] + bytes([raw[20] ^ 0x80]) + raw[21:]),
        "another session id": encode(UUID(int=session_id.int ^ 1).bytes + raw[16:]),
        "MAC stripped": encode(raw[:-16]),
        "garbled middle": token[:middle]
        + ("A" if token[middle] != "A" else "B")
        + token[middle + 1 :],
        "truncated by one": token[:-1],
        "truncated to half": token[:middle],
        "one character added": token + "A",
        "non-ascii": token[:-1] + "é",
        "NUL": token[:-1] + "\x00",
        "hex": raw.hex(),
        "empty": "",
        "a session id": str(session_id),
    }


async def test_forged_or_mangled_refresh_tokens_cost_no_statement_and_change_nothing(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    user = await add_user(db, clock)
    auth = Auth(db, clock)
    pair = await auth.start(user)
    claims = auth.claims(pair)
    before = await rows(engine, SESSION_ROWS)
    with counting_statements(engine) as statements:
        for name, forged in forgeries(pair.refresh_token, claims.session_id).items():
            assert auth.refresh_tokens.read(forged) is None, name
            with pytest.raises(InvalidToken):
                await auth.refresh(forged)
        await asyncio.sleep(0)
    assert statements == []  # not a token this service made: nothing is looked up
    assert await rows(engine, SESSION_ROWS) == before
    assert await auth.sessions.is_active(claims)
    assert (await auth.refresh(pair.refresh_token)).user == user


async def test_a_refresh_costs_one_statement_and_a_reuse_two(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    user = await add_user(db, clock)
    auth = Auth(db, clock)
    pair = await auth.start(user)
    with counting_statements(engine) as statements:
        rotated = await auth.refresh(pair.refresh_token)
        await asyncio.sleep(0)
    assert len(statements) == 1, statements  # the user comes back with the swap
    assert rotated.user == user
    with counting_statements(engine) as statements:
        with pytest.raises(InvalidToken):
            await auth.refresh(pair.refresh_token)
        await asyncio.sleep(0)
    assert len(statements) == 2, statements


# -- at most max_sessions live sessions per user -----------------------------------------------


async def start_at(
    sessions: PostgresSessionRepository, clock: FakeClock, user: User, *, max_sessions: int
) -> Session:
    now = clock.now()
    session = Session(ids.new_id(), user.id, now, now + timedelta(days=14))
    await sessions.start(session, session.id.bytes, max_sessions=max_sessions)
    clock.advance(minutes=1)
    return session


async def session_ids(engine: AsyncEngine) -> set[UUID]:
    return {row.id for row in await rows(engine, "SELECT id FROM sessions")}


async def test_starting_beyond_max_sessions_forgets_the_stalest(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    ada = await add_user(db, clock)
    bob = await add_user(db, clock, "bob@example.com")
    sessions = PostgresSessionRepository(db, clock)
    bobs = [await start_at(sessions, clock, bob, max_sessions=3) for _ in range(3)]
    first, second, third = [await start_at(sessions, clock, ada, max_sessions=3) for _ in range(3)]
    assert await session_ids(engine) == {first.id, second.id, third.id} | {s.id for s in bobs}
    # refreshing the oldest makes it the most recently used
    rotated = await sessions.rotate(first.id, first.id.bytes, b"new", clock.now())
    assert isinstance(rotated, Rotated)
    clock.advance(minutes=1)
    with counting_statements(engine) as statements:
        fourth = await start_at(sessions, clock, ada, max_sessions=3)
        await asyncio.sleep(0)
    assert len(statements) == 1, statements  # evicting is part of the one statement
    assert await session_ids(engine) == {first.id, third.id, fourth.id} | {s.id for s in bobs}
    fifth = await start_at(sessions, clock, ada, max_sessions=3)
    assert await session_ids(engine) == {first.id, fourth.id, fifth.id} | {s.id for s in bobs}
    # an evicted session is gone: its token is unknown, not reused
    assert await sessions.rotate(second.id, second.id.bytes, b"x", clock.now()) is None
    assert not await sessions.is_active(AccessClaims(ada.id, second.id))
    for session in (first, fourth, fifth, *bobs):
        assert await sessions.is_active(AccessClaims(session.user_id, session.id))


async def test_dead_sessions_do_not_count_against_max_sessions(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    ada = await add_user(db, clock)
    sessions = PostgresSessionRepository(db, clock)
    revoked = await start_at(sessions, clock, ada, max_sessions=3)
    assert await sessions.revoke(AccessClaims(ada.id, revoked.id))
    short = Session(ids.new_id(), ada.id, clock.now(), clock.now() + timedelta(seconds=30))
    await sessions.start(short, b"short", max_sessions=3)
    clock.advance(minutes=1)  # expired now
    kept = [await start_at(sessions, clock, ada, max_sessions=3) for _ in range(3)]
    assert await session_ids(engine) == {s.id for s in kept}


async def test_max_sessions_through_the_use_cases(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    user = await add_user(db, clock)
    auth = Auth(db, clock, max_sessions=3)
    pairs = []
    for _ in range(3):
        pairs.append(await auth.start(user))
        clock.advance(minutes=1)
    pairs[0] = await auth.refresh(pairs[0].refresh_token)  # protects the first session
    clock.advance(minutes=1)
    pairs.append(await auth.start(user))
    assert await session_ids(engine) == {auth.claims(p).session_id for p in pairs} - {
        auth.claims(pairs[1]).session_id
    }
    assert not await auth.sessions.is_active(auth.claims(pairs[1]))
    with pytest.raises(InvalidToken):
        await auth.refresh(pairs[1].refresh_token)
    for pair in (pairs[0], pairs[2], pairs[3]):
        await auth.refresh(pair.refresh_token)


# -- at most max_tasks tasks per user ------------------------------------------------------------


async def test_adding_beyond_max_tasks_is_refused_and_writes_nothing(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    ada, bob = await a_caller(db, clock), await a_caller(db, clock, "bob@example.com")
    repository = PostgresTaskRepository(db, clock)
    for n in range(3):
        task = new_task(ids.new_id(), ada.user_id, TaskChanges(title=f"t{n}"), NOW)
        assert await repository.add(ada, task, max_tasks=3)
    before = await rows(engine, "SELECT * FROM tasks ORDER BY id")
    extra = new_task(ids.new_id(), ada.user_id, TaskChanges(title="one too many"), NOW)
    with pytest.raises(QuotaExceeded):
        await repository.add(ada, extra, max_tasks=3)
    assert await rows(engine, "SELECT * FROM tasks ORDER BY id") == before
    with counting_statements(engine) as statements:
        assert await repository.add(ada, extra, max_tasks=4)  # the quota is the caller's argument
        await asyncio.sleep(0)
    assert len(statements) == 1, statements  # the count is part of the one statement
    bobs = new_task(ids.new_id(), bob.user_id, TaskChanges(title="bob's"), NOW)
    assert await repository.add(bob, bobs, max_tasks=1)  # ada's tasks are not bob's
    # a dead session is told as such, full or not
    assert await PostgresSessionRepository(db, clock).revoke(ada)
    late = new_task(ids.new_id(), ada.user_id, TaskChanges(title="late"), NOW)
    assert not await repository.add(ada, late, max_tasks=4)
    assert not await repository.add(ada, late, max_tasks=100)
    assert not await repository.add(ada, late, max_tasks=0)
    clock.advance(days=14)  # and so is an expired one
    assert not await repository.add(bob, late, max_tasks=1)
    assert await scalar(engine, f"SELECT count(*) FROM tasks WHERE id = '{late.id}'") == 0
    assert await scalar(engine, "SELECT count(*) FROM tasks") == 5


async def test_concurrent_adds_never_exceed_max_tasks(
    engine: AsyncEngine, db: Database, clock: FakeClock
) -> None:
    ada = await a_caller(db, clock)

    async def add(n: int) -> bool | None:
        async with database(engine) as own:  # one request each
            task = new_task(ids.new_id(), ada.user_id, TaskChanges(title=f"t{n}"), NOW)
            try:
                return await PostgresTaskRepository(own, clock).add(ada, task, max_tasks=5)
            except QuotaExceeded:
                return None

    outcomes = await asyncio.gather(*(add(n) for n in range(20)))
    assert await scalar(engine, "SELECT count(*) FROM tasks") == 5
    assert outcomes.count(True) == 5
    assert outcomes.count(None) == 15
