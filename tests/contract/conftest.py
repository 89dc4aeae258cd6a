"""Every contract case runs once per adapter: memory, and PostgreSQL (migrated, emptied)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.store import MemoryStore
from adapters.postgres.database import ConnectionPool
from tests.contract.harness import NOW, Storage, memory_requests, postgres_requests
from tests.fakes import FakeClock

ADAPTERS = ("memory", "postgres")


@pytest.fixture(params=ADAPTERS)
def storage_kind(request: pytest.FixtureRequest) -> Iterator[tuple[str, AsyncEngine | None]]:
    """Which adapter; PostgreSQL ones get the clean, migrated test database."""
    if request.param == "postgres":
        yield request.param, request.getfixturevalue("engine")
    else:
        yield request.param, None


@pytest.fixture
async def storage(storage_kind: tuple[str, AsyncEngine | None]) -> AsyncIterator[Storage]:
    name, engine = storage_kind
    clock = FakeClock(NOW)
    if engine is None:
        opener = memory_requests(MemoryStore(), clock)
    else:
        opener = postgres_requests(ConnectionPool(engine), clock)
    async with Storage(name, clock, opener).opened() as storage:
        yield storage
