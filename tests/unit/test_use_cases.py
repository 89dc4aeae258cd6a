"""Use cases with fakes: outcomes, not calls."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from adapters.security.common_passwords import CommonPasswords
from application.auth import (
    GetCurrentUser,
    LogIn,
    LogOutEverywhere,
    RefreshSession,
    RegisterUser,
    SessionPolicy,
    SessionStarter,
)
from application.dto import Completion, Credentials, Registration, TaskListing, TaskWrite
from application.ports import AccessClaims
from application.tasks import (
    ClearCompletedTasks,
    CompleteTask,
    CreateTask,
    DeleteTask,
    GetTask,
    ListTasks,
    UpdateTask,
)
from domain.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    TaskNotFound,
    TooManyAttempts,
    ValidationFailed,
    VersionMismatch,
)
from domain.tasks import TaskChanges, TaskQuery
from tests.fakes import (
    FakeClock,
    FakeHasher,
    FakeIdentity,
    FakeLimiter,
    FakeTokens,
    MemorySessionRepository,
    MemoryStore,
    MemoryTaskRepository,
    MemoryUnitOfWork,
    MemoryUserRepository,
    SequentialIds,
)

PASSWORD = "correct horse battery"


class World:
    """One store, one clock, and the use cases wired as the container would wire them."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.clock = FakeClock()
        self.ids = SequentialIds(counter=1000)
        self.hasher = FakeHasher()
        self.tokens = FakeTokens()
        self.limiter = FakeLimiter()
        self.uow = MemoryUnitOfWork()
        self.users = MemoryUserRepository(self.store)
        self.sessions = MemorySessionRepository(self.store)
        self.tasks = MemoryTaskRepository(self.store)
        self.starter = SessionStarter(
            self.sessions, self.tokens, self.ids, self.clock, SessionPolicy(timedelta(days=14))
        )

    def register(self) -> RegisterUser:
        return RegisterUser(
            self.users,
            self.hasher,
            CommonPasswords.bundled(),
            self.starter,
            self.ids,
            self.clock,
            self.uow,
        )

    def log_in(self) -> LogIn:
        return LogIn(self.users, self.hasher, self.limiter, self.starter, self.uow)

    def refresh(self) -> RefreshSession:
        return RefreshSession(self.users, self.sessions, self.tokens, self.clock, self.uow)

    def identity(self, claims: AccessClaims | None) -> FakeIdentity:
        return FakeIdentity(claims)


@pytest.fixture
def world() -> World:
    return World()


async def new_account(world: World, email: str = "ada@example.com") -> AccessClaims:
    pair = await world.register()(Registration(email=email, password=PASSWORD, name="Ada"))
    return world.tokens.verify_access(pair.access_token)


async def test_register_commits_a_user_with_a_hashed_password(world: World) -> None:
    pair = await world.register()(Registration(email=" Ada@Example.com ", password=PASSWORD))
    assert world.uow.committed
    assert pair.user.email == "Ada@Example.com"
    assert pair.user.password_hash == f"fake-v2${PASSWORD}"
    assert pair.refresh_expires_in == 14 * 86400


async def test_register_checks_policy_before_uniqueness(world: World) -> None:
    await new_account(world)
    with pytest.raises(ValidationFailed):
        await world.register()(Registration(email="ADA@example.com", password="password"))
    with pytest.raises(EmailTaken):
        await world.register()(Registration(email="ADA@example.com", password=PASSWORD))


async def test_unknown_email_spends_a_dummy_verification(world: World) -> None:
    with pytest.raises(InvalidCredentials):
        await world.log_in()(Credentials("nobody@example.com", PASSWORD))
    assert world.hasher.dummy_verifications == 1


async def test_failed_logins_lock_the_email_until_success_resets(world: World) -> None:
    await new_account(world)
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await world.log_in()(Credentials("ada@example.com", "wrong password"))
    await world.log_in()(Credentials("ADA@example.com", PASSWORD))
    assert world.limiter.failures == {}
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await world.log_in()(Credentials("ada@example.com", "wrong password"))
    with pytest.raises(TooManyAttempts):
        await world.log_in()(Credentials("ada@example.com", PASSWORD))


async def test_login_upgrades_outdated_hashes(world: World) -> None:
    world.hasher.version = 1
    claims = await new_account(world)
    world.hasher.version = 2
    await world.log_in()(Credentials("ada@example.com", PASSWORD))
    user = await world.users.get(claims.user_id)
    assert user is not None
    assert user.password_hash.startswith("fake-v2$")


async def test_refresh_rotates_and_reuse_revokes_the_session(world: World) -> None:
    first = await world.register()(Registration(email="ada@example.com", password=PASSWORD))
    second = await world.refresh()(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    world.clock.advance(days=1)
    third = await world.refresh()(second.refresh_token)
    assert third.refresh_expires_in == 13 * 86400  # rotation never extends the session
    with pytest.raises(InvalidToken):
        await world.refresh()(first.refresh_token)
    with pytest.raises(InvalidToken):
        await world.refresh()(third.refresh_token)
    claims = world.tokens.verify_access(third.access_token)
    assert not await world.sessions.is_active(claims.session_id, claims.user_id, world.clock.now())


async def test_refresh_tokens_expire_with_the_session(world: World) -> None:
    pair = await world.register()(Registration(email="ada@example.com", password=PASSWORD))
    world.clock.advance(days=14, seconds=1)
    with pytest.raises(InvalidToken):
        await world.refresh()(pair.refresh_token)


async def test_log_out_everywhere_ends_every_session(world: World) -> None:
    claims = await new_account(world)
    other = world.tokens.verify_access(
        (await world.log_in()(Credentials("ada@example.com", PASSWORD))).access_token
    )
    await LogOutEverywhere(world.identity(claims), world.sessions, world.clock, world.uow)()
    now = world.clock.now()
    assert not await world.sessions.is_active(claims.session_id, claims.user_id, now)
    assert not await world.sessions.is_active(other.session_id, other.user_id, now)
    with pytest.raises(InvalidToken):
        await GetCurrentUser(world.identity(None), world.users)()


async def test_tasks_of_one_user_are_invisible_to_another(world: World) -> None:
    ada, bob = await new_account(world), await new_account(world, "bob@example.com")
    as_ada, as_bob = world.identity(ada), world.identity(bob)
    task = await CreateTask(as_ada, world.tasks, world.ids, world.clock, world.uow)(
        TaskChanges(title="Ada's", completed=True)
    )
    with pytest.raises(TaskNotFound):
        await GetTask(as_bob, world.tasks)(task.id)
    with pytest.raises(TaskNotFound):
        await UpdateTask(as_bob, world.tasks, world.clock, world.uow)(
            TaskWrite(task.id, TaskChanges(title="mine"))
        )
    with pytest.raises(TaskNotFound):
        await CompleteTask(as_bob, world.tasks, world.clock, world.uow)(Completion(task.id))
    with pytest.raises(TaskNotFound):
        await DeleteTask(as_bob, world.tasks, world.uow)(task.id)
    assert await ClearCompletedTasks(as_bob, world.tasks, world.uow)() == 0
    page = await ListTasks(as_bob, world.tasks)(TaskListing(TaskQuery(), limit=10))
    assert (page.tasks, page.total) == ([], 0)
    assert (await GetTask(as_ada, world.tasks)(task.id)).title == "Ada's"


async def test_stale_version_is_a_mismatch_and_changes_nothing(world: World) -> None:
    identity = world.identity(await new_account(world))
    task = await CreateTask(identity, world.tasks, world.ids, world.clock, world.uow)(
        TaskChanges(title="v1")
    )
    update = UpdateTask(identity, world.tasks, world.clock, world.uow)
    with pytest.raises(VersionMismatch):
        await update(TaskWrite(task.id, TaskChanges(title="v2"), expected_versions=frozenset({7})))
    assert (await GetTask(identity, world.tasks)(task.id)).title == "v1"
    updated = await update(
        TaskWrite(task.id, TaskChanges(title="v2"), expected_versions=frozenset({1}))
    )
    assert (updated.title, updated.version) == ("v2", 2)
    with pytest.raises(TaskNotFound):
        await update(
            TaskWrite(UUID(int=99), TaskChanges(title="x"), expected_versions=frozenset({1}))
        )


async def test_complete_toggles_without_a_value_and_sets_with_one(world: World) -> None:
    identity = world.identity(await new_account(world))
    task = await CreateTask(identity, world.tasks, world.ids, world.clock, world.uow)(
        TaskChanges(title="t")
    )
    complete = CompleteTask(identity, world.tasks, world.clock, world.uow)
    assert (await complete(Completion(task.id))).completed is True
    assert (await complete(Completion(task.id))).completed is False
    assert (await complete(Completion(task.id, completed=False))).completed is False
    final = await complete(Completion(task.id, completed=True))
    assert (final.completed, final.version) == (True, 5)


async def test_logging_in_forgets_the_users_dead_sessions(world: World) -> None:
    claims = await new_account(world)
    await new_account(world, "bob@example.com")
    await LogOutEverywhere(world.identity(claims), world.sessions, world.clock, world.uow)()
    expiring = await world.log_in()(Credentials("ada@example.com", PASSWORD))
    world.clock.advance(days=15)
    await world.log_in()(Credentials("ada@example.com", PASSWORD))
    ada_sessions = [s for s in world.store.sessions.values() if s.session.user_id == claims.user_id]
    assert len(ada_sessions) == 1  # the revoked one and the expired one are gone
    assert len(world.store.sessions) == 2  # bob's is untouched
    with pytest.raises(InvalidToken):
        await world.refresh()(expiring.refresh_token)
