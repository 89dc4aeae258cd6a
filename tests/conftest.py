"""Shared fixtures: one migrated throwaway PostgreSQL database per run, emptied between tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import create_engine, database_target
from entrypoints.cli import migrate
from tests.support.database import postgres_server, throwaway_database

TABLES = ("tasks", "sessions", "users")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """Built by the real migrations, never by ``create_all``."""
    with throwaway_database(postgres_server_url) as url:
        migrate(url)
        yield url


async def _truncate(url: str) -> None:
    engine = create_engine(database_target(url), pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
def clean_database(database_url: str) -> str:
    """The migrated database, empty at the start of the test."""
    asyncio.run(_truncate(database_url))
    return database_url


@pytest.fixture
async def engine(clean_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_target(clean_database))
    yield engine
    await engine.dispose()
