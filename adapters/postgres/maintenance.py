"""Housekeeping the request path leaves undone: sessions and reset tokens that can never be
used again.

A login deletes its user's dead sessions, but a user who never logs in again keeps them for
ever. ``prune_sessions`` deletes every expired or revoked session (rows that reference a session
go with it, ``ON DELETE CASCADE``), a bounded batch per transaction, so that no run holds many
row locks or writes one huge transaction, and live traffic interleaves with it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.compiled import param
from adapters.postgres.tables import external_identities, password_resets, sessions

MAX_BATCH_SIZE = 100_000


def _prune_batch() -> sa.Delete:
    # SKIP LOCKED: a session a request is refreshing right now is left for the next run.
    doomed = (
        sa.select(sessions.c.id)
        .where(
            sa.or_(
                sessions.c.expires_at <= param("now", sessions.c.expires_at),
                sessions.c.revoked_at.is_not(None),
            ),
            # An external account's one session lives as long as the account does.
            ~sa.exists().where(external_identities.c.session_id == sessions.c.id),
        )
        .limit(param("batch_size", sa.Integer()))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return sessions.delete().where(sessions.c.id.in_(doomed))


_PRUNE_BATCH = _prune_batch()
_PRUNE_RESETS = password_resets.delete().where(
    password_resets.c.expires_at <= param("now", password_resets.c.expires_at)
)


async def prune_sessions(engine: AsyncEngine, *, now: datetime, batch_size: int = 1000) -> int:
    """Delete the sessions dead at ``now``; how many were deleted."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH_SIZE}")
    total = 0
    while True:
        async with engine.begin() as connection:
            result = await connection.execute(_PRUNE_BATCH, {"now": now, "batch_size": batch_size})
        total += result.rowcount
        if result.rowcount < batch_size:
            return total


async def prune_password_resets(engine: AsyncEngine, *, now: datetime) -> int:
    """Delete the password-reset tokens expired at ``now`` (a few per user at most: a request
    is limited per email, and a reset or password change ends the user's others)."""
    async with engine.begin() as connection:
        result = await connection.execute(_PRUNE_RESETS, {"now": now})
    return result.rowcount
