"""Task use cases: each acts for the authenticated caller, on the caller's tasks only."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.cursors import decode_cursor, encode_cursor
from application.dto import Completion, TaskListing, TaskPage, TaskWrite
from application.ports import (
    Clock,
    IdentityProvider,
    IdGenerator,
    TaskRepository,
    UnitOfWork,
)
from domain.errors import TaskNotFound, VersionMismatch
from domain.tasks import (
    KEEP,
    Position,
    Task,
    TaskChanges,
    clean_changes,
    new_task,
    sort_value,
)


@dataclass(frozen=True, slots=True)
class CreateTask:
    identity: IdentityProvider
    tasks: TaskRepository
    ids: IdGenerator
    clock: Clock
    uow: UnitOfWork

    async def __call__(self, changes: TaskChanges) -> Task:
        caller = await self.identity.current()
        task = new_task(
            self.ids.new_id(),
            caller.user_id,
            clean_changes(changes, creating=True),
            self.clock.now(),
        )
        await self.tasks.add(task)
        await self.uow.commit()
        return task


@dataclass(frozen=True, slots=True)
class GetTask:
    identity: IdentityProvider
    tasks: TaskRepository

    async def __call__(self, task_id: UUID) -> Task:
        caller = await self.identity.current()
        task = await self.tasks.get(caller.user_id, task_id)
        if task is None:
            raise TaskNotFound()
        return task


@dataclass(frozen=True, slots=True)
class ListTasks:
    identity: IdentityProvider
    tasks: TaskRepository

    async def __call__(self, listing: TaskListing) -> TaskPage:
        caller = await self.identity.current()
        query = listing.query
        after = decode_cursor(query, listing.cursor) if listing.cursor else None
        tasks, total = await self.tasks.page(caller.user_id, query, after, listing.limit + 1)
        next_cursor = None
        if len(tasks) > listing.limit:
            tasks = tasks[: listing.limit]
            last = tasks[-1]
            next_cursor = encode_cursor(
                query, Position(sort_value(last, query.sort.field), last.id)
            )
        return TaskPage(tasks, total, next_cursor)


async def _missing_or_stale(tasks: TaskRepository, owner_id: UUID, task_id: UUID) -> Exception:
    """After a conditional write matched nothing, tell a stale version from a missing task."""
    if await tasks.exists(owner_id, task_id):
        return VersionMismatch()
    return TaskNotFound()


@dataclass(frozen=True, slots=True)
class UpdateTask:
    identity: IdentityProvider
    tasks: TaskRepository
    clock: Clock
    uow: UnitOfWork

    async def __call__(self, write: TaskWrite) -> Task:
        caller = await self.identity.current()
        changes = clean_changes(write.changes)
        task = await self.tasks.update(
            caller.user_id,
            write.task_id,
            changes,
            expected_versions=write.expected_versions,
            now=self.clock.now(),
        )
        if task is None:
            raise await _missing_or_stale(self.tasks, caller.user_id, write.task_id)
        await self.uow.commit()
        return task


@dataclass(frozen=True, slots=True)
class CompleteTask:
    """Sets ``completed`` when given, else toggles it."""

    identity: IdentityProvider
    tasks: TaskRepository
    clock: Clock
    uow: UnitOfWork

    async def __call__(self, completion: Completion) -> Task:
        caller = await self.identity.current()
        toggle = completion.completed is None
        changes = TaskChanges(
            completed=KEEP if completion.completed is None else completion.completed
        )
        task = await self.tasks.update(
            caller.user_id,
            completion.task_id,
            changes,
            expected_versions=completion.expected_versions,
            now=self.clock.now(),
            toggle_completed=toggle,
        )
        if task is None:
            raise await _missing_or_stale(self.tasks, caller.user_id, completion.task_id)
        await self.uow.commit()
        return task


@dataclass(frozen=True, slots=True)
class DeleteTask:
    identity: IdentityProvider
    tasks: TaskRepository
    uow: UnitOfWork

    async def __call__(
        self, task_id: UUID, expected_versions: frozenset[int] | None = None
    ) -> None:
        caller = await self.identity.current()
        if not await self.tasks.delete(
            caller.user_id, task_id, expected_versions=expected_versions
        ):
            raise await _missing_or_stale(self.tasks, caller.user_id, task_id)
        await self.uow.commit()


@dataclass(frozen=True, slots=True)
class ClearCompletedTasks:
    identity: IdentityProvider
    tasks: TaskRepository
    uow: UnitOfWork

    async def __call__(self) -> int:
        caller = await self.identity.current()
        deleted = await self.tasks.delete_completed(caller.user_id)
        await self.uow.commit()
        return deleted
