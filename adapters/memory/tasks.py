"""The task ports in memory: the same contract as PostgreSQL's (``tests/contract``), with the
filters, sorts and keyset positions of ``domain.task_listing`` applied to the store's rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

from adapters.memory.repositories import session_is_live
from adapters.memory.store import MemoryStore
from application.ports import Absence, AccessClaims, Clock
from domain.errors import QuotaExceeded
from domain.task_listing import Position, TaskQuery, position_key, sort_value
from domain.tasks import Task, TaskChanges, apply_changes


class MemoryTaskRepository:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def _live(self, caller: AccessClaims) -> bool:
        return session_is_live(self._store, caller, self._clock)

    def _owned(self, caller: AccessClaims, task_id: UUID) -> Task | None:
        task = self._store.tasks.get(task_id)
        return task if task is not None and task.user_id == caller.user_id else None

    async def add(self, caller: AccessClaims, task: Task, *, max_tasks: int) -> bool:
        if not self._live(caller):
            return False
        if sum(t.user_id == caller.user_id for t in self._store.tasks.values()) >= max_tasks:
            raise QuotaExceeded()
        self._store.tasks[task.id] = task
        return True

    async def get(self, caller: AccessClaims, task_id: UUID) -> Task | None:
        return self._owned(caller, task_id) if self._live(caller) else None

    async def absence(self, caller: AccessClaims, task_id: UUID) -> Absence:
        if not self._live(caller):
            return Absence.SESSION_ENDED
        return Absence.NO_TASK if self._owned(caller, task_id) is None else Absence.STALE_VERSION

    async def update(
        self,
        caller: AccessClaims,
        task_id: UUID,
        changes: TaskChanges,
        *,
        expected_versions: frozenset[int] | None,
        now: datetime,
        toggle_completed: bool = False,
    ) -> Task | None:
        task = await self.get(caller, task_id)
        if task is None or not _version_matches(task, expected_versions):
            return None
        if toggle_completed:
            changes = replace(changes, completed=not task.completed)
        updated = apply_changes(task, changes, now)
        self._store.tasks[task_id] = updated
        return updated

    async def delete(
        self, caller: AccessClaims, task_id: UUID, *, expected_versions: frozenset[int] | None
    ) -> bool:
        task = await self.get(caller, task_id)
        if task is None or not _version_matches(task, expected_versions):
            return False
        del self._store.tasks[task_id]
        return True

    async def delete_completed(self, caller: AccessClaims) -> int | None:
        if not self._live(caller):
            return None
        doomed = [
            t.id for t in self._store.tasks.values() if t.user_id == caller.user_id and t.completed
        ]
        for task_id in doomed:
            del self._store.tasks[task_id]
        return len(doomed)

    async def page(
        self, caller: AccessClaims, query: TaskQuery, after: Position | None, limit: int
    ) -> tuple[list[Task], int] | None:
        if not self._live(caller):
            return None
        matching = [
            t
            for t in self._store.tasks.values()
            if t.user_id == caller.user_id and query.filter.matches(t)
        ]
        field, descending = query.sort.field, query.sort.descending
        valued = [t for t in matching if sort_value(t, field) is not None]
        unvalued = [t for t in matching if sort_value(t, field) is None]
        # NULL values come last in both directions, as in the SQL adapter.
        valued.sort(key=lambda t: (sort_value(t, field), t.id), reverse=descending)
        unvalued.sort(key=lambda t: t.id, reverse=descending)
        ordered = valued + unvalued
        if after is not None:
            ordered = [t for t in ordered if _is_past(t, after, query)]
        return ordered[:limit], len(matching)


def _version_matches(task: Task, expected_versions: frozenset[int] | None) -> bool:
    return expected_versions is None or task.version in expected_versions


def _is_past(task: Task, after: Position, query: TaskQuery) -> bool:
    value = sort_value(task, query.sort.field)
    descending = query.sort.descending
    if after.value is None:
        return value is None and ((task.id < after.id) if descending else (task.id > after.id))
    if value is None:
        return True
    mine, theirs = (value, task.id), (position_key(query.sort.field, after.value), after.id)
    return mine < theirs if descending else mine > theirs
