"""The unit of work contract: what a request begins and does not commit leaves no trace."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from application.ports import AccessClaims, Rotated
from domain.errors import QuotaExceeded
from domain.task_listing import TaskQuery
from domain.tasks import TaskChanges
from tests.contract.harness import Storage

T = TypeVar("T")


async def in_another_request(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` as a concurrent request is run: in its own task, with a context of its own
    (a server never hands one request's context to another)."""

    async def run() -> T:
        return await work()

    return await asyncio.create_task(run(), context=contextvars.Context())


async def titles(storage: Storage, caller: AccessClaims) -> list[str]:
    found = await storage.tasks.page(caller, TaskQuery(), None, 100)
    assert found is not None
    return sorted(t.title for t in found[0])


async def test_work_begun_and_not_committed_is_rolled_back_when_the_request_ends(
    storage: Storage,
) -> None:
    user = await storage.add_user()
    caller = await storage.log_in(user, refresh_hash=b"current")
    second = await storage.log_in(user)
    renamed = await storage.add_task(caller, "to rename")
    deleted = await storage.add_task(caller, "to delete")
    cleared = await storage.add_task(caller, "to clear", completed=True)
    before = await titles(storage, caller)

    async with storage.request() as request:
        await request.uow.begin()
        newcomer = await storage.add_user("new@example.com", via=request)
        new_caller = await storage.log_in(newcomer, via=request)
        await storage.add_task(new_caller, "the newcomer's", via=request)
        now = storage.clock.now()
        assert await request.tasks.update(
            caller, renamed.id, TaskChanges(title="renamed"), expected_versions=None, now=now
        )
        assert await request.tasks.delete(caller, deleted.id, expected_versions=None)
        assert await request.tasks.delete_completed(caller) == 1
        await storage.add_task(caller, "added", via=request)
        assert isinstance(
            await request.sessions.rotate(caller.session_id, b"current", b"x", now), Rotated
        )
        assert await request.sessions.revoke(second)
        await request.users.set_password_hash(user.id, "changed")
        # The request sees its own writes.
        renamed_now = await request.tasks.get(caller, renamed.id)
        assert renamed_now is not None
        assert renamed_now.title == "renamed"
        assert await request.users.by_email("new@example.com") == newcomer
        # Last: a login with a quota of one forgets every other session of the user.
        await storage.log_in(user, max_sessions=1, via=request)
        assert not await request.sessions.is_active(caller)
        # ...and the request ends without commit().

    assert await storage.users.by_email("new@example.com") is None
    assert await storage.users.get(newcomer.id) is None
    assert not await storage.sessions.is_active(new_caller)
    assert await storage.users.get(user.id) == user  # the password hash as it was
    assert await storage.sessions.is_active(caller)
    assert await storage.sessions.is_active(second)
    assert await storage.tasks.get(caller, renamed.id) == renamed
    assert await storage.tasks.get(caller, deleted.id) == deleted
    assert await storage.tasks.get(caller, cleared.id) == cleared
    assert await titles(storage, caller) == before
    # The quota counts the tasks that are there, not the ones rolled back.
    await storage.add_task(caller, "fourth", max_tasks=4)
    with pytest.raises(QuotaExceeded):
        await storage.add_task(caller, "fifth", max_tasks=4)
    # The refresh token that was current is current again.
    rotated = await storage.sessions.rotate(
        caller.session_id, b"current", b"next", storage.clock.now()
    )
    assert isinstance(rotated, Rotated)


async def test_committed_work_stays(storage: Storage) -> None:
    async with storage.request() as request:
        await request.uow.begin()
        user = await storage.add_user("kept@example.com", via=request)
        caller = await storage.log_in(user, via=request)
        await request.uow.commit()
        # After the commit each statement commits itself again.
        await storage.add_task(caller, "after the commit", via=request)

    assert await storage.users.by_email("kept@example.com") == user
    assert await storage.sessions.is_active(caller)
    assert await titles(storage, caller) == ["after the commit"]


async def test_a_statement_outside_begin_commits_itself(storage: Storage) -> None:
    async with storage.request() as request:
        user = await storage.add_user("alone@example.com", via=request)
        caller = await storage.log_in(user, via=request)
        await storage.add_task(caller, "alone", via=request)
        # The request ends without commit(), but began nothing.

    assert await storage.users.by_email("alone@example.com") == user
    assert await titles(storage, caller) == ["alone"]


async def test_a_rollback_keeps_what_other_requests_wrote_meanwhile(storage: Storage) -> None:
    caller = await storage.caller()
    edited = await storage.add_task(caller, "to edit")

    async def other_request() -> None:
        async with storage.request() as request:
            await storage.add_task(caller, "another request's", via=request)
            now = storage.clock.now()
            changes = TaskChanges(title="edited")
            assert await request.tasks.update(
                caller, edited.id, changes, expected_versions=None, now=now
            )
            await storage.add_user("meanwhile@example.com", via=request)

    async with storage.request() as request:
        await request.uow.begin()
        await storage.add_user("rolled-back@example.com", via=request)
        await in_another_request(other_request)
        # ...and this request ends without commit().

    assert await storage.users.by_email("rolled-back@example.com") is None
    assert await storage.users.by_email("meanwhile@example.com") is not None
    assert await titles(storage, caller) == ["another request's", "edited"]
