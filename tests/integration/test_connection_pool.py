"""Waiting for a database connection: first come, first served, and bounded in time."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from adapters.postgres import database
from adapters.postgres.database import ConnectionPool, Database
from adapters.postgres.engine import create_engine, database_target
from domain.errors import Unavailable


async def test_a_connection_given_back_goes_to_the_longest_waiting_request(
    clean_database: str,
) -> None:
    engine = create_engine(database_target(clean_database), pool_size=1, max_overflow=0)
    pool = ConnectionPool(engine)
    served: list[str] = []

    async def request(name: str) -> None:
        lease = await pool.acquire()
        served.append(name)
        await asyncio.sleep(0.01)
        await pool.release(lease)

    try:
        held = await pool.acquire()
        waiting = [asyncio.create_task(request(f"waiter {i}")) for i in range(3)]
        await asyncio.sleep(0.05)  # all three wait
        # A newcomer already on its way when the connection comes back: it must not take it
        # from the first waiter (the engine's own queue would let it).
        newcomer = asyncio.create_task(request("newcomer"))
        await pool.release(held)
        await asyncio.gather(*waiting, newcomer)
        assert served == ["waiter 0", "waiter 1", "waiter 2", "newcomer"]
    finally:
        await engine.dispose()


async def test_a_request_waits_for_a_connection_only_so_long(
    clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "POOL_TIMEOUT_SECONDS", 0.05)
    engine = create_engine(database_target(clean_database), pool_size=1, max_overflow=0)
    pool = ConnectionPool(engine)
    try:
        held = await pool.acquire()
        with pytest.raises(Unavailable):
            await pool.acquire()
        await pool.release(held)
        await pool.release(await pool.acquire())  # the one that timed out took no turn
    finally:
        await engine.dispose()


@pytest.mark.parametrize("ending", ["close", "commit"])
async def test_a_request_cancelled_as_its_transaction_ends_gives_its_turn_back(
    clean_database: str, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    monkeypatch.setattr(database, "POOL_TIMEOUT_SECONDS", 0.2)
    engine = create_engine(database_target(clean_database), pool_size=1, max_overflow=0)
    pool = ConnectionPool(engine)
    try:
        db = Database(pool)
        await db.begin()
        ending_task = asyncio.create_task(getattr(db, ending)())
        await asyncio.sleep(0)  # ROLLBACK or COMMIT is on its way
        ending_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ending_task
        lease = await pool.acquire()  # the only turn came back (else: Unavailable)
        assert await lease.driver_connection.fetchval("SELECT 1") == 1  # type: ignore[union-attr]
        await pool.release(lease)
    finally:
        await engine.dispose()
