"""The account contract: users, session liveness, the session quota, refresh rotation."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from application.ports import Absence, AccessClaims, Reused, Rotated
from domain.errors import EmailTaken
from domain.task_listing import TaskQuery
from domain.tasks import TaskChanges
from domain.users import Session, User
from tests.contract.harness import LIFETIME, NOW, Storage

# -- users -----------------------------------------------------------------------------------


async def test_emails_are_unique_in_any_case(storage: Storage) -> None:
    user = await storage.add_user("Ada@Example.com")
    assert await storage.users.by_email("ada@EXAMPLE.com") == user
    assert await storage.users.get(user.id) == user
    with pytest.raises(EmailTaken):
        await storage.users.add(User(uuid4(), "ADA@example.COM", None, "h", NOW))
    assert await storage.users.by_email("grace@example.com") is None
    assert await storage.users.get(uuid4()) is None


async def test_a_new_password_hash_is_kept(storage: Storage) -> None:
    user = await storage.add_user()
    await storage.users.set_password_hash(user.id, "rehashed")
    stored = await storage.users.get(user.id)
    assert stored is not None
    assert stored.password_hash == "rehashed"


async def test_a_password_hash_for_no_user_changes_nothing(storage: Storage) -> None:
    user = await storage.add_user()
    await storage.users.set_password_hash(uuid4(), "nobody's")
    assert await storage.users.get(user.id) == user


async def test_the_current_user_is_the_live_callers(storage: Storage) -> None:
    user = await storage.add_user()
    caller = await storage.log_in(user)
    assert await storage.users.current(caller) == user
    assert await storage.sessions.is_active(caller)


# -- liveness --------------------------------------------------------------------------------


async def assert_acts_for_nobody(storage: Storage, caller: AccessClaims, task_id: UUID) -> None:
    """Every statement that acts for ``caller`` finds nothing."""
    now = storage.clock.now()
    assert await storage.users.current(caller) is None
    assert not await storage.sessions.is_active(caller)
    assert await storage.tasks.get(caller, task_id) is None
    assert await storage.tasks.page(caller, TaskQuery(), None, 10) is None
    assert (
        await storage.tasks.update(
            caller, task_id, TaskChanges(title="x"), expected_versions=None, now=now
        )
        is None
    )
    assert (
        await storage.tasks.update(
            caller, task_id, TaskChanges(), expected_versions=None, now=now, toggle_completed=True
        )
        is None
    )
    assert await storage.tasks.delete(caller, task_id, expected_versions=None) is False
    assert await storage.tasks.delete_completed(caller) is None
    assert await storage.tasks.absence(caller, task_id) is Absence.SESSION_ENDED
    assert await storage.sessions.revoke(caller) is False
    assert await storage.sessions.revoke_all(caller) is False


async def test_a_revoked_session_acts_for_nobody(storage: Storage) -> None:
    user = await storage.add_user()
    caller = await storage.log_in(user)
    task = await storage.add_task(caller, "kept", completed=True)
    assert await storage.sessions.revoke(caller)
    await assert_acts_for_nobody(storage, caller, task.id)
    added = await storage.tasks.add(caller, task, max_tasks=10)
    assert added is False
    # Nothing was changed: a new session of the same user sees the task as it was.
    again = await storage.log_in(user)
    assert await storage.tasks.get(again, task.id) == task


async def test_an_expired_session_acts_for_nobody(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller, "kept")
    storage.clock.advance(seconds=LIFETIME.total_seconds() - 1)
    assert await storage.sessions.is_active(caller)
    storage.clock.advance(seconds=1)  # at expires_at exactly: ended
    await assert_acts_for_nobody(storage, caller, task.id)
    assert await storage.tasks.add(caller, task, max_tasks=10) is False


@pytest.mark.parametrize("whose", ["another user's session", "no session at all"])
async def test_a_caller_naming_a_session_not_theirs_acts_for_nobody(
    storage: Storage, whose: str
) -> None:
    mine = await storage.caller()
    task = await storage.add_task(mine, "mine")
    other = await storage.caller()
    session_id = other.session_id if whose == "another user's session" else uuid4()
    forged = AccessClaims(mine.user_id, session_id)
    await assert_acts_for_nobody(storage, forged, task.id)
    assert await storage.sessions.is_active(other)  # the forgery ended nothing
    assert await storage.tasks.get(mine, task.id) == task


async def test_revoking_all_ends_every_session_of_the_user_only(storage: Storage) -> None:
    user = await storage.add_user()
    first, second = await storage.log_in(user), await storage.log_in(user)
    stranger = await storage.caller()
    assert await storage.sessions.revoke_all(first)
    assert not await storage.sessions.is_active(first)
    assert not await storage.sessions.is_active(second)
    assert await storage.sessions.is_active(stranger)


async def test_revoking_ends_only_the_callers_session(storage: Storage) -> None:
    user = await storage.add_user()
    first, second = await storage.log_in(user), await storage.log_in(user)
    assert await storage.sessions.revoke(first)
    assert not await storage.sessions.is_active(first)
    assert await storage.sessions.is_active(second)


# -- the session quota -----------------------------------------------------------------------


async def test_a_session_beyond_the_quota_ends_the_least_recently_used(storage: Storage) -> None:
    user = await storage.add_user()
    stranger = await storage.caller()
    callers = []
    for n in range(3):
        callers.append(await storage.log_in(user, refresh_hash=bytes([n]), max_sessions=3))
        storage.clock.advance(minutes=1)
    # The oldest is refreshed: now the second is the one least recently used.
    rotated = await storage.sessions.rotate(
        callers[0].session_id, bytes([0]), b"fresh", storage.clock.now()
    )
    assert isinstance(rotated, Rotated)
    storage.clock.advance(minutes=1)
    callers.append(await storage.log_in(user, max_sessions=3))
    live = [await storage.sessions.is_active(c) for c in callers]
    assert live == [True, False, True, True]
    # Evicted means forgotten: a token of it is neither rotated nor counted as reuse.
    gone = await storage.sessions.rotate(
        callers[1].session_id, bytes([1]), b"x", storage.clock.now()
    )
    assert gone is None
    assert await storage.sessions.is_active(stranger)  # another user's sessions never count


async def test_a_new_session_forgets_the_users_ended_ones(storage: Storage) -> None:
    user = await storage.add_user()
    revoked = await storage.log_in(user, refresh_hash=b"revoked")
    expiring = await storage.log_in(user, refresh_hash=b"expiring", lifetime=timedelta(hours=1))
    assert await storage.sessions.revoke(revoked)
    now = storage.clock.now()
    # Still remembered: an old token of either counts as reuse.
    assert await storage.sessions.rotate(revoked.session_id, b"old", b"x", now) == Reused(
        revoked.session_id, user.id
    )
    storage.clock.advance(hours=1)
    await storage.log_in(user, max_sessions=1)
    now = storage.clock.now()
    assert await storage.sessions.rotate(revoked.session_id, b"old", b"x", now) is None
    assert await storage.sessions.rotate(expiring.session_id, b"old", b"x", now) is None


async def test_a_quota_of_one_keeps_only_the_new_session(storage: Storage) -> None:
    user = await storage.add_user()
    first = await storage.log_in(user, max_sessions=1)
    second = await storage.log_in(user, max_sessions=1)
    assert not await storage.sessions.is_active(first)
    assert await storage.sessions.is_active(second)


# -- refresh rotation ------------------------------------------------------------------------


async def start(storage: Storage, user: User, refresh_hash: bytes) -> Session:
    session = Session(uuid4(), user.id, storage.clock.now(), storage.clock.now() + LIFETIME)
    await storage.sessions.start(session, refresh_hash, max_sessions=50)
    return session


async def test_rotation_swaps_the_token_and_a_rotated_token_revokes_the_session(
    storage: Storage,
) -> None:
    user = await storage.add_user()
    session = await start(storage, user, b"first")
    caller = AccessClaims(user.id, session.id)
    storage.clock.advance(minutes=1)
    now = storage.clock.now()
    assert await storage.sessions.rotate(session.id, b"first", b"second", now) == Rotated(
        session, user
    )
    assert await storage.sessions.is_active(caller)
    assert await storage.sessions.rotate(session.id, b"second", b"third", now) == Rotated(
        session, user
    )
    # "first" was rotated already: it coming back ends the session.
    assert await storage.sessions.rotate(session.id, b"first", b"x", now) == Reused(
        session.id, user.id
    )
    assert not await storage.sessions.is_active(caller)
    assert await storage.sessions.rotate(session.id, b"third", b"fourth", now) is None
    assert await storage.sessions.rotate(session.id, b"second", b"x", now) == Reused(
        session.id, user.id
    )


async def test_rotation_of_an_unknown_session_is_nothing(storage: Storage) -> None:
    assert await storage.sessions.rotate(uuid4(), b"a", b"b", storage.clock.now()) is None


async def test_rotation_of_an_ended_session_is_nothing(storage: Storage) -> None:
    user = await storage.add_user()
    logged_out = await start(storage, user, b"logged out")
    expired = await start(storage, user, b"expired")
    assert await storage.sessions.revoke(AccessClaims(user.id, logged_out.id))
    now = storage.clock.now()
    assert await storage.sessions.rotate(logged_out.id, b"logged out", b"x", now) is None
    later = expired.expires_at
    assert await storage.sessions.rotate(expired.id, b"expired", b"x", later) is None
    # A token it no longer holds is still reuse, and ends it for good.
    assert await storage.sessions.rotate(expired.id, b"older", b"x", later) == Reused(
        expired.id, user.id
    )
    storage.clock.current = expired.expires_at - timedelta(seconds=1)
    assert not await storage.sessions.is_active(AccessClaims(user.id, expired.id))


async def test_rotation_does_not_extend_the_session(storage: Storage) -> None:
    user = await storage.add_user()
    session = await start(storage, user, b"first")
    storage.clock.advance(days=13)
    rotated = await storage.sessions.rotate(session.id, b"first", b"second", storage.clock.now())
    assert isinstance(rotated, Rotated)
    assert rotated.session.expires_at == session.expires_at
    storage.clock.advance(days=1)
    assert not await storage.sessions.is_active(AccessClaims(user.id, session.id))
