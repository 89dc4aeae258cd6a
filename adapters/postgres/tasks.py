"""The tasks repository on PostgreSQL: every statement scoped by owner and live session."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from adapters.postgres.caller import CALLER_USER, NOW, affected, caller_values, live_session
from adapters.postgres.compiled import Compiled, compile_sql, param
from adapters.postgres.database import Database
from adapters.postgres.tables import tasks, users
from adapters.postgres.task_listing import empty_page, filter_shape, filter_values, page
from application.ports import Absence, AccessClaims, Clock
from domain.errors import QuotaExceeded
from domain.task_listing import Position, TaskQuery
from domain.tasks import Priority, Task, TaskChanges

TASK_ID = param("task_id", tasks.c.id)

_TASK_COLUMNS = [c.name for c in tasks.c]
_MAX_TASKS = param("max_tasks", users.c.task_count)
_ONE: sa.ColumnElement[int] = sa.literal_column("1")


def _add_task() -> Compiled:
    """Count the task against the quota and insert it: one statement. The counter's row lock
    serialises one user's concurrent creates, so the quota holds exactly."""
    counted = (
        users.update()
        .where(users.c.id == CALLER_USER, users.c.task_count < _MAX_TASKS, live_session())
        .values(task_count=users.c.task_count + _ONE)
        .returning(users.c.id)
        .cte("counted")
    )
    row = sa.select(*(param(c.name, c) for c in tasks.c)).select_from(counted)
    return compile_sql(tasks.insert().from_select(_TASK_COLUMNS, row))


def _uncount(deleted: sa.CTE) -> sa.CTE:
    """Give back to the quota the tasks ``deleted`` removed."""
    removed = sa.select(sa.func.count()).select_from(deleted).scalar_subquery()
    return (
        users.update()
        .where(users.c.id == CALLER_USER, sa.exists(sa.select(deleted.c.id)))
        .values(task_count=users.c.task_count - removed)
        .cte("uncounted")
    )


_ADD_TASK = _add_task()
_WHY_NOT_ADDED = compile_sql(
    sa.select(
        live_session().label("live"),
        sa.select(users.c.task_count >= _MAX_TASKS)
        .where(users.c.id == CALLER_USER)
        .scalar_subquery()
        .label("full"),
    )
)
_OWNED = (tasks.c.id == TASK_ID, tasks.c.user_id == CALLER_USER)
_GET_TASK = compile_sql(tasks.select().where(*_OWNED, live_session()))
_ABSENCE = compile_sql(
    sa.select(
        live_session().label("live"),
        sa.select(tasks.c.version).where(*_OWNED).scalar_subquery().label("version"),
    )
)
_VERSIONS = param("versions", pg.ARRAY(tasks.c.version.type))


def _clear_completed() -> Compiled:
    live = sa.select(live_session().label("ok")).cte("live")
    deleted = (
        tasks.delete()
        .where(
            tasks.c.user_id == CALLER_USER,
            tasks.c.completed.is_(True),
            sa.select(live.c.ok).scalar_subquery(),
        )
        .returning(tasks.c.id)
        .cte("deleted")
    )
    return compile_sql(
        sa.select(
            sa.select(live.c.ok).scalar_subquery().label("live"),
            sa.select(sa.func.count()).select_from(deleted).scalar_subquery().label("deleted"),
        ).add_cte(_uncount(deleted))
    )


_CLEAR_COMPLETED = _clear_completed()


@cache
def _update(fields: tuple[str, ...], toggle: bool, conditional: bool) -> Compiled:
    """An UPDATE for one shape of change. Every value is computed from the row inside it, so
    concurrent writes of other fields are never lost and ``completed_at`` moves only when
    ``completed`` really changes."""
    values: dict[str, Any] = {name: param(name, tasks.c[name]) for name in fields}
    if toggle:
        values["completed"] = sa.not_(tasks.c.completed)
        values["completed_at"] = sa.case((tasks.c.completed, None), else_=NOW)
    elif "completed" in fields:
        values["completed_at"] = sa.case(
            (sa.not_(values["completed"]), None),
            (tasks.c.completed, tasks.c.completed_at),
            else_=NOW,
        )
    conditions = [*_OWNED, live_session()]
    if conditional:
        conditions.append(tasks.c.version == sa.any_(_VERSIONS))
    return compile_sql(
        tasks.update()
        .where(*conditions)
        .values(**values, updated_at=NOW, version=tasks.c.version + sa.literal_column("1"))
        .returning(*tasks.c)
    )


@cache
def _delete(conditional: bool) -> Compiled:
    conditions = [*_OWNED, live_session()]
    if conditional:
        conditions.append(tasks.c.version == sa.any_(_VERSIONS))
    deleted = tasks.delete().where(*conditions).returning(tasks.c.id).cte("deleted")
    return compile_sql(sa.select(deleted.c.id).add_cte(_uncount(deleted)))


class PostgresTaskRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(self, caller: AccessClaims, task: Task, *, max_tasks: int) -> bool:
        values = {**_task_row(task), **caller_values(caller, self._clock), "max_tasks": max_tasks}
        if affected(await self._db.execute(_ADD_TASK.sql, *_ADD_TASK.args(**values))) == 1:
            return True
        why = await self._db.fetchrow(_WHY_NOT_ADDED.sql, *_WHY_NOT_ADDED.args(**values))
        if why["live"]:
            # Full, or a delete made room between the two statements: refused either way.
            raise QuotaExceeded()
        return False

    async def get(self, caller: AccessClaims, task_id: UUID) -> Task | None:
        values = caller_values(caller, self._clock)
        row = await self._db.fetchrow(
            _GET_TASK.sql, *_GET_TASK.args(task_id=task_id, **values), idempotent=True
        )
        return _task(row) if row else None

    async def absence(self, caller: AccessClaims, task_id: UUID) -> Absence:
        values = caller_values(caller, self._clock)
        row = await self._db.fetchrow(
            _ABSENCE.sql, *_ABSENCE.args(task_id=task_id, **values), idempotent=True
        )
        if not row["live"]:
            return Absence.SESSION_ENDED
        return Absence.NO_TASK if row["version"] is None else Absence.STALE_VERSION

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
        values: dict[str, Any] = changes.set_fields()
        if "priority" in values:
            values["priority"] = values["priority"].rank
        if "tags" in values:
            values["tags"] = list(values["tags"])
        if toggle_completed:
            values.pop("completed", None)
        statement = _update(tuple(sorted(values)), toggle_completed, expected_versions is not None)
        values.update(caller_values(caller, self._clock), now=now, task_id=task_id)
        if expected_versions is not None:
            values["versions"] = list(expected_versions)
        row = await self._db.fetchrow(statement.sql, *statement.args(**values))
        return _task(row) if row else None

    async def delete(
        self, caller: AccessClaims, task_id: UUID, *, expected_versions: frozenset[int] | None
    ) -> bool:
        statement = _delete(expected_versions is not None)
        values = caller_values(caller, self._clock)
        if expected_versions is not None:
            values["versions"] = list(expected_versions)
        row = await self._db.fetchrow(statement.sql, *statement.args(task_id=task_id, **values))
        return row is not None

    async def delete_completed(self, caller: AccessClaims) -> int | None:
        values = caller_values(caller, self._clock)
        row = await self._db.fetchrow(_CLEAR_COMPLETED.sql, *_CLEAR_COMPLETED.args(**values))
        return int(row["deleted"]) if row["live"] else None

    async def page(
        self, caller: AccessClaims, query: TaskQuery, after: Position | None, limit: int
    ) -> tuple[list[Task], int] | None:
        shape = filter_shape(query.filter)
        values = {**filter_values(query.filter), **caller_values(caller, self._clock)}
        after_shape: bool | None = None
        if after is not None:
            after_shape = after.value is None
            values.update(after_value=after.value, after_id=after.id)
        statement = page(shape, query.sort, after_shape)
        rows = await self._db.fetch(
            statement.sql, *statement.args(**values, limit=limit), idempotent=True
        )
        if rows:
            return [_task(row) for row in rows], int(rows[0]["total"])
        # Nothing on this page: is the session live, and how many match at all?
        emptiness = empty_page(shape)
        row = await self._db.fetchrow(emptiness.sql, *emptiness.args(**values), idempotent=True)
        return ([], int(row["total"])) if row["live"] else None


def _task_row(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "user_id": task.user_id,
        "title": task.title,
        "description": task.description,
        "due_date": task.due_date,
        "priority": task.priority.rank,
        "starred": task.starred,
        "completed": task.completed,
        "completed_at": task.completed_at,
        "tags": list(task.tags),
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "version": task.version,
        "category": task.category,
    }


_PRIORITY_BY_RANK = {p.rank: p for p in Priority}
if [c.name for c in tasks.c] != [f.name for f in dataclasses.fields(Task)]:
    raise RuntimeError("_task reads rows by position: keep tasks' columns in Task's field order")


def _task(row: Any) -> Task:
    """A row whose first columns are ``tasks``' own, in table order (positional: the hot path)."""
    return Task(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        _PRIORITY_BY_RANK[row[5]],
        row[6],
        row[7],
        row[8],
        tuple(row[9]),
        row[10],
        row[11],
        row[12],
        row[13],
    )
