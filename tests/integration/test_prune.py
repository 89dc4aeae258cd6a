"""`todo prune`: expired and revoked sessions go, in batches; live ones, users and tasks stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.postgres.maintenance import prune_password_resets, prune_sessions
from adapters.postgres.tables import (
    external_identities,
    password_resets,
    sessions,
    tasks,
    users,
)
from adapters.system import UuidV7Generator
from entrypoints.cli import main
from tests.integration.test_cli import todo

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
ids = UuidV7Generator()


async def _user(connection: AsyncConnection, email: str) -> UUID:
    user_id = ids.new_id()
    await connection.execute(
        users.insert().values(
            id=user_id, email=email, email_key=email, password_hash="hash", created_at=NOW
        )
    )
    return user_id


async def _session(
    connection: AsyncConnection,
    user_id: UUID,
    now: datetime,
    *,
    expires_in: timedelta,
    revoked: bool = False,
) -> UUID:
    session_id = ids.new_id()
    await connection.execute(
        sessions.insert().values(
            id=session_id,
            user_id=user_id,
            created_at=now - timedelta(days=1),
            expires_at=now + expires_in,
            revoked_at=now - timedelta(hours=1) if revoked else None,
            refresh_hash=b"h" * 32,
        )
    )
    return session_id


async def _populate(
    engine: AsyncEngine, now: datetime = NOW, *, edges: bool = True
) -> tuple[set[UUID], set[UUID]]:
    """Sessions of two users in every state at ``now``; which should live and which should go.

    ``edges``: sessions expiring a microsecond from ``now`` and at ``now`` exactly."""
    live, dead = set(), set()
    async with engine.begin() as connection:
        for email in ("ada@example.com", "bob@example.com"):
            user_id = await _user(connection, email)
            await connection.execute(
                tasks.insert().values(
                    id=ids.new_id(),
                    user_id=user_id,
                    title="keep me",
                    priority=2,
                    starred=False,
                    completed=False,
                    tags=[],
                    created_at=NOW,
                    updated_at=NOW,
                    version=1,
                )
            )
            for _ in range(2):
                live.add(await _session(connection, user_id, now, expires_in=timedelta(days=3)))
            if edges:  # expiring one microsecond from now is still live; expiring now is not
                soon = timedelta(microseconds=1)
                live.add(await _session(connection, user_id, now, expires_in=soon))
                dead.add(await _session(connection, user_id, now, expires_in=timedelta(0)))
            for _ in range(3):
                dead.add(await _session(connection, user_id, now, expires_in=-timedelta(days=2)))
            for expires_in in (timedelta(days=3), -timedelta(days=1)):
                dead.add(
                    await _session(connection, user_id, now, expires_in=expires_in, revoked=True)
                )
    return live, dead


async def _count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def _session_ids(engine: AsyncEngine) -> set[UUID]:
    async with engine.connect() as connection:
        return set((await connection.scalars(sa.select(sessions.c.id))).all())


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
async def test_prune_deletes_only_expired_or_revoked_sessions(
    engine: AsyncEngine, batch_size: int
) -> None:
    live, dead = await _populate(engine)

    pruned = await prune_sessions(engine, now=NOW, batch_size=batch_size)

    assert pruned == len(dead)
    assert await _session_ids(engine) == live
    assert await _count(engine, users) == 2
    assert await _count(engine, tasks) == 2
    assert await prune_sessions(engine, now=NOW, batch_size=batch_size) == 0


async def test_prune_keeps_the_session_of_an_external_account(engine: AsyncEngine) -> None:
    """An external account's one session is referenced by its link: even revoked, it stays
    with the account (deleting it would break the link, or fail on its foreign key)."""
    async with engine.begin() as connection:
        user_id = await _user(connection, "external:1")
        session_id = await _session(
            connection, user_id, NOW, expires_in=timedelta(days=-1), revoked=True
        )
        await connection.execute(
            external_identities.insert().values(
                issuer="http://front.example",
                subject="abc",
                user_id=user_id,
                session_id=session_id,
                created_at=NOW,
            )
        )
    assert await prune_sessions(engine, now=NOW) == 0
    assert await _session_ids(engine) == {session_id}


async def test_prune_deletes_expired_reset_tokens_only(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        user_id = await _user(connection, "ada@example.com")
        for token, expires in ((b"old", NOW - timedelta(minutes=1)), (b"new", NOW + timedelta(1))):
            await connection.execute(
                password_resets.insert().values(
                    token_hash=token * 8, user_id=user_id, created_at=NOW, expires_at=expires
                )
            )
    assert await prune_password_resets(engine, now=NOW) == 1
    async with engine.connect() as connection:
        left = (await connection.scalars(sa.select(password_resets.c.token_hash))).all()
    assert left == [b"new" * 8]


async def test_prune_refuses_an_unbounded_batch(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="batch size"):
        await prune_sessions(engine, now=NOW, batch_size=0)


async def test_todo_prune_from_the_command_line(engine: AsyncEngine, clean_database: str) -> None:
    live, dead = await _populate(engine, datetime.now(UTC), edges=False)

    result = todo("prune", "--batch-size", "2", DATABASE_URL=clean_database)

    assert result.returncode == 0, result.stderr
    assert f"pruned {len(dead)} " in result.stdout
    assert await _session_ids(engine) == live
    assert await _count(engine, tasks) == 2


@pytest.mark.parametrize("size", ["0", "100001", "-5"])
def test_todo_prune_refuses_a_batch_size_out_of_bounds(
    size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["prune", "--batch-size", size])
    assert exited.value.code == 2
    assert "--batch-size" in capsys.readouterr().err
