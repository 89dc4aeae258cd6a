"""The account-changing contract: profile, password, deletion, logout by refresh token, and
password resets — each one atomic step, and nothing at all for a caller whose session ended."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from uuid import uuid4

import pytest

from application.ports import AccessClaims, ProfileChanges, Reused
from domain.errors import EmailTaken
from domain.task_listing import TaskQuery
from domain.users import User
from tests.contract.harness import LIFETIME, Storage

RESET_LIFETIME = timedelta(minutes=30)


def token_hash(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


async def issue_reset(storage: Storage, email: str, name: str = "token") -> User | None:
    now = storage.clock.now()
    return await storage.password_resets.issue(email, token_hash(name), now, now + RESET_LIFETIME)


async def ended(storage: Storage, caller: AccessClaims) -> AccessClaims:
    assert await storage.sessions.revoke(caller)
    return caller


# -- profile ---------------------------------------------------------------------------------


async def test_a_profile_change_writes_what_it_names_and_keeps_the_rest(storage: Storage) -> None:
    user = await storage.add_user("ada@example.com")
    caller = await storage.log_in(user)
    named = await storage.users.update_profile(caller, ProfileChanges(name="Ada"))
    assert named is not None
    assert (named.name, named.email, named.password_hash) == ("Ada", user.email, "hash")
    moved = await storage.users.update_profile(caller, ProfileChanges(email="Ada@Lovelace.org"))
    assert moved is not None
    assert (moved.name, moved.email) == ("Ada", "Ada@Lovelace.org")
    cleared = await storage.users.update_profile(caller, ProfileChanges(name=None))
    assert cleared is not None
    assert cleared.name is None
    assert await storage.users.current(caller) == cleared
    # The account is found by its new email in any case, and the old one is free.
    assert await storage.users.by_email("ada@LOVELACE.org") == cleared
    assert await storage.users.by_email("ada@example.com") is None
    await storage.add_user("ada@example.com")


async def test_an_email_of_another_account_is_taken_in_any_case(storage: Storage) -> None:
    await storage.add_user("grace@example.com")
    user = await storage.add_user("ada@example.com")
    caller = await storage.log_in(user)
    with pytest.raises(EmailTaken):
        await storage.users.update_profile(
            caller, ProfileChanges(name="Ada", email="GRACE@example.com")
        )
    assert await storage.users.current(caller) == user  # the name was not written either


async def test_a_new_email_forgets_pending_resets(storage: Storage) -> None:
    user = await storage.add_user("ada@example.com")
    caller = await storage.log_in(user)
    await issue_reset(storage, user.email)
    await storage.users.update_profile(caller, ProfileChanges(name="Ada"))
    assert await storage.password_resets.holder(token_hash("token"), storage.clock.now())
    await storage.users.update_profile(caller, ProfileChanges(email="ada@lovelace.org"))
    assert await storage.password_resets.holder(token_hash("token"), storage.clock.now()) is None


# -- password --------------------------------------------------------------------------------


async def test_a_password_change_ends_every_other_session_and_pending_resets(
    storage: Storage,
) -> None:
    user = await storage.add_user()
    caller = await storage.log_in(user)
    other = await storage.log_in(user)
    someone_else = await storage.caller()
    await issue_reset(storage, user.email)
    assert await storage.users.change_password(caller, "new hash")
    current = await storage.users.current(caller)
    assert current is not None
    assert current.password_hash == "new hash"
    assert await storage.sessions.is_active(caller)
    assert not await storage.sessions.is_active(other)
    assert await storage.sessions.is_active(someone_else)
    assert await storage.password_resets.holder(token_hash("token"), storage.clock.now()) is None


# -- deletion --------------------------------------------------------------------------------


async def test_deleting_an_account_takes_its_tasks_sessions_and_resets(storage: Storage) -> None:
    user = await storage.add_user("ada@example.com")
    caller = await storage.log_in(user)
    other = await storage.log_in(user)
    task = await storage.add_task(caller)
    await issue_reset(storage, user.email)
    grace = await storage.caller("grace@example.com")
    graces = await storage.add_task(grace)
    assert await storage.users.delete(caller)
    assert await storage.users.get(user.id) is None
    assert await storage.users.by_email("ada@example.com") is None
    for session in (caller, other):
        assert not await storage.sessions.is_active(session)
        assert await storage.tasks.get(session, task.id) is None
    assert await storage.password_resets.holder(token_hash("token"), storage.clock.now()) is None
    assert not await storage.users.delete(caller)
    # Somebody else's things stay; the email is free for a new account.
    assert await storage.tasks.get(grace, graces.id) == graces
    again = await storage.add_user("ADA@example.com")
    fresh = await storage.log_in(again)
    assert await storage.tasks.page(fresh, TaskQuery(), None, 10) == ([], 0)


async def test_deletion_is_undone_with_an_uncommitted_unit_of_work(storage: Storage) -> None:
    """One atomic step: the account and everything of it, or nothing."""
    user = await storage.add_user()
    async with storage.request() as request:
        caller = await storage.log_in(user, via=request)
        task = await storage.add_task(caller, via=request)
        await request.uow.begin()
        assert await request.users.delete(caller)
    assert await storage.users.get(user.id) == user
    assert await storage.tasks.get(caller, task.id) == task


# -- a caller whose session ended changes nothing ------------------------------------------


async def test_a_caller_whose_session_ended_changes_nothing(storage: Storage) -> None:
    user = await storage.add_user("ada@example.com")
    caller = await ended(storage, await storage.log_in(user))
    other = await storage.log_in(user)
    changes = ProfileChanges(name="X", email="x@x.org")
    assert await storage.users.update_profile(caller, changes) is None
    assert not await storage.users.change_password(caller, "new hash")
    assert not await storage.users.delete(caller)
    assert await storage.users.current(other) == user
    assert await storage.sessions.is_active(other)


# -- logout by refresh token -----------------------------------------------------------------


async def test_the_current_refresh_token_ends_its_session_once(storage: Storage) -> None:
    user = await storage.add_user()
    caller = await storage.log_in(user, refresh_hash=b"current")
    other = await storage.log_in(user, refresh_hash=b"other")
    now = storage.clock.now()
    assert await storage.sessions.revoke_by_refresh(caller.session_id, b"current", now) is True
    assert not await storage.sessions.is_active(caller)
    assert await storage.sessions.is_active(other)
    assert await storage.sessions.revoke_by_refresh(caller.session_id, b"current", now) is False
    assert await storage.sessions.revoke_by_refresh(uuid4(), b"current", now) is False


async def test_a_rotated_refresh_token_at_logout_is_reuse(storage: Storage) -> None:
    user = await storage.add_user()
    caller = await storage.log_in(user, refresh_hash=b"old")
    now = storage.clock.now()
    assert await storage.sessions.rotate(caller.session_id, b"old", b"new", now)
    outcome = await storage.sessions.revoke_by_refresh(caller.session_id, b"old", now)
    assert outcome == Reused(session_id=caller.session_id, user_id=user.id)
    assert not await storage.sessions.is_active(caller)


async def test_an_expired_session_is_not_ended_by_its_refresh_token(storage: Storage) -> None:
    user = await storage.add_user()
    caller = await storage.log_in(user, refresh_hash=b"current")
    later = storage.clock.now() + LIFETIME
    assert await storage.sessions.revoke_by_refresh(caller.session_id, b"current", later) is False


# -- password resets -------------------------------------------------------------------------


async def test_a_reset_for_an_unknown_email_stores_nothing(storage: Storage) -> None:
    await storage.add_user("ada@example.com")
    assert await issue_reset(storage, "grace@example.com") is None
    assert await storage.password_resets.holder(token_hash("token"), storage.clock.now()) is None


async def test_a_reset_is_held_until_redeemed_once(storage: Storage) -> None:
    user = await storage.add_user("Ada@Example.com")
    caller = await storage.log_in(user)
    grace = await storage.caller()
    assert await issue_reset(storage, "ada@EXAMPLE.com", "first") == user
    assert await issue_reset(storage, "ada@example.com", "second") == user
    now = storage.clock.now()
    assert await storage.password_resets.holder(token_hash("first"), now) == user
    assert await storage.password_resets.redeem(token_hash("first"), "new hash", now)
    stored = await storage.users.get(user.id)
    assert stored is not None
    assert stored.password_hash == "new hash"
    assert not await storage.sessions.is_active(caller)  # every session of the account ends
    assert await storage.sessions.is_active(grace)
    # Used up, and the account's other resets with it.
    for name in ("first", "second"):
        assert await storage.password_resets.holder(token_hash(name), now) is None
        assert not await storage.password_resets.redeem(token_hash(name), "again", now)


async def test_an_expired_reset_is_not_held_and_is_forgotten(storage: Storage) -> None:
    user = await storage.add_user()
    await issue_reset(storage, user.email, "old")
    storage.clock.advance(minutes=30)
    now = storage.clock.now()
    assert await storage.password_resets.holder(token_hash("old"), now) is None
    assert not await storage.password_resets.redeem(token_hash("old"), "new hash", now)
    stored = await storage.users.get(user.id)
    assert stored is not None
    assert stored.password_hash == "hash"
    # A new request forgets the expired one, even if the clock went back.
    await issue_reset(storage, user.email, "new")
    storage.clock.advance(minutes=-30)
    assert await storage.password_resets.holder(token_hash("old"), storage.clock.now()) is None
    assert await storage.password_resets.holder(token_hash("new"), storage.clock.now()) == user
