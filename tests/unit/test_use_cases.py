"""Use cases with fakes: outcomes, not calls."""

from __future__ import annotations

import base64
import copy
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.memory.store import StoredSession
from adapters.security.common_passwords import CommonPasswords
from adapters.security.refresh_tokens import MacRefreshTokens
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
from application.ports import Absence, AccessClaims, Reused, Rotated
from application.tasks import (
    ClearCompletedTasks,
    CompleteTask,
    CreateTask,
    DeleteTask,
    GetTask,
    ListTasks,
    TaskPolicy,
    UpdateTask,
)
from domain.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    QuotaExceeded,
    TaskNotFound,
    TooManyAttempts,
    ValidationFailed,
    VersionMismatch,
)
from domain.task_listing import TaskQuery
from domain.tasks import TaskChanges, new_task
from domain.users import Session
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
REFRESH_SECRET = b"unit-test-refresh-token-secret-0123456789"
MAX_TASKS = TaskPolicy().max_tasks


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
        self.refresh_tokens = MacRefreshTokens(REFRESH_SECRET)
        self.task_policy = TaskPolicy()
        self.use_policy(SessionPolicy(timedelta(days=14)))

    def use_policy(self, policy: SessionPolicy) -> None:
        self.starter = SessionStarter(
            self.sessions, self.tokens, self.refresh_tokens, self.ids, self.clock, policy
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
        return RefreshSession(self.sessions, self.tokens, self.refresh_tokens, self.clock)

    def log_out(self, identity: FakeIdentity) -> LogOut:
        return LogOut(identity, self.sessions, self.refresh_tokens, self.clock)

    def create(self, identity: FakeIdentity) -> CreateTask:
        return CreateTask(identity, self.tasks, self.ids, self.clock, self.task_policy)

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
    task = await world.create(as_ada)(TaskChanges(title="Ada's", completed=True))
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
    task = await world.create(identity)(TaskChanges(title="v1"))
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
    task = await world.create(identity)(TaskChanges(title="t"))
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
    # ...and their token hashes with them: what is left is one current hash per session.
    hashes = [s.refresh_hash for s in world.store.sessions.values()]
    assert len(set(hashes)) == 2
    with pytest.raises(InvalidToken):
        await world.refresh()(expiring.refresh_token)


async def test_log_out_ends_the_callers_session_once_and_no_other(world: World) -> None:
    claims = await new_account(world)
    other = world.tokens.verify_access(
        (await world.log_in()(Credentials("ada@example.com", PASSWORD))).access_token
    )
    await world.log_out(world.identity(claims))()
    assert not await world.sessions.is_active(claims)
    assert await world.sessions.is_active(other)
    with pytest.raises(InvalidToken):
        await world.log_out(world.identity(claims))()
    assert (await GetCurrentUser(world.identity(other), world.users)()).email == "ada@example.com"


@pytest.mark.parametrize("ending", ["logged out", "expired"])
async def test_task_use_cases_refuse_a_caller_whose_session_ended(
    world: World, ending: str
) -> None:
    claims = await new_account(world)
    identity = world.identity(claims)
    task = await world.create(identity)(TaskChanges(title="kept", completed=True))
    if ending == "logged out":
        await world.log_out(identity)()
    else:
        world.clock.advance(days=14)
    before = dict(world.store.tasks)
    with pytest.raises(InvalidToken):
        await world.create(identity)(TaskChanges(title="new"))
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
    task = await world.create(identity)(TaskChanges(title="t"))
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
    assert await world.tasks.add(ada, task, max_tasks=MAX_TASKS)
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
    assert await world.tasks.add(ada, done, max_tasks=MAX_TASKS)

    async def gets_nothing(caller: AccessClaims) -> None:
        extra = new_task(world.ids.new_id(), caller.user_id, TaskChanges(title="x"), now)
        assert not await world.tasks.add(caller, extra, max_tasks=MAX_TASKS)
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


# -- refresh tokens: one hash per session, reuse, forgeries ------------------------------------


def stored(world: World, claims: AccessClaims) -> StoredSession:
    return world.store.sessions[claims.session_id]


def current_hash(world: World, refresh_token: str) -> bytes:
    read = world.refresh_tokens.read(refresh_token)
    assert read is not None
    return read[1]


async def test_a_session_keeps_one_hash_however_many_rotations(world: World) -> None:
    pair = await world.register()(Registration(email="ada@example.com", password=PASSWORD))
    session_id = world.tokens.verify_access(pair.access_token).session_id
    seen = {pair.refresh_token}
    for _ in range(300):
        world.clock.advance(seconds=1)
        pair = await world.refresh()(pair.refresh_token)
        seen.add(pair.refresh_token)
    assert len(seen) == 301  # every rotation gave a new token...
    assert list(world.store.sessions) == [session_id]  # ...and nothing more was kept
    kept = world.store.sessions[session_id]
    assert kept.refresh_hash == current_hash(world, pair.refresh_token)
    assert kept.refresh_hash not in {pair.refresh_token.encode(), b""}
    assert kept.refreshed_at == world.clock.now()
    assert kept.revoked_at is None
    assert (await world.refresh()(pair.refresh_token)).user.email == "ada@example.com"


@pytest.mark.parametrize("age", [2, 3, 10])
async def test_a_token_rotations_old_is_reuse_and_ends_the_session(world: World, age: int) -> None:
    pair = await world.register()(Registration(email="ada@example.com", password=PASSWORD))
    other = await world.log_in()(Credentials("ada@example.com", PASSWORD))
    history = [pair]
    for _ in range(age):
        history.append(await world.refresh()(history[-1].refresh_token))
    with pytest.raises(InvalidToken):
        await world.refresh()(history[-1 - age].refresh_token)
    latest = world.tokens.verify_access(history[-1].access_token)
    assert not await world.sessions.is_active(latest)
    assert stored(world, latest).revoked_at == world.clock.now()
    for pair_ in history:  # the current token is dead too, and so is every older one
        with pytest.raises(InvalidToken):
            await world.refresh()(pair_.refresh_token)
    # another session of the same user is untouched
    assert await world.sessions.is_active(world.tokens.verify_access(other.access_token))
    await world.refresh()(other.refresh_token)


async def test_the_repository_calls_any_hash_but_the_current_one_reuse(world: World) -> None:
    claims = await new_account(world)
    kept = stored(world, claims)
    first = kept.refresh_hash
    sessions = world.sessions
    now = world.clock.now()
    rotated = await sessions.rotate(claims.session_id, first, b"second", now)
    assert isinstance(rotated, Rotated)
    assert rotated.session == kept.session
    assert rotated.user == await world.users.get(claims.user_id)
    assert await sessions.rotate(claims.session_id, b"second", b"third", now) == Rotated(
        kept.session, rotated.user
    )
    assert kept.refresh_hash == b"third"
    reused = await sessions.rotate(claims.session_id, first, b"fourth", now)  # two rotations old
    assert reused == Reused(claims.session_id, claims.user_id)
    assert kept.refresh_hash == b"third"  # nothing was swapped
    assert not await sessions.is_active(claims)
    assert await sessions.rotate(claims.session_id, b"third", b"fifth", now) is None  # revoked
    assert await sessions.rotate(UUID(int=424242), b"third", b"x", now) is None  # no session


def forgeries(world: World, token: str, session_id: UUID) -> dict[str, str]:
    """Tokens this service never issued, most of them naming a real session."""
    other_secret, _ = MacRefreshTokens(b"another-secret-entirely-0123456789").issue(session_id)
    raw = base64.urlsafe_b64decode(token + "==")
    flipped_mac = raw[:-1] + bytes([raw[-1] ^ 1])
    flipped_random = raw[:20] + bytes([raw[20] ^ 0x80]) + raw[21:]
    other_session = UUID(int=session_id.int ^ 1).bytes + raw[16:]

    def encode(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    middle = len(token) // 2
    swapped = "A" if token[middle] != "A" else "B"
    return {
        "another secret": other_secret,
        "MAC bit flipped": encode(flipped_mac),
        "random part bit flipped": encode(flipped_random),
        "another session id under the old MAC": encode(other_session),
        "MAC stripped": encode(raw[:-16]),
        "garbled middle": token[:middle] + swapped + token[middle + 1 :],
        "truncated by one": token[:-1],
        "truncated to half": token[:middle],
        "one character added": token + "A",
        "padded": token + "==",
        "spaces around": f" {token} ",
        "non-ascii": token[:-1] + "é",
        "standard base64": base64.b64encode(raw).decode(),
        "hex": raw.hex(),
        "empty": "",
        "garbage": "garbage",
        "an access token": world.tokens.issue_access(UUID(int=1), session_id, world.clock.now()),
        "a session id": str(session_id),
    }


async def test_forged_or_mangled_refresh_tokens_read_as_nothing_and_change_nothing(
    world: World,
) -> None:
    pair = await world.register()(Registration(email="ada@example.com", password=PASSWORD))
    claims = world.tokens.verify_access(pair.access_token)
    assert world.refresh_tokens.read(pair.refresh_token) == (
        claims.session_id,
        current_hash(world, pair.refresh_token),
    )
    before = copy.deepcopy(world.store)
    for name, forged in forgeries(world, pair.refresh_token, claims.session_id).items():
        assert forged != pair.refresh_token, name
        assert world.refresh_tokens.read(forged) is None, name
        with pytest.raises(InvalidToken):
            await world.refresh()(forged)
        assert world.store == before, name  # no session revoked, no hash swapped
    assert await world.sessions.is_active(claims)
    rotated = await world.refresh()(pair.refresh_token)  # the genuine token still works
    assert rotated.user.email == "ada@example.com"


def test_refresh_tokens_are_opaque_and_name_their_session() -> None:
    tokens = MacRefreshTokens(REFRESH_SECRET)
    session_id = UUID(int=7)
    issued = [tokens.issue(session_id) for _ in range(50)]
    assert len({token for token, _ in issued}) == 50
    assert len({hash_ for _, hash_ in issued}) == 50
    for token, hash_ in issued:
        assert len(token) >= 43
        assert token.encode() != hash_
        assert tokens.read(token) == (session_id, hash_)
        assert MacRefreshTokens(REFRESH_SECRET).read(token) == (session_id, hash_)
        assert MacRefreshTokens(REFRESH_SECRET + b"!").read(token) is None


# -- at most max_sessions live sessions per user -----------------------------------------------


async def start_at(world: World, user_id: UUID, *, max_sessions: int) -> Session:
    now = world.clock.now()
    session = Session(world.ids.new_id(), user_id, now, now + timedelta(days=14))
    _, refresh_hash = world.refresh_tokens.issue(session.id)
    await world.sessions.start(session, refresh_hash, max_sessions=max_sessions)
    world.clock.advance(minutes=1)
    return session


async def test_starting_beyond_max_sessions_forgets_the_stalest(world: World) -> None:
    ada = await new_account(world)
    bob = await new_account(world, "bob@example.com")
    world.store.sessions.pop(ada.session_id)
    first, second, third = [await start_at(world, ada.user_id, max_sessions=3) for _ in range(3)]
    assert {*world.store.sessions} == {first.id, second.id, third.id, bob.session_id}
    # refreshing the oldest makes it the most recently used
    kept = world.store.sessions[first.id]
    rotated = await world.sessions.rotate(first.id, kept.refresh_hash, b"new", world.clock.now())
    assert isinstance(rotated, Rotated)
    world.clock.advance(minutes=1)
    fourth = await start_at(world, ada.user_id, max_sessions=3)
    assert {*world.store.sessions} == {first.id, third.id, fourth.id, bob.session_id}
    fifth = await start_at(world, ada.user_id, max_sessions=3)
    assert {*world.store.sessions} == {first.id, fourth.id, fifth.id, bob.session_id}
    # the evicted session is gone: its token is unknown, not reused
    assert await world.sessions.rotate(second.id, b"whatever", b"x", world.clock.now()) is None
    assert not await world.sessions.is_active(AccessClaims(ada.user_id, second.id))
    assert await world.sessions.is_active(bob)


async def test_dead_sessions_do_not_count_against_max_sessions(world: World) -> None:
    ada = await new_account(world)
    live = await start_at(world, ada.user_id, max_sessions=3)
    assert await world.sessions.revoke(ada)
    revoked = AccessClaims(ada.user_id, live.id)
    assert await world.sessions.revoke(revoked)
    short = Session(world.ids.new_id(), ada.user_id, world.clock.now(), world.clock.now())
    await world.sessions.start(short, b"short", max_sessions=3)  # expired as soon as started
    kept = [await start_at(world, ada.user_id, max_sessions=3) for _ in range(3)]
    assert {*world.store.sessions} == {s.id for s in kept}


async def test_max_sessions_through_the_use_cases(world: World) -> None:
    world.use_policy(SessionPolicy(timedelta(days=14), max_sessions=3))
    registered = await world.register()(Registration(email="ada@example.com", password=PASSWORD))
    pairs = [registered]
    for _ in range(2):
        world.clock.advance(minutes=1)
        pairs.append(await world.log_in()(Credentials("ada@example.com", PASSWORD)))
    world.clock.advance(minutes=1)
    pairs[0] = await world.refresh()(pairs[0].refresh_token)  # protects the first session
    world.clock.advance(minutes=1)
    pairs.append(await world.log_in()(Credentials("ada@example.com", PASSWORD)))
    assert len(world.store.sessions) == 3
    evicted = world.tokens.verify_access(pairs[1].access_token)
    assert not await world.sessions.is_active(evicted)
    with pytest.raises(InvalidToken):
        await world.refresh()(pairs[1].refresh_token)
    for pair in (pairs[0], pairs[2], pairs[3]):
        await world.refresh()(pair.refresh_token)


# -- at most max_tasks tasks per user ------------------------------------------------------------


async def test_adding_beyond_max_tasks_is_refused_and_writes_nothing(world: World) -> None:
    ada, bob = await new_account(world), await new_account(world, "bob@example.com")
    now = world.clock.now()
    for n in range(3):
        task = new_task(world.ids.new_id(), ada.user_id, TaskChanges(title=f"t{n}"), now)
        assert await world.tasks.add(ada, task, max_tasks=3)
    before = dict(world.store.tasks)
    extra = new_task(world.ids.new_id(), ada.user_id, TaskChanges(title="one too many"), now)
    with pytest.raises(QuotaExceeded):
        await world.tasks.add(ada, extra, max_tasks=3)
    assert world.store.tasks == before
    assert await world.tasks.add(ada, extra, max_tasks=4)  # the quota is the caller's argument
    # another user's tasks are not counted
    bobs = new_task(world.ids.new_id(), bob.user_id, TaskChanges(title="bob's"), now)
    assert await world.tasks.add(bob, bobs, max_tasks=1)
    # a dead session is told as such, full or not
    assert await world.sessions.revoke(ada)
    late = new_task(world.ids.new_id(), ada.user_id, TaskChanges(title="late"), now)
    assert not await world.tasks.add(ada, late, max_tasks=3)
    assert not await world.tasks.add(ada, late, max_tasks=0)
    assert late.id not in world.store.tasks


async def test_create_task_enforces_the_task_policy(world: World) -> None:
    world.task_policy = TaskPolicy(max_tasks=2)
    claims = await new_account(world)
    create = world.create(world.identity(claims))
    for n in range(2):
        await create(TaskChanges(title=f"t{n}"))
    with pytest.raises(QuotaExceeded):
        await create(TaskChanges(title="third"))
    assert len(world.store.tasks) == 2
    await DeleteTask(world.identity(claims), world.tasks)(next(iter(world.store.tasks)))
    await create(TaskChanges(title="room again"))
    world.clock.advance(days=15)  # the session expired: that, not the quota, is the answer
    with pytest.raises(InvalidToken):
        await create(TaskChanges(title="late"))
