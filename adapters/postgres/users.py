"""The users repository on PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from adapters.postgres.caller import (
    CALLER_SESSION,
    CALLER_USER,
    NOW,
    affected,
    caller_values,
    live_session,
)
from adapters.postgres.compiled import Compiled, compile_sql, param
from adapters.postgres.database import Database
from adapters.postgres.tables import password_resets, sessions, users
from application.ports import AccessClaims, Clock, ProfileChanges
from domain.errors import EmailTaken
from domain.tasks import KEEP
from domain.users import User, email_key

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

_CALLERS_RESETS = password_resets.c.user_id == CALLER_USER


def _update_profile() -> Compiled:
    """Name and email as given (``NULL`` email: kept; ``set_name`` false: name kept); a new
    email forgets the account's pending resets, which went to the old one. One statement."""
    new_email = param("email", users.c.email)
    forgotten = (
        password_resets.delete()
        .where(_CALLERS_RESETS, new_email.is_not(None), live_session())
        .cte("forgotten")
    )
    return compile_sql(
        users.update()
        .where(users.c.id == CALLER_USER, live_session())
        .values(
            name=sa.case(
                (param("set_name", sa.Boolean()), param("name", users.c.name)),
                else_=users.c.name,
            ),
            email=sa.func.coalesce(new_email, users.c.email),
            email_key=sa.func.coalesce(param("email_key", users.c.email_key), users.c.email_key),
        )
        .add_cte(forgotten)
        .returning(*users.c)
    )


def _change_password() -> Compiled:
    """The new hash; every other session of the user ends and pending resets are forgotten:
    one statement, so a password change never half-happens."""
    ended = (
        sessions.update()
        .where(
            sessions.c.user_id == CALLER_USER,
            sessions.c.id != CALLER_SESSION,
            sessions.c.revoked_at.is_(None),
            live_session(),
        )
        .values(revoked_at=NOW)
        .cte("ended")
    )
    forgotten = password_resets.delete().where(_CALLERS_RESETS, live_session()).cte("forgotten")
    return compile_sql(
        users.update()
        .where(users.c.id == CALLER_USER, live_session())
        .values(password_hash=param("password_hash", users.c.password_hash))
        .add_cte(ended, forgotten)
    )


_UPDATE_PROFILE = _update_profile()
_CHANGE_PASSWORD = _change_password()
# Tasks, sessions and password resets go with the account (ON DELETE CASCADE): one statement.
_DELETE_USER = compile_sql(users.delete().where(users.c.id == CALLER_USER, live_session()))


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
        return row_user(row) if row else None

    async def get(self, user_id: UUID) -> User | None:
        row = await self._db.fetchrow(_USER_BY_ID.sql, user_id, idempotent=True)
        return row_user(row) if row else None

    async def current(self, caller: AccessClaims) -> User | None:
        values = caller_values(caller, self._clock)
        row = await self._db.fetchrow(
            _CURRENT_USER.sql, *_CURRENT_USER.args(**values), idempotent=True
        )
        return row_user(row) if row else None

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self._db.execute(
            _SET_PASSWORD_HASH.sql,
            *_SET_PASSWORD_HASH.args(id=user_id, password_hash=password_hash),
        )

    async def update_profile(self, caller: AccessClaims, changes: ProfileChanges) -> User | None:
        email = None if changes.email is KEEP else changes.email
        values = caller_values(caller, self._clock) | {
            "set_name": changes.name is not KEEP,
            "name": None if changes.name is KEEP else changes.name,
            "email": email,
            "email_key": None if email is None else email_key(email),
        }
        try:
            row = await self._db.fetchrow(_UPDATE_PROFILE.sql, *_UPDATE_PROFILE.args(**values))
        except asyncpg.UniqueViolationError:
            raise EmailTaken() from None
        return row_user(row) if row else None

    async def change_password(self, caller: AccessClaims, password_hash: str) -> bool:
        values = caller_values(caller, self._clock) | {"password_hash": password_hash}
        status = await self._db.execute(_CHANGE_PASSWORD.sql, *_CHANGE_PASSWORD.args(**values))
        return affected(status) > 0

    async def delete(self, caller: AccessClaims) -> bool:
        values = caller_values(caller, self._clock)
        status = await self._db.execute(_DELETE_USER.sql, *_DELETE_USER.args(**values))
        return affected(status) > 0


def row_user(row: Any) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
    )
