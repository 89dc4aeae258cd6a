"""PostgreSQL repositories: one statement per call, the owner and the live session in its WHERE.

Statements are built from ``tables.py`` and compiled once (per shape, for those whose shape
depends on the call), then run on the driver connection by ``Database``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from adapters.postgres.compiled import Compiled, compile_sql, param
from adapters.postgres.database import Database
from adapters.postgres.tables import sessions, tasks, users
from application.ports import Absence, AccessClaims, Clock, Reused, Rotated
from domain.errors import EmailTaken, QuotaExceeded
from domain.tasks import (
    Position,
    Priority,
    SortField,
    Task,
    TaskChanges,
    TaskFilter,
    TaskQuery,
    TaskSort,
)
from domain.users import Session, User, email_key

NOW = param("now", sessions.c.expires_at)
CALLER_USER = param("caller_user", sessions.c.user_id)
CALLER_SESSION = param("caller_session", sessions.c.id)
TASK_ID = param("task_id", tasks.c.id)


def live_session() -> sa.Exists:
    """The caller's session is live: the condition every statement acting for a caller has."""
    return sa.exists().where(
        sessions.c.id == CALLER_SESSION,
        sessions.c.user_id == CALLER_USER,
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > NOW,
    )


def _caller(caller: AccessClaims, clock: Clock) -> dict[str, Any]:
    return {
        "caller_user": caller.user_id,
        "caller_session": caller.session_id,
        "now": clock.now(),
    }


# -- users -----------------------------------------------------------------------------------

_USER_BY_EMAIL = compile_sql(
    users.select().where(users.c.email_key == param("email_key", users.c.email_key))
)
_USER_BY_ID = compile_sql(users.select().where(users.c.id == param("id", users.c.id)))
_CURRENT_USER = compile_sql(users.select().where(users.c.id == CALLER_USER, live_session()))
_ADD_USER = compile_sql(
    pg.insert(users)
    .values({c.name: param(c.name, c) for c in users.c if c.name != "task_count"})
    .on_conflict_do_nothing(index_elements=[users.c.email_key])
    .returning(users.c.id)
)
_SET_PASSWORD_HASH = compile_sql(
    users.update()
    .where(users.c.id == param("id", users.c.id))
    .values(password_hash=param("password_hash", users.c.password_hash))
)


class PostgresUserRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(self, user: User) -> None:
        added = await self._db.fetchrow(
            _ADD_USER.sql,
            *_ADD_USER.args(
                id=user.id,
                email=user.email,
                email_key=email_key(user.email),
                name=user.name,
                password_hash=user.password_hash,
                created_at=user.created_at,
            ),
        )
        if added is None:
            raise EmailTaken()

    async def by_email(self, email: str) -> User | None:
        row = await self._db.fetchrow(_USER_BY_EMAIL.sql, email_key(email), idempotent=True)
        return _user(row) if row else None

    async def get(self, user_id: UUID) -> User | None:
        row = await self._db.fetchrow(_USER_BY_ID.sql, user_id, idempotent=True)
        return _user(row) if row else None

    async def current(self, caller: AccessClaims) -> User | None:
        values = _caller(caller, self._clock)
        row = await self._db.fetchrow(
            _CURRENT_USER.sql, *_CURRENT_USER.args(**values), idempotent=True
        )
        return _user(row) if row else None

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self._db.execute(
            _SET_PASSWORD_HASH.sql,
            *_SET_PASSWORD_HASH.args(id=user_id, password_hash=password_hash),
        )


def _user(row: Any) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
    )


# -- sessions --------------------------------------------------------------------------------


def _start_session() -> Compiled:
    """Open a session with its first token's hash, and forget the user's dead sessions and the
    live ones beyond the quota, stalest first: one statement."""
    user = param("user_id", sessions.c.user_id)
    created_at = param("created_at", sessions.c.created_at)
    pruned = (
        sessions.delete()
        .where(
            sessions.c.user_id == user,
            sa.or_(sessions.c.expires_at <= created_at, sessions.c.revoked_at.is_not(None)),
        )
        .cte("pruned")
    )
    stalest_first = (
        sa.select(sessions.c.id)
        .where(
            sessions.c.user_id == user,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > created_at,
        )
        .order_by(
            sa.func.coalesce(sessions.c.refreshed_at, sessions.c.created_at).desc(),
            sessions.c.id.desc(),
        )
        .offset(param("keep", sa.Integer()))
    )
    evicted = sessions.delete().where(sessions.c.id.in_(stalest_first)).cte("evicted")
    return compile_sql(
        sessions.insert()
        .values(
            id=param("id", sessions.c.id),
            user_id=user,
            created_at=created_at,
            expires_at=param("expires_at", sessions.c.expires_at),
            refresh_hash=param("refresh_hash", sessions.c.refresh_hash),
        )
        .add_cte(pruned, evicted)
    )


_START_SESSION = _start_session()
_USER_FIELDS = ("email", "name", "password_hash", "created_at")
_SESSION_ID = param("session_id", sessions.c.id)
_PRESENTED = param("presented_hash", sessions.c.refresh_hash)
# The row lock this UPDATE takes serialises concurrent refreshes of one token: the first swaps
# the hash, the others then find another hash there and count as reuse.
_ROTATE = compile_sql(
    sessions.update()
    .where(
        sessions.c.id == _SESSION_ID,
        sessions.c.refresh_hash == _PRESENTED,
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > NOW,
        users.c.id == sessions.c.user_id,
    )
    .values(refresh_hash=param("new_hash", sessions.c.refresh_hash), refreshed_at=NOW)
    .returning(
        sessions.c.id,
        sessions.c.user_id,
        sessions.c.created_at,
        sessions.c.expires_at,
        *(users.c[name].label(f"user_{name}") for name in _USER_FIELDS),
    )
)
# A second statement, so it sees the swap of a concurrent refresh that has just committed.
_REVOKE_REUSED = compile_sql(
    sessions.update()
    .where(sessions.c.id == _SESSION_ID, sessions.c.refresh_hash != _PRESENTED)
    .values(revoked_at=sa.func.coalesce(sessions.c.revoked_at, NOW))
    .returning(sessions.c.id, sessions.c.user_id)
)
_IS_ACTIVE = compile_sql(sa.select(live_session()))
_REVOKE = compile_sql(
    sessions.update()
    .where(
        sessions.c.id == CALLER_SESSION,
        sessions.c.user_id == CALLER_USER,
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > NOW,
    )
    .values(revoked_at=NOW)
    .returning(sessions.c.id)
)
_REVOKE_ALL = compile_sql(
    sessions.update()
    .where(sessions.c.user_id == CALLER_USER, sessions.c.revoked_at.is_(None), live_session())
    .values(revoked_at=NOW)
)


class PostgresSessionRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def start(self, session: Session, refresh_hash: bytes, *, max_sessions: int) -> None:
        await self._db.execute(
            _START_SESSION.sql,
            *_START_SESSION.args(
                id=session.id,
                user_id=session.user_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
                refresh_hash=refresh_hash,
                keep=max(0, max_sessions - 1),
            ),
        )

    async def rotate(
        self, session_id: UUID, old_hash: bytes, new_hash: bytes, now: datetime
    ) -> Rotated | Reused | None:
        values = {"session_id": session_id, "presented_hash": old_hash, "now": now}
        row = await self._db.fetchrow(_ROTATE.sql, *_ROTATE.args(**values, new_hash=new_hash))
        if row is not None:
            session = Session(row["id"], row["user_id"], row["created_at"], row["expires_at"])
            user = User(
                id=row["user_id"],
                email=row["user_email"],
                name=row["user_name"],
                password_hash=row["user_password_hash"],
                created_at=row["user_created_at"],
            )
            return Rotated(session, user)
        revoked = await self._db.fetchrow(_REVOKE_REUSED.sql, *_REVOKE_REUSED.args(**values))
        return Reused(session_id=revoked["id"], user_id=revoked["user_id"]) if revoked else None

    async def is_active(self, caller: AccessClaims) -> bool:
        values = _caller(caller, self._clock)
        row = await self._db.fetchrow(_IS_ACTIVE.sql, *_IS_ACTIVE.args(**values), idempotent=True)
        return bool(row[0])

    async def revoke(self, caller: AccessClaims) -> bool:
        values = _caller(caller, self._clock)
        return await self._db.fetchrow(_REVOKE.sql, *_REVOKE.args(**values)) is not None

    async def revoke_all(self, caller: AccessClaims) -> bool:
        values = _caller(caller, self._clock)
        status = await self._db.execute(_REVOKE_ALL.sql, *_REVOKE_ALL.args(**values))
        return _affected(status) > 0


def _affected(status: str) -> int:
    """Rows a command touched, from its status tag (``UPDATE 3``, ``INSERT 0 1``)."""
    return int(status.rsplit(" ", 1)[-1])


# -- tasks -----------------------------------------------------------------------------------

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
        values = {**_task_row(task), **_caller(caller, self._clock), "max_tasks": max_tasks}
        if _affected(await self._db.execute(_ADD_TASK.sql, *_ADD_TASK.args(**values))) == 1:
            return True
        why = await self._db.fetchrow(_WHY_NOT_ADDED.sql, *_WHY_NOT_ADDED.args(**values))
        if why["live"]:
            # Full, or a delete made room between the two statements: refused either way.
            raise QuotaExceeded()
        return False

    async def get(self, caller: AccessClaims, task_id: UUID) -> Task | None:
        values = _caller(caller, self._clock)
        row = await self._db.fetchrow(
            _GET_TASK.sql, *_GET_TASK.args(task_id=task_id, **values), idempotent=True
        )
        return _task(row) if row else None

    async def absence(self, caller: AccessClaims, task_id: UUID) -> Absence:
        values = _caller(caller, self._clock)
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
        values.update(_caller(caller, self._clock), now=now, task_id=task_id)
        if expected_versions is not None:
            values["versions"] = list(expected_versions)
        row = await self._db.fetchrow(statement.sql, *statement.args(**values))
        return _task(row) if row else None

    async def delete(
        self, caller: AccessClaims, task_id: UUID, *, expected_versions: frozenset[int] | None
    ) -> bool:
        statement = _delete(expected_versions is not None)
        values = _caller(caller, self._clock)
        if expected_versions is not None:
            values["versions"] = list(expected_versions)
        row = await self._db.fetchrow(statement.sql, *statement.args(task_id=task_id, **values))
        return row is not None

    async def delete_completed(self, caller: AccessClaims) -> int | None:
        values = _caller(caller, self._clock)
        row = await self._db.fetchrow(_CLEAR_COMPLETED.sql, *_CLEAR_COMPLETED.args(**values))
        return int(row["deleted"]) if row["live"] else None

    async def page(
        self, caller: AccessClaims, query: TaskQuery, after: Position | None, limit: int
    ) -> tuple[list[Task], int] | None:
        shape = _filter_shape(query.filter)
        values = {**_filter_values(query.filter), **_caller(caller, self._clock)}
        after_shape: bool | None = None
        if after is not None:
            after_shape = after.value is None
            values.update(after_value=after.value, after_id=after.id)
        statement = _page(shape, query.sort, after_shape)
        rows = await self._db.fetch(
            statement.sql, *statement.args(**values, limit=limit), idempotent=True
        )
        if rows:
            return [_task(row) for row in rows], int(rows[0]["total"])
        # Nothing on this page: is the session live, and how many match at all?
        emptiness = _empty_page(shape)
        row = await self._db.fetchrow(emptiness.sql, *emptiness.args(**values), idempotent=True)
        return ([], int(row["total"])) if row["live"] else None


# -- listing ---------------------------------------------------------------------------------

_FILTERS = ("completed", "priorities", "starred", "tags", "due_before", "due_after", "text")


def _filter_shape(task_filter: TaskFilter) -> tuple[str, ...]:
    """Which filters a query uses: the statement is compiled once per shape."""
    return tuple(name for name in _FILTERS if getattr(task_filter, name) not in (None, (), ""))


def _filter_values(task_filter: TaskFilter) -> dict[str, Any]:
    values: dict[str, Any] = {
        "completed": task_filter.completed,
        "starred": task_filter.starred,
        "due_before": task_filter.due_before,
        "due_after": task_filter.due_after,
        "priorities": [p.rank for p in task_filter.priorities],
        "tags": list(task_filter.tags),
    }
    if task_filter.text:
        escaped = task_filter.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        values["text"] = f"%{escaped}%"
    return values


def _filter_conditions(shape: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    conditions: dict[str, sa.ColumnElement[bool]] = {
        "completed": tasks.c.completed == param("completed", tasks.c.completed),
        "priorities": tasks.c.priority
        == sa.any_(param("priorities", pg.ARRAY(tasks.c.priority.type))),
        "starred": tasks.c.starred == param("starred", tasks.c.starred),
        "tags": tasks.c.tags.contains(param("tags", tasks.c.tags)),
        "due_before": tasks.c.due_date <= param("due_before", tasks.c.due_date),
        "due_after": tasks.c.due_date >= param("due_after", tasks.c.due_date),
        "text": sa.or_(
            tasks.c.title.ilike(param("text", tasks.c.title), escape="\\"),
            tasks.c.description.ilike(param("text", tasks.c.title), escape="\\"),
        ),
    }
    return [tasks.c.user_id == CALLER_USER, *(conditions[name] for name in shape)]


def _sort_key(field: SortField) -> sa.ColumnElement[Any]:
    if field is SortField.TITLE:
        # Code-point order, so every storage adapter sorts titles alike.
        return sa.func.lower(tasks.c.title).collate("C")
    column: sa.ColumnElement[Any] = tasks.c[field.value]
    return column


def _order(sort: TaskSort) -> tuple[sa.UnaryExpression[Any], ...]:
    key = _sort_key(sort.field)
    if sort.descending:
        return key.desc().nulls_last(), tasks.c.id.desc()
    return key.asc().nulls_last(), tasks.c.id.asc()


def _after(sort: TaskSort, value_is_null: bool) -> sa.ColumnElement[bool]:
    """Rows strictly past the cursor in (value, id) order, with NULL values last either way."""
    key = _sort_key(sort.field)
    after_id = param("after_id", tasks.c.id)
    id_past = tasks.c.id < after_id if sort.descending else tasks.c.id > after_id
    if value_is_null:
        return sa.and_(key.is_(None), id_past)
    column_type = tasks.c.title.type if sort.field is SortField.TITLE else key.type
    value = param("after_value", column_type)
    value_past = key < value if sort.descending else key > value
    return sa.or_(value_past, sa.and_(key == value, id_past), key.is_(None))


@cache
def _page(shape: tuple[str, ...], sort: TaskSort, after_null: bool | None) -> Compiled:
    """A page and, on each row, the count of all matching tasks (an uncorrelated subquery,
    evaluated once): one statement, with the owner and the live session in its WHERE."""
    matching = _filter_conditions(shape)
    count = sa.select(sa.func.count()).select_from(tasks).where(*matching)
    in_page = [*matching, live_session()]
    if after_null is not None:
        in_page.append(_after(sort, after_null))
    return compile_sql(
        sa.select(tasks, count.scalar_subquery().label("total"))
        .where(*in_page)
        .order_by(*_order(sort))
        .limit(param("limit", sa.Integer()))
    )


@cache
def _empty_page(shape: tuple[str, ...]) -> Compiled:
    count = sa.select(sa.func.count()).select_from(tasks).where(*_filter_conditions(shape))
    return compile_sql(
        sa.select(live_session().label("live"), count.scalar_subquery().label("total"))
    )


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
    )
