"""The sessions repository on PostgreSQL: sessions, their current refresh token's hash, quotas."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from adapters.postgres.caller import (
    CALLER_USER,
    CALLERS_LIVE_SESSION,
    NOW,
    affected,
    caller_values,
    live_session,
)
from adapters.postgres.compiled import Compiled, compile_sql, param
from adapters.postgres.database import Database
from adapters.postgres.external_accounts import end_external_tokens
from adapters.postgres.tables import sessions, users
from application.ports import AccessClaims, Clock, Reused, Rotated
from domain.users import Session, User


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
# The session whose current refresh token was presented, while it is live.
_CURRENT_TOKEN = (
    sessions.c.id == _SESSION_ID,
    sessions.c.refresh_hash == _PRESENTED,
    sessions.c.revoked_at.is_(None),
    sessions.c.expires_at > NOW,
)
# The row lock this UPDATE takes serialises concurrent refreshes of one token: the first swaps
# the hash, the others then find another hash there and count as reuse.
_ROTATE = compile_sql(
    sessions.update()
    .where(*_CURRENT_TOKEN, users.c.id == sessions.c.user_id)
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
# Logout by refresh token alone.
_REVOKE_BY_REFRESH = compile_sql(sessions.update().where(*_CURRENT_TOKEN).values(revoked_at=NOW))
_IS_ACTIVE = compile_sql(sa.select(live_session()))
_REVOKE = compile_sql(
    sessions.update().where(*CALLERS_LIVE_SESSION).values(revoked_at=NOW).returning(sessions.c.id)
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

    async def revoke_by_refresh(
        self, session_id: UUID, refresh_hash: bytes, now: datetime
    ) -> bool | Reused:
        values = {"session_id": session_id, "presented_hash": refresh_hash, "now": now}
        status = await self._db.execute(_REVOKE_BY_REFRESH.sql, *_REVOKE_BY_REFRESH.args(**values))
        if affected(status) > 0:
            return True
        revoked = await self._db.fetchrow(_REVOKE_REUSED.sql, *_REVOKE_REUSED.args(**values))
        return Reused(session_id=revoked["id"], user_id=revoked["user_id"]) if revoked else False

    async def is_active(self, caller: AccessClaims) -> bool:
        values = caller_values(caller, self._clock)
        row = await self._db.fetchrow(_IS_ACTIVE.sql, *_IS_ACTIVE.args(**values), idempotent=True)
        return bool(row[0])

    async def revoke(self, caller: AccessClaims) -> bool:
        if caller.external is not None:
            return await end_external_tokens(self._db, caller, self._clock)
        values = caller_values(caller, self._clock)
        return await self._db.fetchrow(_REVOKE.sql, *_REVOKE.args(**values)) is not None

    async def revoke_all(self, caller: AccessClaims) -> bool:
        if caller.external is not None:  # the only session of an external user
            return await end_external_tokens(self._db, caller, self._clock)
        values = caller_values(caller, self._clock)
        status = await self._db.execute(_REVOKE_ALL.sql, *_REVOKE_ALL.args(**values))
        return affected(status) > 0
