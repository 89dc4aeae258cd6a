"""Pending password resets on PostgreSQL: one statement per step."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from adapters.postgres.caller import NOW
from adapters.postgres.compiled import Compiled, compile_sql, param
from adapters.postgres.database import Database
from adapters.postgres.tables import password_resets, sessions, users
from adapters.postgres.users import row_user
from domain.users import User, email_key

_TOKEN_HASH = param("token_hash", password_resets.c.token_hash)


def _issue() -> Compiled:
    """Store the token for the account with the email, if any, and forget its expired ones:
    the same statement runs for an unknown email, and simply writes nothing."""
    holder = (users.select().where(users.c.email_key == param("email_key", users.c.email_key))).cte(
        "holder"
    )
    holders = sa.select(holder.c.id)
    pruned = (
        password_resets.delete()
        .where(password_resets.c.user_id.in_(holders), password_resets.c.expires_at <= NOW)
        .cte("pruned")
    )
    issued = (
        password_resets.insert()
        .from_select(
            ["token_hash", "user_id", "created_at", "expires_at"],
            sa.select(
                _TOKEN_HASH, holder.c.id, NOW, param("expires_at", password_resets.c.expires_at)
            ),
        )
        .returning(password_resets.c.user_id)
        .cte("issued")
    )
    return compile_sql(
        sa.select(holder).join(issued, issued.c.user_id == holder.c.id).add_cte(pruned)
    )


def _redeem() -> Compiled:
    """Use the token up; its account gets the new hash, every session of it ends and its
    other resets are forgotten. The DELETE's row lock lets one of concurrent redemptions win."""
    used = (
        password_resets.delete()
        .where(password_resets.c.token_hash == _TOKEN_HASH, password_resets.c.expires_at > NOW)
        .returning(password_resets.c.user_id)
        .cte("used")
    )
    holder = sa.select(used.c.user_id)
    others = (
        password_resets.delete()
        .where(password_resets.c.user_id.in_(holder), password_resets.c.token_hash != _TOKEN_HASH)
        .cte("others")
    )
    ended = (
        sessions.update()
        .where(sessions.c.user_id.in_(holder), sessions.c.revoked_at.is_(None))
        .values(revoked_at=NOW)
        .cte("ended")
    )
    return compile_sql(
        users.update()
        .where(users.c.id.in_(holder))
        .values(password_hash=param("password_hash", users.c.password_hash))
        .add_cte(others, ended)
        .returning(users.c.id)
    )


_ISSUE = _issue()
_HOLDER = compile_sql(
    users.select()
    .join(password_resets, password_resets.c.user_id == users.c.id)
    .where(password_resets.c.token_hash == _TOKEN_HASH, password_resets.c.expires_at > NOW)
)
_REDEEM = _redeem()


class PostgresPasswordResetRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue(
        self, email: str, token_hash: bytes, now: datetime, expires_at: datetime
    ) -> User | None:
        values = {
            "email_key": email_key(email),
            "token_hash": token_hash,
            "now": now,
            "expires_at": expires_at,
        }
        row = await self._db.fetchrow(_ISSUE.sql, *_ISSUE.args(**values))
        return row_user(row) if row else None

    async def holder(self, token_hash: bytes, now: datetime) -> User | None:
        values = {"token_hash": token_hash, "now": now}
        row = await self._db.fetchrow(_HOLDER.sql, *_HOLDER.args(**values), idempotent=True)
        return row_user(row) if row else None

    async def redeem(self, token_hash: bytes, password_hash: str, now: datetime) -> bool:
        values = {"token_hash": token_hash, "password_hash": password_hash, "now": now}
        return await self._db.fetchrow(_REDEEM.sql, *_REDEEM.args(**values)) is not None
