"""The API through a real PgBouncer in transaction pooling mode (a Neon pooled endpoint): many
client connections share three server connections, so a statement prepared on one client's
connection is met by another client's."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from adapters.postgres.database import ConnectionPool, Database
from adapters.postgres.engine import create_engine, database_target
from tests.integration.test_cli import free_port, wait_ready
from tests.support.pgbouncer import pgbouncer, pgbouncer_binary, through

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        pgbouncer_binary() is None, reason="needs Debian's pgbouncer (apt-get install pgbouncer)"
    ),
]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def bouncer(postgres_server_url: str) -> Iterator[int]:
    with pgbouncer(postgres_server_url) as port:
        yield port


async def test_asyncpgs_default_prepared_statements_break_under_transaction_pooling(
    bouncer: int, clean_database: str
) -> None:
    """The hazard the pooled mode exists for: a client's cached statement lives on the server
    connection that prepared it, and the client's next transaction may land on another."""
    dsn = through(bouncer, clean_database, pooled_flag=False)
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        assert await first.fetchval("SELECT $1::int", 1) == 1  # prepared and cached
        async with second.transaction():  # takes that server connection and keeps it
            await second.execute("SELECT 1")
            with pytest.raises(asyncpg.PostgresError, match="prepared statement"):
                await first.fetchval("SELECT $1::int", 1)  # on another server connection
    finally:
        await first.close()
        await second.close()


async def test_the_pooled_mode_runs_concurrent_statements_through_pgbouncer(
    bouncer: int, clean_database: str
) -> None:
    target = database_target(through(bouncer, clean_database))
    assert target.pooled
    engine = create_engine(target, pool_size=20, statement_timeout=5)
    pool = ConnectionPool(engine)

    async def one(n: int) -> int:
        database = Database(pool)
        try:
            row = await database.fetchrow("SELECT $1::int * 2 AS doubled, now()", n)
            return int(row["doubled"])
        finally:
            await database.close()

    async def in_transaction(n: int) -> int:
        database = Database(pool)
        try:
            await database.begin()
            await database.execute("SELECT pg_sleep(0.01)")
            value = int((await database.fetchrow("SELECT $1::int AS v", n))["v"])
            await database.commit()
            return value
        finally:
            await database.close()

    try:
        for _ in range(3):
            assert await asyncio.gather(*(one(n) for n in range(100))) == [
                2 * n for n in range(100)
            ]
            assert await asyncio.gather(*(in_transaction(n) for n in range(30))) == list(range(30))
    finally:
        await engine.dispose()


def _account() -> dict[str, str]:
    return {"email": f"{secrets.token_hex(5)}@example.com", "password": PASSWORD}


def _bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def _slice(base: str) -> None:
    """Register, login, CRUD, list pages and concurrent refresh, many clients at once."""
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        accounts = [_account() for _ in range(6)]
        registered = await asyncio.gather(
            *(client.post("/api/auth/register", json=a) for a in accounts)
        )
        assert [r.status_code for r in registered] == [201] * 6
        logins = await asyncio.gather(*(client.post("/api/auth/login", json=a) for a in accounts))
        assert [r.status_code for r in logins] == [200] * 6
        pairs = [r.json() for r in logins]
        ada = _bearer(pairs[0])

        created = await asyncio.gather(
            *(
                client.post("/api/tasks", json={"title": f"task {n}"}, headers=ada)
                for n in range(25)
            )
        )
        assert [r.status_code for r in created] == [201] * 25
        task = created[0].json()
        url = f"/api/tasks/{task['id']}"
        fetched = await client.get(url, headers=ada)
        assert fetched.status_code == 200
        etag = fetched.headers["etag"]
        patched = await client.patch(
            url, json={"title": "renamed"}, headers={**ada, "If-Match": etag}
        )
        assert patched.status_code == 200, patched.text
        stale = await client.patch(url, json={"title": "lost"}, headers={**ada, "If-Match": etag})
        assert stale.status_code == 412
        completed = await client.patch(f"{url}/complete", headers=ada)
        assert completed.status_code == 200
        assert completed.json()["completed"] is True
        assert (await client.delete(url, headers=ada)).status_code == 204
        assert (await client.get(url, headers=ada)).status_code == 404

        seen: list[str] = []
        page: str | None = "/api/tasks?limit=10&sort=title"
        while page:
            listed = await client.get(page, headers=ada)
            assert listed.status_code == 200, listed.text
            assert listed.headers["x-total-count"] == "24"
            seen += [t["id"] for t in listed.json()]
            page = listed.links.get("next", {}).get("url")
        assert len(seen) == len(set(seen)) == 24

        # Everyone at once: far more requests in flight than server connections.
        reads = await asyncio.gather(
            *(client.get("/api/tasks", headers=_bearer(p)) for p in pairs for _ in range(10))
        )
        assert {r.status_code for r in reads} == {200}

        # Twenty concurrent refreshes with one token: exactly one wins, then the session ends.
        token = pairs[1]["refresh_token"]
        refreshes = await asyncio.gather(
            *(client.post("/api/auth/refresh", json={"refresh_token": token}) for _ in range(20))
        )
        assert sorted(r.status_code for r in refreshes) == [200] + [401] * 19
        winner = next(r.json() for r in refreshes if r.status_code == 200)
        assert (await client.get("/api/auth/me", headers=_bearer(winner))).status_code == 401
        assert (await client.get("/api/auth/me", headers=_bearer(pairs[2]))).status_code == 200


def test_the_api_through_pgbouncer_in_transaction_mode(bouncer: int, clean_database: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        env={
            **os.environ,
            "APP_ENV": "production",
            "BETTER_AUTH_SECRET": secrets.token_urlsafe(48),
            # The app through the pooler; the schema was migrated on the direct URL.
            "DATABASE_URL": through(bouncer, clean_database),
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "AUTH_RATE_LIMIT": "10000/minute",
            "LOG_FORMAT": "json",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        asyncio.run(_slice(base))
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert '"level": "error"' not in output, output
