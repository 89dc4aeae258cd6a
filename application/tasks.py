"""Task use cases: each acts for the authenticated caller, on the caller's tasks only.

Each is one statement (the repository puts the owner and the live session in it); a second
look is taken only when that statement matched nothing, to answer 401, 404 or 412."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from application.cursors import CursorSigner
from application.dto import Completion, TaskListing, TaskPage, TaskWrite
from application.ports import (
    Absence,
    AccessClaims,
    Clock,
    IdentityProvider,
    IdGenerator,
    TaskAbsence,
    TaskReader,
    TaskWriter,
)
from domain.errors import SessionEnded, TaskNotFound, VersionMismatch
from domain.task_listing import Position, position_value
from domain.tasks import KEEP, Task, TaskChanges, clean_changes, new_task


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    max_tasks: int = 10_000  # per user


@dataclass(frozen=True, slots=True)
class CreateTask:
    identity: IdentityProvider
    tasks: TaskWriter
    ids: IdGenerator
    clock: Clock
    policy: TaskPolicy

    async def __call__(self, changes: TaskChanges) -> Task:
        caller = await self.identity.current()
        task = new_task(
            self.ids.new_id(),
            caller.user_id,
            clean_changes(changes, creating=True),
            self.clock.now(),
        )
        if not await self.tasks.add(caller, task, max_tasks=self.policy.max_tasks):
            raise SessionEnded()
        return task


@dataclass(frozen=True, slots=True)
class GetTask:
    identity: IdentityProvider
    tasks: TaskReader

    async def __call__(self, task_id: UUID) -> Task:
        caller = await self.identity.current()
        task = await self.tasks.get(caller, task_id)
        if task is None:
            raise await _why_missing(self.tasks, caller, task_id)
        return task


@dataclass(frozen=True, slots=True)
class ListTasks:
    identity: IdentityProvider
    tasks: TaskReader
    # The composition root passes the process's signer; the default (a random key) only
    # serves a use case built by hand, whose cursors then hold for that instance alone.
    cursors: CursorSigner = field(default_factory=CursorSigner.ephemeral)

    async def __call__(self, listing: TaskListing) -> TaskPage:
        caller = await self.identity.current()
        query = listing.query
        after = self.cursors.read(caller.user_id, query, listing.cursor) if listing.cursor else None
        found = await self.tasks.page(caller, query, after, listing.limit + 1)
        if found is None:
            raise SessionEnded()
        tasks, total = found
        next_cursor = None
        if len(tasks) > listing.limit:
            tasks = tasks[: listing.limit]
            last = tasks[-1]
            next_cursor = self.cursors.issue(
                caller.user_id, query, Position(position_value(last, query.sort.field), last.id)
            )
        return TaskPage(tasks, total, next_cursor)


_ABSENCE_ERRORS: dict[Absence, type[Exception]] = {
    Absence.SESSION_ENDED: SessionEnded,
    Absence.NO_TASK: TaskNotFound,
    Absence.STALE_VERSION: VersionMismatch,
}


async def _why_missing(tasks: TaskAbsence, caller: AccessClaims, task_id: UUID) -> Exception:
    """After a statement on a task matched nothing: 401, 404 or 412, with one more look."""
    return _ABSENCE_ERRORS[await tasks.absence(caller, task_id)]()


@dataclass(frozen=True, slots=True)
class UpdateTask:
    identity: IdentityProvider
    tasks: TaskWriter
    clock: Clock

    async def __call__(self, write: TaskWrite) -> Task:
        caller = await self.identity.current()
        changes = clean_changes(write.changes)
        task = await self.tasks.update(
            caller,
            write.task_id,
            changes,
            expected_versions=write.expected_versions,
            now=self.clock.now(),
        )
        if task is None:
            raise await _why_missing(self.tasks, caller, write.task_id)
        return task


@dataclass(frozen=True, slots=True)
class CompleteTask:
    """Sets ``completed`` when given, else toggles it."""

    identity: IdentityProvider
    tasks: TaskWriter
    clock: Clock

    async def __call__(self, completion: Completion) -> Task:
        caller = await self.identity.current()
        toggle = completion.completed is None
        changes = TaskChanges(
            completed=KEEP if completion.completed is None else completion.completed
        )
        task = await self.tasks.update(
            caller,
            completion.task_id,
            changes,
            expected_versions=completion.expected_versions,
            now=self.clock.now(),
            toggle_completed=toggle,
        )
        if task is None:
            raise await _why_missing(self.tasks, caller, completion.task_id)
        return task


@dataclass(frozen=True, slots=True)
class DeleteTask:
    identity: IdentityProvider
    tasks: TaskWriter

    async def __call__(
        self, task_id: UUID, expected_versions: frozenset[int] | None = None
    ) -> None:
        caller = await self.identity.current()
        if not await self.tasks.delete(caller, task_id, expected_versions=expected_versions):
            raise await _why_missing(self.tasks, caller, task_id)


@dataclass(frozen=True, slots=True)
class ClearCompletedTasks:
    identity: IdentityProvider
    tasks: TaskWriter

    async def __call__(self) -> int:
        caller = await self.identity.current()
        deleted = await self.tasks.delete_completed(caller)
        if deleted is None:
            raise SessionEnded()
        return deleted
