"""/health/ready says what is wrong: the database, or a schema behind the code."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest
import sqlalchemy as sa

from tests.support.app import make_settings, serve
from tests.support.database import throwaway_database


@pytest.fixture
def unmigrated_database(postgres_server_url: str) -> Iterator[str]:
    with throwaway_database(postgres_server_url) as url:
        yield url


async def test_ready_only_at_the_latest_migration(unmigrated_database: str) -> None:
    async with serve(make_settings("postgres", unmigrated_database)) as client:
        response = await client.get("/health/ready")
        alive = await client.get("/health")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert set(response.json()["checks"]) == {"schema"}
    assert alive.status_code == 200  # liveness does not depend on the database


async def test_not_ready_when_the_database_is_unreachable() -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    async with serve(make_settings("postgres", url)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert set(body["checks"]) == {"database"}
    assert "nobody" not in response.text  # no connection details leak


async def test_a_database_that_does_not_exist_is_unavailable_not_a_crash(
    postgres_server_url: str,
) -> None:
    """The database gone (dropped, or a wrong name): not ready, and every request is a 503
    with Retry-After, never a 500."""
    url = sa.make_url(postgres_server_url).set(database="todo_no_such_database")
    settings = make_settings("postgres", url.render_as_string(hide_password=False))
    async with serve(settings) as client:
        ready = await client.get("/health/ready")
        login = await client.post(
            "/api/auth/login", json={"email": "a@example.com", "password": "x" * 12}
        )
    assert ready.status_code == 503
    assert set(ready.json()["checks"]) == {"database"}
    assert login.status_code == 503, login.text
    assert login.headers["retry-after"]


async def test_a_broken_pooled_connection_is_the_database_not_the_schema(
    database_url: str,
) -> None:
    """SQLAlchemy quotes the probe's statement in every error; only PostgreSQL's own "no such
    table" means the schema is missing."""
    async with serve(make_settings("postgres", database_url)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        await _terminate_backends(database_url)
        response = await client.get("/health/ready")
    # No pre-ping: the pooled connection the probe gets back is the one that was cut.
    assert response.status_code == 503
    assert set(response.json()["checks"]) == {"database"}, response.text


async def _terminate_backends(url: str) -> None:
    name = sa.make_url(url).database
    connection = await asyncpg.connect(
        sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await connection.close()


async def test_ready_on_the_migrated_database(database_url: str) -> None:
    async with serve(make_settings("postgres", database_url)) as client:
        assert (await client.get("/health/ready")).json() == {"status": "ok"}
