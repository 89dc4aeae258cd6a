"""Alembic environment: async, online only, URL from settings (or the caller)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from adapters.postgres.engine import create_engine, database_target
from adapters.postgres.migration_lock import TAKE_MIGRATION_LOCK
from adapters.postgres.tables import metadata
from entrypoints.settings import load_settings


def _database_url() -> str:
    url = context.config.attributes.get("database_url") or load_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return str(url)


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        # Before the revision is read: a concurrent run waits here, then finds nothing to do.
        connection.execute(TAKE_MIGRATION_LOCK)
        context.run_migrations()


async def _run() -> None:
    engine = create_engine(database_target(_database_url()), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
asyncio.run(_run())
