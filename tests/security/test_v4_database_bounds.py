"""ASVS 5.0 V4 (API and web service) and V15 resource bounds: what one user may store, and how
long one statement may run. No refused request changes anything or yields a 500."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import httpx
import pytest

from adapters.postgres.database import ConnectionPool, Database
from adapters.postgres.engine import create_engine, database_target
from domain.errors import Unavailable
from tests.support.app import bearer, register

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


async def test_v4_4_one_task_beyond_the_quota_is_a_409_and_writes_nothing(
    app_with: AppFactory,
) -> None:
    async with app_with(max_tasks_per_user=3) as client:
        headers = bearer(await register(client))
        for n in range(3):
            created = await client.post("/api/tasks", json={"title": f"t{n}"}, headers=headers)
            assert created.status_code == 201
        refused = await client.post("/api/tasks", json={"title": "one too many"}, headers=headers)
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith("/problems/quota-exceeded")
        listed = await client.get("/api/tasks", headers=headers)
        assert listed.headers["x-total-count"] == "3"

        # Deleting one makes room again; another user's quota is their own.
        first = listed.json()[0]["id"]
        assert (await client.delete(f"/api/tasks/{first}", headers=headers)).status_code == 204
        again = await client.post("/api/tasks", json={"title": "fits"}, headers=headers)
        assert again.status_code == 201
        other = bearer(await register(client))
        assert (
            await client.post("/api/tasks", json={"title": "x"}, headers=other)
        ).status_code == 201


async def test_v4_4_an_ended_session_at_the_quota_is_still_a_401(app_with: AppFactory) -> None:
    async with app_with(max_tasks_per_user=1) as client:
        headers = bearer(await register(client))
        await client.post("/api/tasks", json={"title": "only"}, headers=headers)
        await client.post("/api/auth/logout", headers=headers)
        refused = await client.post("/api/tasks", json={"title": "late"}, headers=headers)
        assert refused.status_code == 401


@pytest.mark.parametrize("storage", ["postgres"])
async def test_v4_4_a_statement_past_its_timeout_is_a_503_and_changes_nothing(
    app_with: AppFactory, clean_database: str, storage: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with app_with(database_statement_timeout=0.3) as client:
        headers = bearer(await register(client))
        task = (await client.post("/api/tasks", json={"title": "locked"}, headers=headers)).json()
        blocker = await asyncpg.connect(clean_database)
        try:
            # Another transaction holds the row: the PATCH waits on it until its timeout.
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", task["id"])
            with caplog.at_level(logging.INFO):
                patched = await client.patch(
                    f"/api/tasks/{task['id']}", json={"title": "changed"}, headers=headers
                )
            await lock.rollback()
        finally:
            await blocker.close()
        assert patched.status_code == 503
        assert int(patched.headers["retry-after"]) >= 1
        assert patched.json()["type"].endswith("/problems/unavailable")
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        now = (await client.get(f"/api/tasks/{task['id']}", headers=headers)).json()
        assert (now["title"], now["version"]) == ("locked", 1)


async def test_v4_4_every_connection_carries_the_statement_and_idle_timeouts(
    database_url: str,
) -> None:
    engine = create_engine(database_target(database_url), statement_timeout=1.5)
    try:
        db = Database(ConnectionPool(engine))
        row = await db.fetchrow(
            "SELECT current_setting('statement_timeout') AS statement,"
            " current_setting('idle_in_transaction_session_timeout') AS idle"
        )
    finally:
        await engine.dispose()
    assert (row["statement"], row["idle"]) == ("1500ms", "3s")


async def test_v4_4_a_transaction_the_server_ended_for_idling_is_unavailable_not_a_crash(
    database_url: str,
) -> None:
    """The server ends a transaction left idle past its timeout (and the session with it): the
    next statement or the commit is a 503 to retry, and the broken connection is not reused."""
    engine = create_engine(database_target(database_url), statement_timeout=0.02)
    try:
        for finish in ("fetchrow", "commit"):
            db = Database(ConnectionPool(engine))
            await db.begin()
            await asyncio.sleep(0.3)  # idle in the transaction well past 2 x 20 ms
            step = db.commit() if finish == "commit" else db.fetchrow("SELECT 1")
            with pytest.raises(Unavailable):
                await step
            await db.close()
        assert (await Database(ConnectionPool(engine)).fetchrow("SELECT 1 AS one"))["one"] == 1
    finally:
        await engine.dispose()
