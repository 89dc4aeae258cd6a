"""The users repository on PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.dialects import postgresql as pg

from adapters.postgres.caller import CALLER_USER, caller_values, live_session
from adapters.postgres.compiled import compile_sql, param
from adapters.postgres.database import Database
from adapters.postgres.tables import users
from application.ports import AccessClaims, Clock
from domain.errors import EmailTaken
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
        values = caller_values(caller, self._clock)
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
