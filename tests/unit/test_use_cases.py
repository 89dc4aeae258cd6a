"""Use cases with fakes: outcomes, not calls."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from adapters.security.common_passwords import CommonPasswords
from application.auth import (
    GetCurrentUser,
    LogIn,
    LogOut,
    LogOutEverywhere,
    RefreshSession,
    RegisterUser,
    SessionPolicy,
    SessionStarter,
)
from application.dto import Completion, Credentials, Registration, TaskListing, TaskWrite
from application.ports import Absence, AccessClaims
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
from domain.tasks import TaskChanges, TaskQuery, new_task
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
        self.users = MemoryUserRepository(self.store, self.clock)
        self.sessions = MemorySessionRepository(self.store, self.clock)
        self.tasks = MemoryTaskRepository(self.store, self.clock)
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
        return LogIn(self.users, self.hasher, self.limiter, self.starter)

    def refresh(self) -> RefreshSession:
        return RefreshSession(self.users, self.sessions, self.tokens, self.clock)

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
    assert world.uow.begun
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
    assert not await world.sessions.is_active(claims)


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
    await LogOutEverywhere(world.identity(claims), world.sessions)()
    assert not await world.sessions.is_active(claims)
    assert not await world.sessions.is_active(other)
    with pytest.raises(InvalidToken):
        await GetCurrentUser(world.identity(None), world.users)()
    for ended in (claims, other):
        with pytest.raises(InvalidToken):
            await GetCurrentUser(world.identity(ended), world.users)()
    with pytest.raises(InvalidToken):  # the caller's session had ended already
        await LogOutEverywhere(world.identity(other), world.sessions)()


async def test_tasks_of_one_user_are_invisible_to_another(world: World) -> None:
    ada, bob = await new_account(world), await new_account(world, "bob@example.com")
    as_ada, as_bob = world.identity(ada), world.identity(bob)
    task = await CreateTask(as_ada, world.tasks, world.ids, world.clock)(
        TaskChanges(title="Ada's", completed=True)
    )
    with pytest.raises(TaskNotFound):
        await GetTask(as_bob, world.tasks)(task.id)
    with pytest.raises(TaskNotFound):
        await UpdateTask(as_bob, world.tasks, world.clock)(
            TaskWrite(task.id, TaskChanges(title="mine"))
        )
    with pytest.raises(TaskNotFound):
        await CompleteTask(as_bob, world.tasks, world.clock)(Completion(task.id))
    with pytest.raises(TaskNotFound):
        await DeleteTask(as_bob, world.tasks)(task.id)
    assert await ClearCompletedTasks(as_bob, world.tasks)() == 0
    page = await ListTasks(as_bob, world.tasks)(TaskListing(TaskQuery(), limit=10))
    assert (page.tasks, page.total) == ([], 0)
    assert (await GetTask(as_ada, world.tasks)(task.id)).title == "Ada's"


async def test_stale_version_is_a_mismatch_and_changes_nothing(world: World) -> None:
    identity = world.identity(await new_account(world))
    task = await CreateTask(identity, world.tasks, world.ids, world.clock)(TaskChanges(title="v1"))
    update = UpdateTask(identity, world.tasks, world.clock)
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
    task = await CreateTask(identity, world.tasks, world.ids, world.clock)(TaskChanges(title="t"))
    complete = CompleteTask(identity, world.tasks, world.clock)
    assert (await complete(Completion(task.id))).completed is True
    assert (await complete(Completion(task.id))).completed is False
    assert (await complete(Completion(task.id, completed=False))).completed is False
    final = await complete(Completion(task.id, completed=True))
    assert (final.completed, final.version) == (True, 5)


async def test_logging_in_forgets_the_users_dead_sessions(world: World) -> None:
    claims = await new_account(world)
    await new_account(world, "bob@example.com")
    await LogOutEverywhere(world.identity(claims), world.sessions)()
    expiring = await world.log_in()(Credentials("ada@example.com", PASSWORD))
    world.clock.advance(days=15)
    await world.log_in()(Credentials("ada@example.com", PASSWORD))
    ada_sessions = [s for s in world.store.sessions.values() if s.session.user_id == claims.user_id]
    assert len(ada_sessions) == 1  # the revoked one and the expired one are gone
    assert len(world.store.sessions) == 2  # bob's is untouched
    # ...and so are the refresh tokens of the forgotten sessions.
    assert len(world.store.refresh_tokens) == 2
    assert {t.session_id for t in world.store.refresh_tokens.values()} == set(world.store.sessions)
    with pytest.raises(InvalidToken):
        await world.refresh()(expiring.refresh_token)


async def test_log_out_ends_the_callers_session_once_and_no_other(world: World) -> None:
    claims = await new_account(world)
    other = world.tokens.verify_access(
        (await world.log_in()(Credentials("ada@example.com", PASSWORD))).access_token
    )
    await LogOut(world.identity(claims), world.sessions)()
    assert not await world.sessions.is_active(claims)
    assert await world.sessions.is_active(other)
    with pytest.raises(InvalidToken):
        await LogOut(world.identity(claims), world.sessions)()
    assert (await GetCurrentUser(world.identity(other), world.users)()).email == "ada@example.com"


@pytest.mark.parametrize("ending", ["logged out", "expired"])
async def test_task_use_cases_refuse_a_caller_whose_session_ended(
    world: World, ending: str
) -> None:
    claims = await new_account(world)
    identity = world.identity(claims)
    task = await CreateTask(identity, world.tasks, world.ids, world.clock)(
        TaskChanges(title="kept", completed=True)
    )
    if ending == "logged out":
        await LogOut(identity, world.sessions)()
    else:
        world.clock.advance(days=14)
    before = dict(world.store.tasks)
    with pytest.raises(InvalidToken):
        await CreateTask(identity, world.tasks, world.ids, world.clock)(TaskChanges(title="new"))
    with pytest.raises(InvalidToken):
        await GetTask(identity, world.tasks)(task.id)
    with pytest.raises(InvalidToken):
        await GetTask(identity, world.tasks)(UUID(int=99))
    with pytest.raises(InvalidToken):
        await ListTasks(identity, world.tasks)(TaskListing(TaskQuery(), limit=10))
    with pytest.raises(InvalidToken):
        await UpdateTask(identity, world.tasks, world.clock)(
            TaskWrite(task.id, TaskChanges(title="changed"))
        )
    with pytest.raises(InvalidToken):
        await CompleteTask(identity, world.tasks, world.clock)(Completion(task.id))
    with pytest.raises(InvalidToken):
        await DeleteTask(identity, world.tasks)(task.id, frozenset({1}))
    with pytest.raises(InvalidToken):
        await ClearCompletedTasks(identity, world.tasks)()
    with pytest.raises(InvalidToken):
        await GetCurrentUser(identity, world.users)()
    assert world.store.tasks == before


async def test_delete_tells_a_stale_version_from_a_missing_task(world: World) -> None:
    identity = world.identity(await new_account(world))
    task = await CreateTask(identity, world.tasks, world.ids, world.clock)(TaskChanges(title="t"))
    delete = DeleteTask(identity, world.tasks)
    with pytest.raises(VersionMismatch):
        await delete(task.id, frozenset({2}))
    with pytest.raises(TaskNotFound):
        await delete(UUID(int=99), frozenset({1}))
    await delete(task.id, frozenset({1}))
    with pytest.raises(TaskNotFound):
        await delete(task.id)


# -- the memory repositories themselves (they are the storage fakes) ---------------------------


async def test_memory_absence_tells_session_ended_no_task_and_stale_version_apart(
    world: World,
) -> None:
    ada, bob = await new_account(world), await new_account(world, "bob@example.com")
    task = new_task(world.ids.new_id(), ada.user_id, TaskChanges(title="t"), world.clock.now())
    assert await world.tasks.add(ada, task)
    assert await world.tasks.absence(ada, task.id) is Absence.STALE_VERSION
    assert await world.tasks.absence(ada, UUID(int=99)) is Absence.NO_TASK
    assert await world.tasks.absence(bob, task.id) is Absence.NO_TASK  # not bob's
    assert await world.sessions.revoke(ada)
    assert await world.tasks.absence(ada, task.id) is Absence.SESSION_ENDED
    assert await world.tasks.absence(ada, UUID(int=99)) is Absence.SESSION_ENDED


async def test_memory_repositories_give_an_ended_or_foreign_session_nothing(
    world: World,
) -> None:
    ada = await new_account(world)
    now = world.clock.now()
    done = new_task(world.ids.new_id(), ada.user_id, TaskChanges(title="d", completed=True), now)
    assert await world.tasks.add(ada, done)

    async def gets_nothing(caller: AccessClaims) -> None:
        extra = new_task(world.ids.new_id(), caller.user_id, TaskChanges(title="x"), now)
        assert not await world.tasks.add(caller, extra)
        assert await world.tasks.get(caller, done.id) is None
        changes = TaskChanges(title="changed")
        assert (
            await world.tasks.update(caller, done.id, changes, expected_versions=None, now=now)
            is None
        )
        assert not await world.tasks.delete(caller, done.id, expected_versions=None)
        assert await world.tasks.delete_completed(caller) is None
        assert await world.tasks.page(caller, TaskQuery(), None, 10) is None
        assert await world.users.current(caller) is None
        assert not await world.sessions.is_active(caller)
        assert not await world.sessions.revoke(caller)
        assert not await world.sessions.revoke_all(caller)
        assert world.store.tasks == {done.id: done}

    # A live session, named with another user's id: not the caller's session.
    await gets_nothing(AccessClaims(UUID(int=12345), ada.session_id))
    assert await world.sessions.is_active(ada)
    assert await world.sessions.revoke(ada)
    await gets_nothing(ada)
