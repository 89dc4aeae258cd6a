"""/health/ready says what is wrong: the database, or a schema behind the code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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


async def test_ready_on_the_migrated_database(database_url: str) -> None:
    async with serve(make_settings("postgres", database_url)) as client:
        assert (await client.get("/health/ready")).json() == {"status": "ok"}
