"""The task write contract: conditional writes, versions, ``completed_at``, quotas, ownership."""

from __future__ import annotations

import pytest

from application.ports import Absence, AccessClaims
from domain.errors import QuotaExceeded
from domain.task_listing import TaskFilter, TaskQuery
from domain.tasks import Priority, Task, TaskChanges
from tests.contract.harness import Storage, due


async def current(storage: Storage, caller: AccessClaims, task: Task) -> Task:
    found = await storage.tasks.get(caller, task.id)
    assert found is not None
    return found


async def count(storage: Storage, caller: AccessClaims) -> int:
    found = await storage.tasks.page(caller, TaskQuery(), None, 0)
    assert found is not None
    return found[1]


async def test_a_new_task_reads_back_as_written(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(
        caller,
        "Write the contract",
        description="every adapter",
        due_date=due(1),
        priority=Priority.HIGH,
        starred=True,
        tags=("work", "tests"),
    )
    assert task.version == 1
    assert await storage.tasks.get(caller, task.id) == task


# -- conditional writes and versions ---------------------------------------------------------


async def test_a_write_with_a_matching_version_applies_and_bumps_the_version(
    storage: Storage,
) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller, "before")
    storage.clock.advance(minutes=5)
    updated = await storage.tasks.update(
        caller,
        task.id,
        TaskChanges(title="after", due_date=due(2)),
        expected_versions=frozenset({1}),
        now=storage.clock.now(),
    )
    assert updated is not None
    assert (updated.title, updated.due_date, updated.version) == ("after", due(2), 2)
    assert updated.updated_at == storage.clock.now()
    assert updated.created_at == task.created_at
    assert await current(storage, caller, task) == updated


async def test_any_of_the_expected_versions_matches(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller)
    updated = await storage.tasks.update(
        caller,
        task.id,
        TaskChanges(starred=True),
        expected_versions=frozenset({0, 1, 7}),
        now=storage.clock.now(),
    )
    assert updated is not None
    assert updated.starred


@pytest.mark.parametrize("expected", [frozenset({2}), frozenset({0, 2}), frozenset()])
async def test_a_write_with_another_version_changes_nothing(
    storage: Storage, expected: frozenset[int]
) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller, "before")
    storage.clock.advance(minutes=5)
    changes = TaskChanges(title="after", completed=True)
    now = storage.clock.now()
    assert (
        await storage.tasks.update(caller, task.id, changes, expected_versions=expected, now=now)
        is None
    )
    assert (
        await storage.tasks.update(
            caller, task.id, changes, expected_versions=expected, now=now, toggle_completed=True
        )
        is None
    )
    assert await storage.tasks.delete(caller, task.id, expected_versions=expected) is False
    assert await current(storage, caller, task) == task
    assert await storage.tasks.absence(caller, task.id) is Absence.STALE_VERSION


async def test_every_write_adds_one_to_the_version(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller)
    writes = [
        TaskChanges(title="one"),
        TaskChanges(),  # even a write that sets nothing is a new version
        TaskChanges(completed=True),
        TaskChanges(tags=("a", "b")),
    ]
    for version, changes in enumerate(writes, start=2):
        updated = await storage.tasks.update(
            caller,
            task.id,
            changes,
            expected_versions=frozenset({version - 1}),
            now=storage.clock.now(),
        )
        assert updated is not None
        assert updated.version == version
    toggled = await storage.tasks.update(
        caller,
        task.id,
        TaskChanges(),
        expected_versions=None,
        now=storage.clock.now(),
        toggle_completed=True,
    )
    assert toggled is not None
    assert toggled.version == 6
    final = await current(storage, caller, task)
    assert (final.title, final.tags, final.completed, final.version) == (
        "one",
        ("a", "b"),
        False,
        6,
    )


async def test_a_write_sets_only_the_fields_it_names(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(
        caller, "keep", description="me", due_date=due(3), priority=Priority.LOW, tags=("x",)
    )
    updated = await storage.tasks.update(
        caller,
        task.id,
        TaskChanges(description=None, due_date=None, priority=Priority.HIGH),
        expected_versions=None,
        now=storage.clock.now(),
    )
    assert updated is not None
    assert (updated.title, updated.description, updated.due_date) == ("keep", None, None)
    assert (updated.priority, updated.tags, updated.starred) == (Priority.HIGH, ("x",), False)


async def test_a_delete_with_a_matching_version_removes_the_task(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller)
    kept = await storage.add_task(caller)
    assert await storage.tasks.delete(caller, task.id, expected_versions=frozenset({1}))
    assert await storage.tasks.get(caller, task.id) is None
    assert await storage.tasks.absence(caller, task.id) is Absence.NO_TASK
    assert await storage.tasks.delete(caller, task.id, expected_versions=None) is False
    assert await storage.tasks.delete(caller, kept.id, expected_versions=None)
    assert await count(storage, caller) == 0


# -- completed_at ----------------------------------------------------------------------------


async def complete(storage: Storage, caller: AccessClaims, task: Task, done: bool) -> Task:
    updated = await storage.tasks.update(
        caller,
        task.id,
        TaskChanges(completed=done),
        expected_versions=None,
        now=storage.clock.now(),
    )
    assert updated is not None
    return updated


async def test_completed_at_is_set_when_completed_becomes_true_and_kept_while_it_stays(
    storage: Storage,
) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller)
    assert task.completed_at is None
    storage.clock.advance(minutes=1)
    done_at = storage.clock.now()
    done = await complete(storage, caller, task, True)
    assert (done.completed, done.completed_at) == (True, done_at)
    storage.clock.advance(minutes=1)
    again = await complete(storage, caller, task, True)  # stays true: the moment is kept
    assert again.completed_at == done_at
    assert again.updated_at == storage.clock.now()
    storage.clock.advance(minutes=1)
    renamed = await storage.tasks.update(
        caller,
        task.id,
        TaskChanges(title="renamed"),
        expected_versions=None,
        now=storage.clock.now(),
    )
    assert renamed is not None
    assert renamed.completed_at == done_at
    assert (await current(storage, caller, task)).completed_at == done_at


async def test_completed_at_is_cleared_when_completed_becomes_false(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller, completed=True)
    assert task.completed_at == task.created_at
    storage.clock.advance(minutes=1)
    undone = await complete(storage, caller, task, False)
    assert (undone.completed, undone.completed_at) == (False, None)
    again = await complete(storage, caller, task, False)
    assert again.completed_at is None
    assert (await current(storage, caller, task)).completed_at is None


async def test_toggling_flips_completed_and_keeps_completed_at_honest(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller)
    for expected in (True, False, True):
        storage.clock.advance(minutes=1)
        toggled = await storage.tasks.update(
            caller,
            task.id,
            TaskChanges(),
            expected_versions=None,
            now=storage.clock.now(),
            toggle_completed=True,
        )
        assert toggled is not None
        assert toggled.completed is expected
        assert toggled.completed_at == (storage.clock.now() if expected else None)
        assert await current(storage, caller, task) == toggled


async def test_toggling_applies_the_other_changes_too(storage: Storage) -> None:
    caller = await storage.caller()
    task = await storage.add_task(caller, "old")
    toggled = await storage.tasks.update(
        caller,
        task.id,
        TaskChanges(title="new", starred=True),
        expected_versions=frozenset({1}),
        now=storage.clock.now(),
        toggle_completed=True,
    )
    assert toggled is not None
    assert (toggled.title, toggled.starred, toggled.completed) == ("new", True, True)


async def test_clearing_completed_tasks_deletes_only_the_callers_completed_ones(
    storage: Storage,
) -> None:
    caller, other = await storage.caller(), await storage.caller()
    await storage.add_task(caller, "done", completed=True)
    await storage.add_task(caller, "also done", completed=True)
    pending = await storage.add_task(caller, "pending")
    theirs = await storage.add_task(other, "theirs", completed=True)
    assert await storage.tasks.delete_completed(caller) == 2
    assert await storage.tasks.delete_completed(caller) == 0
    found = await storage.tasks.page(caller, TaskQuery(), None, 10)
    assert found == ([pending], 1)
    assert await storage.tasks.get(other, theirs.id) == theirs


# -- quotas ----------------------------------------------------------------------------------


async def test_the_task_quota_refuses_a_task_beyond_it(storage: Storage) -> None:
    caller, other = await storage.caller(), await storage.caller()
    first = await storage.add_task(caller, "one", max_tasks=2)
    await storage.add_task(caller, "two", max_tasks=2)
    with pytest.raises(QuotaExceeded):
        await storage.add_task(caller, "three", max_tasks=2)
    assert await count(storage, caller) == 2
    await storage.add_task(other, "another user's own quota", max_tasks=2)
    # Deleting makes room again, and so does clearing completed tasks.
    assert await storage.tasks.delete(caller, first.id, expected_versions=None)
    done = await storage.add_task(caller, "three", max_tasks=2, completed=True)
    with pytest.raises(QuotaExceeded):
        await storage.add_task(caller, "four", max_tasks=2)
    assert await storage.tasks.delete_completed(caller) == 1
    await storage.add_task(caller, "four", max_tasks=2)
    assert await storage.tasks.get(caller, done.id) is None
    found = await storage.tasks.page(caller, TaskQuery(), None, 10)
    assert found is not None
    assert sorted(t.title for t in found[0]) == ["four", "two"]


# -- ownership -------------------------------------------------------------------------------


async def test_another_users_task_is_not_there_for_the_caller(storage: Storage) -> None:
    owner, caller = await storage.caller(), await storage.caller()
    task = await storage.add_task(owner, "mine", completed=True)
    now = storage.clock.now()
    assert await storage.tasks.get(caller, task.id) is None
    assert await storage.tasks.absence(caller, task.id) is Absence.NO_TASK
    for versions in (None, frozenset({1})):
        changes = TaskChanges(title="stolen")
        assert (
            await storage.tasks.update(
                caller, task.id, changes, expected_versions=versions, now=now
            )
            is None
        )
        assert await storage.tasks.delete(caller, task.id, expected_versions=versions) is False
    assert await storage.tasks.delete_completed(caller) == 0
    assert await storage.tasks.page(caller, TaskQuery(TaskFilter(completed=True)), None, 10) == (
        [],
        0,
    )
    assert await current(storage, owner, task) == task


async def test_a_task_added_for_a_caller_is_the_callers_only(storage: Storage) -> None:
    caller, other = await storage.caller(), await storage.caller()
    task = await storage.add_task(caller)
    assert await storage.tasks.get(other, task.id) is None
    assert await storage.tasks.page(other, TaskQuery(), None, 10) == ([], 0)
    assert await current(storage, caller, task) == task
