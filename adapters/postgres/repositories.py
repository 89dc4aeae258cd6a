"""PostgreSQL repositories: one statement per operation, the owner in every WHERE."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.postgres.tables import refresh_tokens, sessions, tasks, users
from application.ports import Reused, Rotated
from domain.errors import EmailTaken
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


class PostgresUserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, user: User) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(
                    users.insert().values(
                        id=user.id,
                        email=user.email,
                        email_key=email_key(user.email),
                        name=user.name,
                        password_hash=user.password_hash,
                        created_at=user.created_at,
                    )
                )
        except IntegrityError as error:
            raise EmailTaken() from error

    async def by_email(self, email: str) -> User | None:
        row = (
            await self._db.execute(users.select().where(users.c.email_key == email_key(email)))
        ).first()
        return _user(row._mapping) if row else None

    async def get(self, user_id: UUID) -> User | None:
        row = (await self._db.execute(users.select().where(users.c.id == user_id))).first()
        return _user(row._mapping) if row else None

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self._db.execute(
            users.update().where(users.c.id == user_id).values(password_hash=password_hash)
        )


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
    )


class PostgresSessionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def start(self, session: Session, refresh_hash: bytes) -> None:
        await self._db.execute(
            sessions.insert().values(
                id=session.id,
                user_id=session.user_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )
        await self._db.execute(
            refresh_tokens.insert().values(
                token_hash=refresh_hash, session_id=session.id, created_at=session.created_at
            )
        )

    async def rotate(
        self, old_hash: bytes, new_hash: bytes, now: datetime
    ) -> Rotated | Reused | None:
        # The row lock taken by this UPDATE serialises concurrent refreshes of one token:
        # the first marks it used, the rest then find it used and count as reuse.
        claimed = (
            await self._db.execute(
                refresh_tokens.update()
                .where(
                    refresh_tokens.c.token_hash == old_hash,
                    refresh_tokens.c.used_at.is_(None),
                    sessions.c.id == refresh_tokens.c.session_id,
                    sessions.c.revoked_at.is_(None),
                    sessions.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(
                    sessions.c.id, sessions.c.user_id, sessions.c.created_at, sessions.c.expires_at
                )
            )
        ).first()
        if claimed is not None:
            session = Session(
                id=claimed.id,
                user_id=claimed.user_id,
                created_at=claimed.created_at,
                expires_at=claimed.expires_at,
            )
            await self._db.execute(
                refresh_tokens.insert().values(
                    token_hash=new_hash, session_id=session.id, created_at=now
                )
            )
            return Rotated(session)
        revoked = (
            await self._db.execute(
                sessions.update()
                .where(
                    refresh_tokens.c.token_hash == old_hash,
                    refresh_tokens.c.used_at.is_not(None),
                    sessions.c.id == refresh_tokens.c.session_id,
                )
                .values(revoked_at=sa.func.coalesce(sessions.c.revoked_at, now))
                .returning(sessions.c.id, sessions.c.user_id)
            )
        ).first()
        return Reused(session_id=revoked.id, user_id=revoked.user_id) if revoked else None

    async def is_active(self, session_id: UUID, user_id: UUID, now: datetime) -> bool:
        found = await self._db.scalar(
            sa.select(sa.literal(1)).where(
                sessions.c.id == session_id,
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
        )
        return found is not None

    async def revoke(self, session_id: UUID, now: datetime) -> None:
        await self._db.execute(
            sessions.update()
            .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def prune(self, user_id: UUID, now: datetime) -> None:
        await self._db.execute(
            sessions.delete().where(
                sessions.c.user_id == user_id,
                sa.or_(sessions.c.expires_at <= now, sessions.c.revoked_at.is_not(None)),
            )
        )

    async def revoke_all(self, user_id: UUID, now: datetime) -> None:
        await self._db.execute(
            sessions.update()
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def _sort_key(field: SortField) -> sa.ColumnElement[Any]:
    """The expression a sort orders by."""
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


class PostgresTaskRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, task: Task) -> None:
        await self._db.execute(tasks.insert().values(**_task_row(task)))

    async def get(self, owner_id: UUID, task_id: UUID) -> Task | None:
        row = (await self._db.execute(tasks.select().where(*_owned(owner_id, task_id)))).first()
        return _task(row._mapping) if row else None

    async def exists(self, owner_id: UUID, task_id: UUID) -> bool:
        found = await self._db.scalar(sa.select(sa.literal(1)).where(*_owned(owner_id, task_id)))
        return found is not None

    async def update(
        self,
        owner_id: UUID,
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
        # Every value is computed from the row inside this one UPDATE, so concurrent writes
        # of other fields are never lost and completed_at is set only on a real transition.
        if toggle_completed:
            values["completed"] = sa.not_(tasks.c.completed)
            values["completed_at"] = sa.case((tasks.c.completed, None), else_=now)
        elif "completed" in values:
            values["completed_at"] = (
                sa.case((tasks.c.completed, tasks.c.completed_at), else_=now)
                if values["completed"]
                else None
            )
        conditions = _owned(owner_id, task_id)
        if expected_versions is not None:
            conditions.append(tasks.c.version.in_(expected_versions))
        row = (
            await self._db.execute(
                tasks.update()
                .where(*conditions)
                .values(**values, updated_at=now, version=tasks.c.version + 1)
                .returning(*tasks.c)
            )
        ).first()
        return _task(row._mapping) if row else None

    async def delete(
        self, owner_id: UUID, task_id: UUID, *, expected_versions: frozenset[int] | None
    ) -> bool:
        conditions = _owned(owner_id, task_id)
        if expected_versions is not None:
            conditions.append(tasks.c.version.in_(expected_versions))
        result = await self._db.execute(tasks.delete().where(*conditions).returning(tasks.c.id))
        return result.first() is not None

    async def delete_completed(self, owner_id: UUID) -> int:
        result = await self._db.execute(
            tasks.delete().where(tasks.c.user_id == owner_id, tasks.c.completed.is_(True))
        )
        return result.rowcount

    async def page(
        self, owner_id: UUID, query: TaskQuery, after: Position | None, limit: int
    ) -> tuple[list[Task], int]:
        # One statement: the page, each row carrying the count of every matching task (an
        # uncorrelated subquery, evaluated once). Only a page past the end needs a second one.
        matching = [tasks.c.user_id == owner_id, *_filter_conditions(query.filter)]
        count = sa.select(sa.func.count()).select_from(tasks).where(*matching)
        in_page = matching if after is None else [*matching, _after(query.sort, after)]
        statement = (
            sa.select(tasks, count.scalar_subquery().label("total"))
            .where(*in_page)
            .order_by(*_order(query.sort))
            .limit(limit)
        )
        rows = (await self._db.execute(statement)).all()
        if rows:
            return [_task(row._mapping) for row in rows], int(rows[0].total)
        # Nothing on this page: with no cursor nothing matches; past a cursor, count apart.
        return [], 0 if after is None else int(await self._db.scalar(count) or 0)


def _owned(owner_id: UUID, task_id: UUID) -> list[sa.ColumnElement[bool]]:
    return [tasks.c.id == task_id, tasks.c.user_id == owner_id]


def _filter_conditions(task_filter: TaskFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if task_filter.completed is not None:
        conditions.append(tasks.c.completed.is_(task_filter.completed))
    if task_filter.priorities:
        conditions.append(tasks.c.priority.in_([p.rank for p in task_filter.priorities]))
    if task_filter.starred is not None:
        conditions.append(tasks.c.starred.is_(task_filter.starred))
    if task_filter.tags:
        conditions.append(tasks.c.tags.contains(list(task_filter.tags)))
    if task_filter.due_before is not None:
        conditions.append(tasks.c.due_date <= task_filter.due_before)
    if task_filter.due_after is not None:
        conditions.append(tasks.c.due_date >= task_filter.due_after)
    if task_filter.text:
        escaped = task_filter.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conditions.append(
            sa.or_(
                tasks.c.title.ilike(pattern, escape="\\"),
                tasks.c.description.ilike(pattern, escape="\\"),
            )
        )
    return conditions


def _after(sort: TaskSort, after: Position) -> sa.ColumnElement[bool]:
    """Rows strictly past ``after`` in (value, id) order, with NULL values last either way."""
    column = _sort_key(sort.field)
    id_past = tasks.c.id < after.id if sort.descending else tasks.c.id > after.id
    if after.value is None:
        return sa.and_(column.is_(None), id_past)
    value_past = column < after.value if sort.descending else column > after.value
    return sa.or_(value_past, sa.and_(column == after.value, id_past), column.is_(None))


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


def _task(row: RowMapping) -> Task:
    return Task(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        description=row["description"],
        due_date=row["due_date"],
        priority=Priority.from_rank(row["priority"]),
        starred=row["starred"],
        completed=row["completed"],
        completed_at=row["completed_at"],
        tags=tuple(row["tags"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )
